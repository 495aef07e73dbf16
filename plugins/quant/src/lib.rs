//! Pure-Rust analytics shared by the bundled ibkr-mcp plugins.
//!
//! Nothing here knows about WebAssembly, the WIT API or the broker: every function takes plain
//! numbers and records and returns plain numbers and records, so the whole crate is unit-tested
//! natively (`cargo test --manifest-path plugins/Cargo.toml -p quant`).
//!
//! Modules:
//! - [`indicators`]: SMA, EMA, RSI (Wilder), MACD, ATR (Wilder), Bollinger bands, returns,
//!   relative strength.
//! - [`risk`]: volatility, beta, correlation, historical VaR/CVaR, drawdown, concentration,
//!   stress scenarios.
//! - [`rebalance`]: drift against target weights, trade list, commissions, verification.
//! - [`bracket`]: entry / take-profit / stop-loss levels, risk/reward and position sizing.
//! - [`options`]: strike and expiry selection from a chain, multi-leg payoff analysis and the
//!   classic strategies (covered call, protective put, collar, vertical spreads).

pub mod bracket;
pub mod indicators;
pub mod options;
pub mod rebalance;
pub mod risk;

/// Errors from the analytics functions.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QuantError {
    /// Not enough observations for the requested computation.
    #[error("insufficient data: need at least {need} observations, have {have}")]
    InsufficientData { need: usize, have: usize },
    /// An argument is out of its domain (negative period, weights not summing to one, ...).
    #[error("invalid input: {0}")]
    InvalidInput(String),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, QuantError>;

pub(crate) fn invalid<T>(msg: impl Into<String>) -> Result<T> {
    Err(QuantError::InvalidInput(msg.into()))
}

/// Rounds `value` to the nearest multiple of `tick` (ties away from zero).
///
/// A non-positive or non-finite tick returns the value unchanged.
pub fn round_to_tick(value: f64, tick: f64) -> f64 {
    if !(tick.is_finite() && tick > 0.0) {
        return value;
    }
    let steps = (value / tick).round();
    // Re-derive from the integer step count and trim binary noise (e.g. 0.1 * 3).
    let rounded = steps * tick;
    let decimals = decimals_of(tick);
    let scale = 10f64.powi(decimals as i32);
    (rounded * scale).round() / scale
}

/// Rounds down (towards negative infinity) to a multiple of `tick`.
pub fn floor_to_tick(value: f64, tick: f64) -> f64 {
    if !(tick.is_finite() && tick > 0.0) {
        return value;
    }
    let steps = (value / tick + 1e-9).floor();
    let scale = 10f64.powi(decimals_of(tick) as i32);
    (steps * tick * scale).round() / scale
}

/// Rounds up (towards positive infinity) to a multiple of `tick`.
pub fn ceil_to_tick(value: f64, tick: f64) -> f64 {
    if !(tick.is_finite() && tick > 0.0) {
        return value;
    }
    let steps = (value / tick - 1e-9).ceil();
    let scale = 10f64.powi(decimals_of(tick) as i32);
    (steps * tick * scale).round() / scale
}

fn decimals_of(tick: f64) -> u32 {
    let mut d = 0;
    let mut t = tick;
    while d < 10 && (t - t.round()).abs() > 1e-9 {
        t *= 10.0;
        d += 1;
    }
    d
}

/// Arithmetic mean; `None` for an empty slice.
pub fn mean(xs: &[f64]) -> Option<f64> {
    if xs.is_empty() {
        None
    } else {
        Some(xs.iter().sum::<f64>() / xs.len() as f64)
    }
}

/// Sample standard deviation (n - 1 denominator); `None` below two observations.
pub fn sample_std(xs: &[f64]) -> Option<f64> {
    if xs.len() < 2 {
        return None;
    }
    let m = mean(xs)?;
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64;
    Some(var.sqrt())
}

/// Population standard deviation (n denominator); `None` for an empty slice.
pub fn population_std(xs: &[f64]) -> Option<f64> {
    let m = mean(xs)?;
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64;
    Some(var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_rounding() {
        assert_eq!(round_to_tick(101.237, 0.01), 101.24);
        assert_eq!(round_to_tick(101.237, 0.05), 101.25);
        assert_eq!(round_to_tick(101.224, 0.05), 101.2);
        assert_eq!(round_to_tick(0.3, 0.1), 0.3);
        assert_eq!(floor_to_tick(101.249, 0.05), 101.2);
        assert_eq!(ceil_to_tick(101.201, 0.05), 101.25);
        assert_eq!(floor_to_tick(101.25, 0.05), 101.25);
        assert_eq!(ceil_to_tick(101.25, 0.05), 101.25);
        assert_eq!(round_to_tick(7.0, 0.0), 7.0);
    }

    #[test]
    fn moments() {
        let xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0];
        assert_eq!(mean(&xs), Some(5.0));
        assert_eq!(population_std(&xs), Some(2.0));
        let s = sample_std(&xs).unwrap();
        assert!((s - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!(mean(&[]), None);
        assert_eq!(sample_std(&[1.0]), None);
    }
}
