//! Portfolio risk: volatility, beta, correlation, historical VaR / CVaR, drawdown,
//! concentration and stress scenarios.

use crate::{QuantError, Result, invalid, mean, sample_std};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Trading days per year used for annualisation.
pub const TRADING_DAYS: f64 = 252.0;

/// Annualised volatility from periodic returns: sample sd * sqrt(periods_per_year).
pub fn annualized_volatility(returns: &[f64], periods_per_year: f64) -> Result<f64> {
    let sd = sample_std(returns).ok_or(QuantError::InsufficientData {
        need: 2,
        have: returns.len(),
    })?;
    Ok(sd * periods_per_year.sqrt())
}

fn covariance(a: &[f64], b: &[f64]) -> Result<f64> {
    if a.len() != b.len() {
        return invalid(format!("series lengths differ: {} vs {}", a.len(), b.len()));
    }
    if a.len() < 2 {
        return Err(QuantError::InsufficientData {
            need: 2,
            have: a.len(),
        });
    }
    let (ma, mb) = (mean(a).unwrap_or(0.0), mean(b).unwrap_or(0.0));
    Ok(a.iter()
        .zip(b)
        .map(|(x, y)| (x - ma) * (y - mb))
        .sum::<f64>()
        / (a.len() - 1) as f64)
}

/// Beta of `asset` returns against `benchmark` returns: cov(a, b) / var(b).
pub fn beta(asset: &[f64], benchmark: &[f64]) -> Result<f64> {
    let var_b = covariance(benchmark, benchmark)?;
    if var_b == 0.0 {
        return invalid("benchmark has zero variance");
    }
    Ok(covariance(asset, benchmark)? / var_b)
}

/// Pearson correlation of two return series.
pub fn correlation(a: &[f64], b: &[f64]) -> Result<f64> {
    let (va, vb) = (covariance(a, a)?, covariance(b, b)?);
    if va == 0.0 || vb == 0.0 {
        return invalid("a series has zero variance");
    }
    Ok(covariance(a, b)? / (va.sqrt() * vb.sqrt()))
}

/// Correlation matrix of several named return series of equal length.
pub fn correlation_matrix(series: &[(String, Vec<f64>)]) -> Result<Vec<Vec<f64>>> {
    let n = series.len();
    let mut m = vec![vec![1.0; n]; n];
    for i in 0..n {
        for j in i + 1..n {
            let c = correlation(&series[i].1, &series[j].1)?;
            m[i][j] = c;
            m[j][i] = c;
        }
    }
    Ok(m)
}

/// Historical value at risk and expected shortfall, both as positive loss fractions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VarResult {
    pub confidence: f64,
    /// Loss not exceeded with probability `confidence` (fraction of value).
    pub var: f64,
    /// Mean loss in the tail beyond VaR (fraction of value).
    pub cvar: f64,
    /// Number of tail observations used.
    pub tail_observations: usize,
}

/// Historical 1-period VaR and CVaR.
///
/// With `n` returns and `k = ceil(n * (1 - confidence))` (at least 1), VaR is the k-th largest
/// loss and CVaR the mean of the k largest losses. Losses are `-return`.
pub fn historical_var(returns: &[f64], confidence: f64) -> Result<VarResult> {
    if !(confidence > 0.0 && confidence < 1.0) {
        return invalid("confidence must be in (0, 1)");
    }
    if returns.is_empty() {
        return Err(QuantError::InsufficientData { need: 1, have: 0 });
    }
    let mut losses: Vec<f64> = returns.iter().map(|r| -r).collect();
    losses.sort_by(|a, b| b.total_cmp(a));
    let n = losses.len();
    let k = ((n as f64 * (1.0 - confidence)) - 1e-9).ceil().max(1.0) as usize;
    let k = k.min(n);
    let var = losses[k - 1];
    let cvar = losses[..k].iter().sum::<f64>() / k as f64;
    Ok(VarResult {
        confidence,
        var,
        cvar,
        tail_observations: k,
    })
}

/// Portfolio return series from position weights and aligned per-asset return series.
pub fn portfolio_returns(weights: &[f64], asset_returns: &[Vec<f64>]) -> Result<Vec<f64>> {
    if weights.len() != asset_returns.len() {
        return invalid("one weight per return series is required");
    }
    let len = asset_returns.iter().map(Vec::len).min().unwrap_or(0);
    if asset_returns.iter().any(|r| r.len() != len) {
        return invalid("return series must be aligned (equal length)");
    }
    Ok((0..len)
        .map(|t| {
            weights
                .iter()
                .zip(asset_returns)
                .map(|(w, r)| w * r[t])
                .sum()
        })
        .collect())
}

/// Maximum drawdown of a price or value series.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Drawdown {
    /// Largest peak-to-trough decline as a positive fraction.
    pub max_drawdown: f64,
    pub peak_index: usize,
    pub trough_index: usize,
    /// Decline from the running peak at the last observation.
    pub current_drawdown: f64,
}

/// Maximum drawdown of a series of positive values.
pub fn max_drawdown(values: &[f64]) -> Result<Drawdown> {
    if values.is_empty() {
        return Err(QuantError::InsufficientData { need: 1, have: 0 });
    }
    let (mut peak, mut peak_i) = (values[0], 0);
    let mut best = Drawdown {
        max_drawdown: 0.0,
        peak_index: 0,
        trough_index: 0,
        current_drawdown: 0.0,
    };
    for (i, &v) in values.iter().enumerate() {
        if v > peak {
            peak = v;
            peak_i = i;
        }
        let dd = if peak > 0.0 { 1.0 - v / peak } else { 0.0 };
        if dd > best.max_drawdown {
            best.max_drawdown = dd;
            best.peak_index = peak_i;
            best.trough_index = i;
        }
        best.current_drawdown = dd;
    }
    Ok(best)
}

/// Cumulative value path (starting at 1.0) from periodic returns.
pub fn cumulative_path(returns: &[f64]) -> Vec<f64> {
    let mut v = 1.0;
    let mut out = Vec::with_capacity(returns.len() + 1);
    out.push(v);
    for r in returns {
        v *= 1.0 + r;
        out.push(v);
    }
    out
}

/// Concentration of a portfolio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concentration {
    /// Weights by symbol (of gross exposure), largest first.
    pub weights: Vec<(String, f64)>,
    /// Herfindahl-Hirschman index: sum of squared weights (1/n for equal weights, 1 for one name).
    pub hhi: f64,
    /// 1 / HHI: the equivalent number of equally weighted positions.
    pub effective_positions: f64,
    /// Combined weight of the largest `top_n` positions.
    pub top_n_weight: f64,
    pub top_n: usize,
    pub largest: Option<(String, f64)>,
}

/// Concentration from position market values (absolute values are used: gross exposure).
pub fn concentration(values: &[(String, f64)], top_n: usize) -> Result<Concentration> {
    let gross: f64 = values.iter().map(|(_, v)| v.abs()).sum();
    if gross <= 0.0 {
        return invalid("portfolio has no exposure");
    }
    let mut weights: Vec<(String, f64)> = values
        .iter()
        .map(|(s, v)| (s.clone(), v.abs() / gross))
        .collect();
    weights.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let hhi: f64 = weights.iter().map(|(_, w)| w * w).sum();
    let top_n_weight = weights.iter().take(top_n).map(|(_, w)| w).sum();
    Ok(Concentration {
        largest: weights.first().cloned(),
        weights,
        hhi,
        effective_positions: 1.0 / hhi,
        top_n_weight,
        top_n,
    })
}

/// Broad asset classes used by the stress scenarios.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    /// Broad US equity (index ETFs and single stocks).
    Equity,
    /// Growth / technology-heavy equity (QQQ and similar).
    TechEquity,
    /// Long-duration treasuries (TLT-like, duration ~17).
    LongTreasury,
    /// Intermediate treasuries (IEF-like, duration ~7.5).
    IntermediateTreasury,
    /// Short treasuries (SHY-like, duration ~2).
    ShortTreasury,
    /// Aggregate investment-grade bonds (BND/AGG-like, duration ~6).
    AggregateBond,
    /// Gold and precious metals.
    Gold,
    /// Cash and money-market equivalents.
    Cash,
}

impl AssetClass {
    /// Approximate modified duration used for the rates scenario (0 for non-bonds).
    pub fn duration(self) -> f64 {
        match self {
            AssetClass::LongTreasury => 17.0,
            AssetClass::IntermediateTreasury => 7.5,
            AssetClass::ShortTreasury => 1.9,
            AssetClass::AggregateBond => 6.0,
            _ => 0.0,
        }
    }
}

/// Classifies a symbol into an asset class (unknown symbols are treated as equity).
pub fn classify_symbol(symbol: &str) -> AssetClass {
    match symbol.to_ascii_uppercase().as_str() {
        "TLT" | "EDV" | "VGLT" | "SPTL" | "ZROZ" | "TLH" => AssetClass::LongTreasury,
        "IEF" | "VGIT" | "IEI" | "GOVT" => AssetClass::IntermediateTreasury,
        "SHY" | "VGSH" | "SCHO" | "BIL" | "SGOV" => AssetClass::ShortTreasury,
        "BND" | "AGG" | "SCHZ" | "LQD" | "VCIT" | "BSV" | "MUB" | "TIP" => {
            AssetClass::AggregateBond
        }
        "GLD" | "IAU" | "SLV" | "GLDM" => AssetClass::Gold,
        "QQQ" | "QQQM" | "XLK" | "VGT" | "TQQQ" => AssetClass::TechEquity,
        "USD" | "CASH" => AssetClass::Cash,
        _ => AssetClass::Equity,
    }
}

/// A named set of instantaneous price shocks per asset class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Price change per asset class (e.g. -0.20 for -20%).
    pub shocks: BTreeMap<AssetClass, f64>,
    /// Scale single-stock equity shocks by the stock's beta to the benchmark when known.
    pub beta_adjusted: bool,
}

impl Scenario {
    fn new(
        name: &str,
        description: &str,
        beta_adjusted: bool,
        shocks: &[(AssetClass, f64)],
    ) -> Self {
        Scenario {
            name: name.into(),
            description: description.into(),
            shocks: shocks.iter().copied().collect(),
            beta_adjusted,
        }
    }

    /// Shock applied to one position.
    pub fn shock_for(&self, class: AssetClass, beta: Option<f64>) -> f64 {
        let base = self.shocks.get(&class).copied().unwrap_or(0.0);
        match (class, beta) {
            (AssetClass::Equity | AssetClass::TechEquity, Some(b)) if self.beta_adjusted => {
                let market = self.shocks.get(&AssetClass::Equity).copied().unwrap_or(0.0);
                b * market
            }
            _ => base,
        }
    }
}

/// The standard scenario set: equity -20%, rates +100bp, 2008-like, 2020-like.
///
/// Historical shocks are rounded, approximate peak-to-trough moves of representative ETFs
/// (SPY, QQQ, TLT, IEF, SHY, BND, GLD); they are illustrations, not forecasts.
pub fn standard_scenarios() -> Vec<Scenario> {
    use AssetClass::*;
    let rates = 0.01;
    vec![
        Scenario::new(
            "equity_down_20",
            "Equities fall 20% (single stocks scaled by beta), bonds unchanged",
            true,
            &[(Equity, -0.20), (TechEquity, -0.20)],
        ),
        Scenario::new(
            "rates_up_100bp",
            "Parallel +100bp rate shock: bond ETFs move by -duration x 1%, equities -5%",
            false,
            &[
                (Equity, -0.05),
                (TechEquity, -0.08),
                (LongTreasury, -LongTreasury.duration() * rates),
                (
                    IntermediateTreasury,
                    -IntermediateTreasury.duration() * rates,
                ),
                (ShortTreasury, -ShortTreasury.duration() * rates),
                (AggregateBond, -AggregateBond.duration() * rates),
                (Gold, -0.03),
            ],
        ),
        Scenario::new(
            "gfc_2008",
            "2008-like crisis: equities -37%, tech -42%, long treasuries +34%, aggregate bonds +5%, gold +5%",
            true,
            &[
                (Equity, -0.37),
                (TechEquity, -0.42),
                (LongTreasury, 0.34),
                (IntermediateTreasury, 0.17),
                (ShortTreasury, 0.06),
                (AggregateBond, 0.05),
                (Gold, 0.05),
            ],
        ),
        Scenario::new(
            "covid_2020",
            "2020-like crash (Feb-Mar): equities -34%, tech -28%, long treasuries +14%, aggregate bonds -5%, gold -4%",
            true,
            &[
                (Equity, -0.34),
                (TechEquity, -0.28),
                (LongTreasury, 0.14),
                (IntermediateTreasury, 0.05),
                (ShortTreasury, 0.01),
                (AggregateBond, -0.05),
                (Gold, -0.04),
            ],
        ),
    ]
}

/// One position for the stress test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StressPosition {
    pub symbol: String,
    pub market_value: f64,
    pub class: AssetClass,
    /// Beta to the benchmark, if estimated.
    pub beta: Option<f64>,
}

/// Outcome of one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StressResult {
    pub scenario: String,
    pub description: String,
    /// Portfolio P&L in currency.
    pub pnl: f64,
    /// P&L as a fraction of total value (positions + cash).
    pub pnl_pct: f64,
    /// Per-position P&L.
    pub positions: Vec<(String, f64)>,
}

/// Applies scenarios to positions; `cash` is unaffected but counts in the denominator.
pub fn stress_test(
    positions: &[StressPosition],
    cash: f64,
    scenarios: &[Scenario],
) -> Vec<StressResult> {
    let total: f64 = positions.iter().map(|p| p.market_value).sum::<f64>() + cash;
    scenarios
        .iter()
        .map(|s| {
            let per: Vec<(String, f64)> = positions
                .iter()
                .map(|p| {
                    (
                        p.symbol.clone(),
                        p.market_value * s.shock_for(p.class, p.beta),
                    )
                })
                .collect();
            let pnl: f64 = per.iter().map(|(_, v)| v).sum();
            StressResult {
                scenario: s.name.clone(),
                description: s.description.clone(),
                pnl,
                pnl_pct: if total != 0.0 { pnl / total } else { 0.0 },
                positions: per,
            }
        })
        .collect()
}

/// Aligns several close series on their common (last) observations: every series is cut to
/// the length of the shortest, keeping the most recent values.
pub fn align_tails(series: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let len = series.iter().map(Vec::len).min().unwrap_or(0);
    series.iter().map(|s| s[s.len() - len..].to_vec()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn volatility() {
        // Returns +1%, -1% alternating: sample sd of [0.01,-0.01,0.01,-0.01] = sqrt(4*1e-4/3).
        let r = [0.01, -0.01, 0.01, -0.01];
        let v = annualized_volatility(&r, 252.0).unwrap();
        assert!(close(v, (4.0e-4f64 / 3.0).sqrt() * 252f64.sqrt()));
        assert!(annualized_volatility(&[0.1], 252.0).is_err());
    }

    #[test]
    fn beta_and_correlation() {
        let b = [0.01, -0.02, 0.015, 0.0, -0.005];
        let a: Vec<f64> = b.iter().map(|x| 2.0 * x + 0.001).collect();
        assert!(close(beta(&a, &b).unwrap(), 2.0));
        assert!(close(correlation(&a, &b).unwrap(), 1.0));
        let neg: Vec<f64> = b.iter().map(|x| -0.5 * x).collect();
        assert!(close(beta(&neg, &b).unwrap(), -0.5));
        assert!(close(correlation(&neg, &b).unwrap(), -1.0));
        assert!(beta(&a, &[0.0; 5]).is_err());
        assert!(beta(&a[..3], &b).is_err());
        let m = correlation_matrix(&[("A".into(), a.clone()), ("B".into(), b.to_vec())]).unwrap();
        assert!(close(m[0][1], 1.0) && close(m[1][0], 1.0) && m[0][0] == 1.0);
    }

    #[test]
    fn var_cvar_hand_checked() {
        // Returns -0.001 .. -0.100 (losses 0.1% .. 10%).
        let r: Vec<f64> = (1..=100).map(|i| -(i as f64) / 1000.0).collect();
        let v95 = historical_var(&r, 0.95).unwrap();
        assert_eq!(v95.tail_observations, 5);
        assert!(close(v95.var, 0.096));
        assert!(close(v95.cvar, 0.098));
        let v99 = historical_var(&r, 0.99).unwrap();
        assert_eq!(v99.tail_observations, 1);
        assert!(close(v99.var, 0.1));
        assert!(close(v99.cvar, 0.1));
        // Mixed signs: 20 returns, 95% -> k = 1 (worst), 90% -> k = 2.
        let mut m: Vec<f64> = (0..18).map(|i| 0.001 * i as f64).collect();
        m.push(-0.05);
        m.push(-0.03);
        let v = historical_var(&m, 0.90).unwrap();
        assert_eq!(v.tail_observations, 2);
        assert!(close(v.var, 0.03));
        assert!(close(v.cvar, 0.04));
        assert!(historical_var(&m, 1.0).is_err());
        assert!(historical_var(&[], 0.95).is_err());
    }

    #[test]
    fn portfolio_return_series() {
        let p = portfolio_returns(&[0.6, 0.4], &[vec![0.01, -0.02], vec![0.02, 0.01]]).unwrap();
        assert!(close(p[0], 0.014));
        assert!(close(p[1], -0.008));
        assert!(portfolio_returns(&[1.0], &[vec![0.0], vec![0.0]]).is_err());
    }

    #[test]
    fn drawdown_hand_checked() {
        let d = max_drawdown(&[100.0, 120.0, 90.0, 130.0, 117.0]).unwrap();
        assert!(close(d.max_drawdown, 0.25));
        assert_eq!((d.peak_index, d.trough_index), (1, 2));
        assert!(close(d.current_drawdown, 0.1));
        let path = cumulative_path(&[0.1, -0.5]);
        assert!(close(path[2], 0.55));
        assert!(close(max_drawdown(&path).unwrap().max_drawdown, 0.5));
    }

    #[test]
    fn concentration_hand_checked() {
        let c = concentration(
            &[("A".into(), 50.0), ("B".into(), 30.0), ("C".into(), 20.0)],
            2,
        )
        .unwrap();
        assert!(close(c.hhi, 0.25 + 0.09 + 0.04));
        assert!(close(c.top_n_weight, 0.8));
        assert_eq!(c.largest.as_ref().unwrap().0, "A");
        assert!(close(c.effective_positions, 1.0 / 0.38));
        let eq = concentration(&[("A".into(), 1.0), ("B".into(), 1.0)], 1).unwrap();
        assert!(close(eq.hhi, 0.5));
        assert!(concentration(&[], 1).is_err());
    }

    #[test]
    fn stress_hand_checked() {
        let pos = vec![
            StressPosition {
                symbol: "VTI".into(),
                market_value: 60_000.0,
                class: classify_symbol("VTI"),
                beta: None,
            },
            StressPosition {
                symbol: "TLT".into(),
                market_value: 30_000.0,
                class: classify_symbol("TLT"),
                beta: None,
            },
            StressPosition {
                symbol: "AAPL".into(),
                market_value: 10_000.0,
                class: classify_symbol("aapl"),
                beta: Some(1.5),
            },
        ];
        let res = stress_test(&pos, 0.0, &standard_scenarios());
        let eq = &res[0];
        // VTI -20% = -12,000; AAPL beta 1.5 -> -30% = -3,000; TLT 0.
        assert!(close(eq.pnl, -15_000.0));
        assert!(close(eq.pnl_pct, -0.15));
        let rates = &res[1];
        // VTI -5% = -3,000; TLT -17% = -5,100; AAPL -5% (not beta adjusted) = -500.
        assert!(close(rates.pnl, -8_600.0));
        let gfc = &res[2];
        // VTI -37% = -22,200; TLT +34% = +10,200; AAPL 1.5 * -37% = -5,550.
        assert!(close(gfc.pnl, -17_550.0));
        assert_eq!(classify_symbol("BND"), AssetClass::AggregateBond);
        assert_eq!(classify_symbol("QQQ"), AssetClass::TechEquity);
    }

    #[test]
    fn align() {
        let a = align_tails(&[vec![1.0, 2.0, 3.0], vec![5.0, 6.0]]);
        assert_eq!(a, vec![vec![2.0, 3.0], vec![5.0, 6.0]]);
    }
}
