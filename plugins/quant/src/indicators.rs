//! Technical indicators over price series.
//!
//! Series outputs are aligned with their input: element `i` of the output belongs to input bar
//! `i`, and is `None` while the indicator is still warming up.

use crate::{QuantError, Result, invalid, population_std};
use serde::{Deserialize, Serialize};

/// One OHLC bar (volume is optional for the indicators here).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ohlc {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
}

fn check_period(period: usize, have: usize, need: usize) -> Result<()> {
    if period == 0 {
        return invalid("period must be at least 1");
    }
    if have < need {
        return Err(QuantError::InsufficientData { need, have });
    }
    Ok(())
}

/// Last defined value of an aligned series.
pub fn last_value(series: &[Option<f64>]) -> Option<f64> {
    series.iter().rev().find_map(|v| *v)
}

/// Simple moving average.
pub fn sma(values: &[f64], period: usize) -> Result<Vec<Option<f64>>> {
    check_period(period, values.len(), period)?;
    let mut out = vec![None; values.len()];
    let mut sum: f64 = values[..period].iter().sum();
    out[period - 1] = Some(sum / period as f64);
    for i in period..values.len() {
        sum += values[i] - values[i - period];
        out[i] = Some(sum / period as f64);
    }
    Ok(out)
}

/// Exponential moving average, alpha = 2 / (period + 1), seeded with the SMA of the first
/// `period` values.
pub fn ema(values: &[f64], period: usize) -> Result<Vec<Option<f64>>> {
    check_period(period, values.len(), period)?;
    let alpha = 2.0 / (period as f64 + 1.0);
    let mut out = vec![None; values.len()];
    let mut prev = values[..period].iter().sum::<f64>() / period as f64;
    out[period - 1] = Some(prev);
    for i in period..values.len() {
        prev = alpha * values[i] + (1.0 - alpha) * prev;
        out[i] = Some(prev);
    }
    Ok(out)
}

/// EMA over a series that starts with undefined values (used for the MACD signal line).
fn ema_of_partial(values: &[Option<f64>], period: usize) -> Vec<Option<f64>> {
    let start = values
        .iter()
        .position(|v| v.is_some())
        .unwrap_or(values.len());
    let defined: Vec<f64> = values[start..].iter().map(|v| v.unwrap_or(0.0)).collect();
    let mut out = vec![None; values.len()];
    if let Ok(e) = ema(&defined, period) {
        for (i, v) in e.into_iter().enumerate() {
            out[start + i] = v;
        }
    }
    out
}

/// Relative strength index with Wilder smoothing.
///
/// The first average gain/loss is the simple mean of the first `period` changes; afterwards
/// `avg = (avg * (period - 1) + x) / period`. The first value is at index `period`.
pub fn rsi(closes: &[f64], period: usize) -> Result<Vec<Option<f64>>> {
    check_period(period, closes.len(), period + 1)?;
    let mut out = vec![None; closes.len()];
    let (mut gain, mut loss) = (0.0, 0.0);
    for i in 1..=period {
        let ch = closes[i] - closes[i - 1];
        if ch > 0.0 {
            gain += ch;
        } else {
            loss -= ch;
        }
    }
    let p = period as f64;
    let (mut avg_gain, mut avg_loss) = (gain / p, loss / p);
    let to_rsi = |g: f64, l: f64| {
        if l == 0.0 {
            if g == 0.0 { 50.0 } else { 100.0 }
        } else {
            100.0 - 100.0 / (1.0 + g / l)
        }
    };
    out[period] = Some(to_rsi(avg_gain, avg_loss));
    for i in period + 1..closes.len() {
        let ch = closes[i] - closes[i - 1];
        let (g, l) = if ch > 0.0 { (ch, 0.0) } else { (0.0, -ch) };
        avg_gain = (avg_gain * (p - 1.0) + g) / p;
        avg_loss = (avg_loss * (p - 1.0) + l) / p;
        out[i] = Some(to_rsi(avg_gain, avg_loss));
    }
    Ok(out)
}

/// MACD line, signal line and histogram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Macd {
    pub macd: Vec<Option<f64>>,
    pub signal: Vec<Option<f64>>,
    pub histogram: Vec<Option<f64>>,
}

/// MACD (fast EMA - slow EMA) with an EMA signal line; the classic parameters are 12/26/9.
pub fn macd(closes: &[f64], fast: usize, slow: usize, signal: usize) -> Result<Macd> {
    if fast == 0 || slow == 0 || signal == 0 || fast >= slow {
        return invalid("MACD needs 0 < fast < slow and signal > 0");
    }
    check_period(slow, closes.len(), slow + signal - 1)?;
    let f = ema(closes, fast)?;
    let s = ema(closes, slow)?;
    let line: Vec<Option<f64>> = f
        .iter()
        .zip(&s)
        .map(|(a, b)| match (a, b) {
            (Some(a), Some(b)) => Some(a - b),
            _ => None,
        })
        .collect();
    let sig = ema_of_partial(&line, signal);
    let histogram = line
        .iter()
        .zip(&sig)
        .map(|(m, s)| match (m, s) {
            (Some(m), Some(s)) => Some(m - s),
            _ => None,
        })
        .collect();
    Ok(Macd {
        macd: line,
        signal: sig,
        histogram,
    })
}

/// True range of each bar: the first bar's is high - low, later ones also span the previous close.
pub fn true_range(bars: &[Ohlc]) -> Vec<f64> {
    bars.iter()
        .enumerate()
        .map(|(i, b)| {
            let hl = b.high - b.low;
            if i == 0 {
                hl
            } else {
                let pc = bars[i - 1].close;
                hl.max((b.high - pc).abs()).max((b.low - pc).abs())
            }
        })
        .collect()
}

/// Average true range with Wilder smoothing; the first value (index `period - 1`) is the mean
/// of the first `period` true ranges.
pub fn atr(bars: &[Ohlc], period: usize) -> Result<Vec<Option<f64>>> {
    check_period(period, bars.len(), period)?;
    let tr = true_range(bars);
    let p = period as f64;
    let mut out = vec![None; bars.len()];
    let mut prev = tr[..period].iter().sum::<f64>() / p;
    out[period - 1] = Some(prev);
    for i in period..bars.len() {
        prev = (prev * (p - 1.0) + tr[i]) / p;
        out[i] = Some(prev);
    }
    Ok(out)
}

/// One Bollinger band point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub lower: f64,
    pub middle: f64,
    pub upper: f64,
    /// (upper - lower) / middle.
    pub bandwidth: f64,
    /// Where the close sits in the band: 0 at the lower band, 1 at the upper band.
    pub percent_b: f64,
}

/// Bollinger bands: SMA(period) +- k population standard deviations.
pub fn bollinger(closes: &[f64], period: usize, k: f64) -> Result<Vec<Option<Band>>> {
    check_period(period, closes.len(), period)?;
    let mut out = vec![None; closes.len()];
    for i in period - 1..closes.len() {
        let w = &closes[i + 1 - period..=i];
        let m = w.iter().sum::<f64>() / period as f64;
        let sd = population_std(w).unwrap_or(0.0);
        let (lower, upper) = (m - k * sd, m + k * sd);
        let width = upper - lower;
        out[i] = Some(Band {
            lower,
            middle: m,
            upper,
            bandwidth: if m != 0.0 { width / m } else { 0.0 },
            percent_b: if width > 0.0 {
                (closes[i] - lower) / width
            } else {
                0.5
            },
        });
    }
    Ok(out)
}

/// Simple returns `p[i] / p[i-1] - 1` (length n - 1).
pub fn simple_returns(prices: &[f64]) -> Vec<f64> {
    prices.windows(2).map(|w| w[1] / w[0] - 1.0).collect()
}

/// Log returns `ln(p[i] / p[i-1])` (length n - 1).
pub fn log_returns(prices: &[f64]) -> Vec<f64> {
    prices.windows(2).map(|w| (w[1] / w[0]).ln()).collect()
}

/// Total return over the last `lookback` periods: `p[n-1] / p[n-1-lookback] - 1`.
pub fn period_return(prices: &[f64], lookback: usize) -> Result<f64> {
    check_period(lookback, prices.len(), lookback + 1)?;
    let n = prices.len();
    Ok(prices[n - 1] / prices[n - 1 - lookback] - 1.0)
}

/// Relative strength of an asset against a benchmark over a lookback.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RelativeStrength {
    pub asset_return: f64,
    pub benchmark_return: f64,
    /// `(1 + asset) / (1 + benchmark) - 1`: positive means the asset outperformed.
    pub relative: f64,
    /// Asset return minus benchmark return.
    pub excess: f64,
}

/// Relative strength over the last `lookback` bars; both series must end on the same bar.
pub fn relative_strength(
    asset: &[f64],
    benchmark: &[f64],
    lookback: usize,
) -> Result<RelativeStrength> {
    let a = period_return(asset, lookback)?;
    let b = period_return(benchmark, lookback)?;
    Ok(RelativeStrength {
        asset_return: a,
        benchmark_return: b,
        relative: (1.0 + a) / (1.0 + b) - 1.0,
        excess: a - b,
    })
}

/// Trend / regime classification from a close series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regime {
    pub trend: String,
    pub momentum: String,
    pub volatility: String,
    pub score: i32,
}

/// Classifies trend (price vs SMA50/SMA200 or the longest available), momentum (RSI/MACD) and
/// volatility (ATR as % of price). `score` runs from -4 (strong downtrend) to +4.
pub fn classify_regime(
    close: f64,
    sma_fast: Option<f64>,
    sma_slow: Option<f64>,
    rsi: Option<f64>,
    macd_hist: Option<f64>,
    atr_pct: Option<f64>,
) -> Regime {
    let mut score = 0;
    if let Some(f) = sma_fast {
        score += if close > f { 1 } else { -1 };
    }
    if let Some(s) = sma_slow {
        score += if close > s { 1 } else { -1 };
    }
    if let (Some(f), Some(s)) = (sma_fast, sma_slow) {
        score += if f > s { 1 } else { -1 };
    }
    if let Some(h) = macd_hist {
        score += if h > 0.0 { 1 } else { -1 };
    }
    let trend = match score {
        s if s >= 3 => "strong uptrend",
        1..=2 => "uptrend",
        0 => "sideways",
        -2..=-1 => "downtrend",
        _ => "strong downtrend",
    }
    .to_string();
    let momentum = match rsi {
        Some(r) if r >= 70.0 => "overbought",
        Some(r) if r <= 30.0 => "oversold",
        Some(r) if r >= 55.0 => "bullish",
        Some(r) if r <= 45.0 => "bearish",
        Some(_) => "neutral",
        None => "unknown",
    }
    .to_string();
    let volatility = match atr_pct {
        Some(v) if v >= 0.03 => "high",
        Some(v) if v >= 0.015 => "normal",
        Some(_) => "low",
        None => "unknown",
    }
    .to_string();
    Regime {
        trend,
        momentum,
        volatility,
        score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn sma_hand_checked() {
        let s = sma(&[1.0, 2.0, 3.0, 4.0, 5.0], 3).unwrap();
        assert_eq!(s, vec![None, None, Some(2.0), Some(3.0), Some(4.0)]);
        assert!(sma(&[1.0], 3).is_err());
        assert!(sma(&[1.0], 0).is_err());
    }

    #[test]
    fn ema_hand_checked() {
        // alpha = 0.5; seed = mean(1,2,3) = 2; then 0.5*4 + 0.5*2 = 3; 0.5*5 + 0.5*3 = 4.
        let e = ema(&[1.0, 2.0, 3.0, 4.0, 5.0], 3).unwrap();
        assert_eq!(e, vec![None, None, Some(2.0), Some(3.0), Some(4.0)]);
        // alpha = 2/3 on [10, 11, 13]: seed 10.5 (period 2), then 2/3*13 + 1/3*10.5 = 12.1666..
        let e = ema(&[10.0, 11.0, 13.0], 2).unwrap();
        assert!(close(e[2].unwrap(), 12.0 + 1.0 / 6.0));
    }

    #[test]
    fn rsi_hand_checked() {
        // Changes: +1, -1, +2, +1 (period 2).
        // First: gains (1+0)/2 = 0.5, losses (0+1)/2 = 0.5 -> RS 1 -> RSI 50.
        // Next change +2: g = (0.5*1+2)/2 = 1.25, l = (0.5*1+0)/2 = 0.25 -> RS 5 -> 83.333..
        // Next change +1: g = (1.25+1)/2 = 1.125, l = 0.125 -> RS 9 -> 90.
        let r = rsi(&[10.0, 11.0, 10.0, 12.0, 13.0], 2).unwrap();
        assert_eq!(r[0], None);
        assert_eq!(r[1], None);
        assert!(close(r[2].unwrap(), 50.0));
        assert!(close(r[3].unwrap(), 100.0 - 100.0 / 6.0));
        assert!(close(r[4].unwrap(), 90.0));
        // Only gains -> 100; flat -> 50.
        let up = rsi(&[1.0, 2.0, 3.0, 4.0], 3).unwrap();
        assert_eq!(up[3], Some(100.0));
        let flat = rsi(&[5.0; 6], 3).unwrap();
        assert_eq!(flat[5], Some(50.0));
    }

    #[test]
    fn macd_constant_and_linear() {
        let flat = vec![100.0; 40];
        let m = macd(&flat, 12, 26, 9).unwrap();
        assert_eq!(m.macd[24], None);
        assert!(close(m.macd[25].unwrap(), 0.0));
        assert_eq!(m.signal[32], None);
        assert!(close(m.signal[33].unwrap(), 0.0));
        assert!(close(last_value(&m.histogram).unwrap(), 0.0));

        // For a linear ramp p_t = t, an EMA(n) converges to t - (n-1)/2, so MACD -> (26-12)/2 = 7.
        let ramp: Vec<f64> = (0..400).map(|t| t as f64).collect();
        let m = macd(&ramp, 12, 26, 9).unwrap();
        assert!((last_value(&m.macd).unwrap() - 7.0).abs() < 1e-6);
        assert!((last_value(&m.signal).unwrap() - 7.0).abs() < 1e-6);
        assert!(macd(&ramp[..30], 12, 26, 9).is_err());
        assert!(macd(&ramp, 26, 12, 9).is_err());
    }

    #[test]
    fn atr_hand_checked() {
        let bars = [
            Ohlc {
                open: 10.0,
                high: 11.0,
                low: 9.0,
                close: 10.0,
            }, // TR 2
            Ohlc {
                open: 10.0,
                high: 12.0,
                low: 10.0,
                close: 11.0,
            }, // TR max(2, 2, 0) = 2
            Ohlc {
                open: 11.0,
                high: 11.5,
                low: 8.0,
                close: 9.0,
            }, // TR max(3.5, .5, 3) = 3.5
            Ohlc {
                open: 9.0,
                high: 9.5,
                low: 9.0,
                close: 9.2,
            }, // TR max(.5, .5, 0) = 0.5
        ];
        assert_eq!(true_range(&bars), vec![2.0, 2.0, 3.5, 0.5]);
        let a = atr(&bars, 2).unwrap();
        assert_eq!(a[0], None);
        assert!(close(a[1].unwrap(), 2.0));
        assert!(close(a[2].unwrap(), 2.75)); // (2*1 + 3.5)/2
        assert!(close(a[3].unwrap(), 1.625)); // (2.75 + 0.5)/2
    }

    #[test]
    fn bollinger_hand_checked() {
        // Window [2,4,4,4,5,5,7,9]: mean 5, population sd 2; k=2 -> [1, 9].
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        let b = bollinger(&xs, 8, 2.0).unwrap();
        let last = b[7].unwrap();
        assert!(close(last.middle, 5.0));
        assert!(close(last.lower, 1.0));
        assert!(close(last.upper, 9.0));
        assert!(close(last.percent_b, 1.0)); // close 9 sits on the upper band
        assert!(close(last.bandwidth, 8.0 / 5.0));
    }

    #[test]
    fn returns_and_relative_strength() {
        let r = simple_returns(&[100.0, 110.0, 99.0]);
        assert!(close(r[0], 0.1) && close(r[1], -0.1));
        let l = log_returns(&[100.0, 200.0]);
        assert!(close(l[0], 2f64.ln()));
        let rs = relative_strength(&[100.0, 105.0, 120.0], &[50.0, 52.0, 55.0], 2).unwrap();
        assert!(close(rs.asset_return, 0.2));
        assert!(close(rs.benchmark_return, 0.1));
        assert!(close(rs.relative, 1.2 / 1.1 - 1.0));
        assert!(close(rs.excess, 0.1));
        assert!(relative_strength(&[1.0], &[1.0], 2).is_err());
    }

    #[test]
    fn regime() {
        let r = classify_regime(
            110.0,
            Some(105.0),
            Some(100.0),
            Some(75.0),
            Some(0.5),
            Some(0.01),
        );
        assert_eq!(r.score, 4);
        assert_eq!(r.trend, "strong uptrend");
        assert_eq!(r.momentum, "overbought");
        assert_eq!(r.volatility, "low");
        let r = classify_regime(
            90.0,
            Some(95.0),
            Some(100.0),
            Some(25.0),
            Some(-0.5),
            Some(0.04),
        );
        assert_eq!(r.score, -4);
        assert_eq!(r.trend, "strong downtrend");
        assert_eq!(r.momentum, "oversold");
        assert_eq!(r.volatility, "high");
    }
}
