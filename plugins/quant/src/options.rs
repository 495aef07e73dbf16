//! Options: contract selection from a chain (expiry by DTE, strike by delta or % OTM), generic
//! payoff analysis of multi-leg positions at expiry, and the classic strategies.

use crate::{Result, invalid};
use serde::{Deserialize, Serialize};

/// Call or put.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Right {
    #[serde(rename = "C", alias = "CALL", alias = "call")]
    Call,
    #[serde(rename = "P", alias = "PUT", alias = "put")]
    Put,
}

/// One option quote from a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionQuote {
    /// Expiry as YYYYMMDD.
    pub expiry: String,
    /// Calendar days to expiry.
    pub dte: i64,
    pub strike: f64,
    pub right: Right,
    pub bid: Option<f64>,
    pub ask: Option<f64>,
    pub last: Option<f64>,
    pub delta: Option<f64>,
    pub implied_vol: Option<f64>,
}

impl OptionQuote {
    /// Mid price when both sides are quoted, otherwise the one side or last.
    pub fn mid(&self) -> Option<f64> {
        match (self.bid.filter(|b| *b > 0.0), self.ask.filter(|a| *a > 0.0)) {
            (Some(b), Some(a)) => Some((a + b) / 2.0),
            (Some(b), None) => Some(b),
            (None, Some(a)) => Some(a),
            (None, None) => self.last.filter(|l| *l > 0.0),
        }
    }
}

/// How a strike is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "by", content = "value")]
pub enum StrikeRule {
    /// Absolute delta closest to this value (0.30 = 30-delta).
    Delta(f64),
    /// Out of the money by this fraction of spot (calls above, puts below; negative = ITM).
    PercentOtm(f64),
    /// Exact strike (closest listed).
    Strike(f64),
}

/// Picks the expiry whose DTE is closest to `target_dte` within `[min_dte, max_dte]`.
pub fn select_expiry(
    chain: &[OptionQuote],
    target_dte: i64,
    min_dte: i64,
    max_dte: i64,
) -> Result<String> {
    let mut best: Option<(&OptionQuote, i64)> = None;
    for q in chain
        .iter()
        .filter(|q| q.dte >= min_dte && q.dte <= max_dte)
    {
        let d = (q.dte - target_dte).abs();
        if best.is_none_or(|(b, bd)| d < bd || (d == bd && q.dte < b.dte)) {
            best = Some((q, d));
        }
    }
    best.map(|(q, _)| q.expiry.clone()).ok_or_else(|| {
        crate::QuantError::InvalidInput(format!(
            "no expiry between {min_dte} and {max_dte} days in the chain"
        ))
    })
}

/// Picks one contract of `right` in `expiry` by the rule; contracts without a usable price are
/// skipped.
pub fn select_strike(
    chain: &[OptionQuote],
    expiry: &str,
    right: Right,
    spot: f64,
    rule: StrikeRule,
) -> Result<OptionQuote> {
    let candidates: Vec<&OptionQuote> = chain
        .iter()
        .filter(|q| q.expiry == expiry && q.right == right && q.mid().is_some())
        .collect();
    if candidates.is_empty() {
        return invalid(format!("no priced {right:?} contracts for expiry {expiry}"));
    }
    let key = |q: &OptionQuote| -> Option<f64> {
        match rule {
            StrikeRule::Delta(d) => q.delta.map(|x| (x.abs() - d.abs()).abs()),
            StrikeRule::PercentOtm(p) => {
                let target = match right {
                    Right::Call => spot * (1.0 + p),
                    Right::Put => spot * (1.0 - p),
                };
                Some((q.strike - target).abs())
            }
            StrikeRule::Strike(k) => Some((q.strike - k).abs()),
        }
    };
    candidates
        .into_iter()
        .filter_map(|q| key(q).map(|k| (q, k)))
        .min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.strike.total_cmp(&b.0.strike)))
        .map(|(q, _)| q.clone())
        .ok_or_else(|| {
            crate::QuantError::InvalidInput(
                "the chain has no deltas; select by percent_otm or strike".into(),
            )
        })
}

/// What a leg holds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Instrument {
    Stock,
    Option { right: Right, strike: f64 },
}

/// One leg: signed quantity (contracts for options, shares for stock) and its price per unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leg {
    pub instrument: Instrument,
    /// Positive = long, negative = short.
    pub quantity: f64,
    /// Premium per share for options, price per share for stock.
    pub price: f64,
    /// Expiry for option legs (informational).
    pub expiry: Option<String>,
    /// Whether the leg already exists (e.g. shares held for a covered call).
    pub existing: bool,
}

impl Leg {
    fn multiplier(&self, contract_multiplier: f64) -> f64 {
        match self.instrument {
            Instrument::Stock => 1.0,
            Instrument::Option { .. } => contract_multiplier,
        }
    }

    /// Profit of this leg at expiry for underlying price `s`.
    pub fn pnl_at(&self, s: f64, contract_multiplier: f64) -> f64 {
        let value = match self.instrument {
            Instrument::Stock => s,
            Instrument::Option {
                right: Right::Call,
                strike,
            } => (s - strike).max(0.0),
            Instrument::Option {
                right: Right::Put,
                strike,
            } => (strike - s).max(0.0),
        };
        self.quantity * (value - self.price) * self.multiplier(contract_multiplier)
    }
}

/// Payoff profile at expiry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PayoffSummary {
    /// Net premium paid (positive = debit) for the option legs, in currency.
    pub net_debit: f64,
    /// `None` = unlimited.
    pub max_profit: Option<f64>,
    /// Positive loss amount; `None` = unlimited.
    pub max_loss: Option<f64>,
    pub breakevens: Vec<f64>,
    /// (underlying price, P&L) at the kinks and a little beyond.
    pub points: Vec<(f64, f64)>,
}

/// Total P&L of all legs at expiry.
pub fn payoff_at(legs: &[Leg], s: f64, contract_multiplier: f64) -> f64 {
    legs.iter().map(|l| l.pnl_at(s, contract_multiplier)).sum()
}

/// Exact piecewise-linear analysis of the payoff at expiry.
pub fn analyze(legs: &[Leg], contract_multiplier: f64) -> Result<PayoffSummary> {
    if legs.is_empty() {
        return invalid("a strategy needs at least one leg");
    }
    let mut kinks: Vec<f64> = legs
        .iter()
        .filter_map(|l| match l.instrument {
            Instrument::Option { strike, .. } => Some(strike),
            Instrument::Stock => None,
        })
        .collect();
    kinks.sort_by(f64::total_cmp);
    kinks.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
    let f = |s: f64| payoff_at(legs, s, contract_multiplier);
    let mut xs = vec![0.0];
    xs.extend(kinks.iter().copied().filter(|k| *k > 0.0));
    let last = *xs.last().unwrap_or(&0.0);
    let far = if last > 0.0 { last * 1.5 } else { 1.0 };
    // Slope beyond the last kink: stock shares + long call contracts * multiplier.
    let slope: f64 = legs
        .iter()
        .map(|l| match l.instrument {
            Instrument::Stock => l.quantity,
            Instrument::Option {
                right: Right::Call, ..
            } => l.quantity * contract_multiplier,
            Instrument::Option {
                right: Right::Put, ..
            } => 0.0,
        })
        .sum();
    let mut points: Vec<(f64, f64)> = xs.iter().map(|x| (*x, f(*x))).collect();
    points.push((far, f(far)));
    let finite_max = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let finite_min = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let eps = 1e-9;
    let max_profit = if slope > eps { None } else { Some(finite_max) };
    let max_loss = if slope < -eps {
        None
    } else {
        Some((-finite_min).max(0.0))
    };

    let mut breakevens = Vec::new();
    for w in points.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        if y0.abs() < eps {
            push_unique(&mut breakevens, x0);
        }
        if (y0 < -eps && y1 > eps) || (y0 > eps && y1 < -eps) {
            push_unique(&mut breakevens, x0 + (x1 - x0) * (-y0) / (y1 - y0));
        }
    }
    if let Some(&(x, y)) = points.last() {
        if y.abs() < eps {
            push_unique(&mut breakevens, x);
        } else if (y < 0.0 && slope > eps) || (y > 0.0 && slope < -eps) {
            push_unique(&mut breakevens, x - y / slope);
        }
    }
    let net_debit = legs
        .iter()
        .filter(|l| matches!(l.instrument, Instrument::Option { .. }))
        .map(|l| l.quantity * l.price * contract_multiplier)
        .sum();
    Ok(PayoffSummary {
        net_debit,
        max_profit,
        max_loss,
        breakevens: breakevens
            .into_iter()
            .map(|b| (b * 1e6).round() / 1e6)
            .collect(),
        points,
    })
}

fn push_unique(v: &mut Vec<f64>, x: f64) {
    if v.iter().all(|y| (y - x).abs() > 1e-9) {
        v.push(x);
    }
}

/// Strategy families supported by [`build_strategy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    CoveredCall,
    ProtectivePut,
    Collar,
    BullCallSpread,
    BearPutSpread,
    BullPutSpread,
    BearCallSpread,
}

impl Strategy {
    /// Parses a name like `covered_call` or `bull-call-spread`.
    pub fn parse(name: &str) -> Result<Strategy> {
        Ok(
            match name
                .trim()
                .to_ascii_lowercase()
                .replace(['-', ' '], "_")
                .as_str()
            {
                "covered_call" => Strategy::CoveredCall,
                "protective_put" | "married_put" => Strategy::ProtectivePut,
                "collar" => Strategy::Collar,
                "bull_call_spread" | "bull_call_vertical" | "bull_call" => Strategy::BullCallSpread,
                "bear_put_spread" | "bear_put_vertical" | "bear_put" => Strategy::BearPutSpread,
                "bull_put_spread" | "bull_put_vertical" | "bull_put" => Strategy::BullPutSpread,
                "bear_call_spread" | "bear_call_vertical" | "bear_call" => Strategy::BearCallSpread,
                other => return invalid(format!("unknown strategy {other:?}")),
            },
        )
    }

    /// Whether the strategy involves 100 shares per contract of stock.
    pub fn uses_stock(self) -> bool {
        matches!(
            self,
            Strategy::CoveredCall | Strategy::ProtectivePut | Strategy::Collar
        )
    }
}

/// Inputs for building a strategy from a chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyRequest {
    pub strategy: Strategy,
    pub spot: f64,
    pub contracts: f64,
    pub expiry: String,
    /// Rule for the short call / long put / near leg.
    pub primary: StrikeRule,
    /// Rule for the second leg of collars and verticals (the far leg for verticals).
    pub secondary: StrikeRule,
    /// Shares already held (for covered calls and collars); the stock leg is marked existing when
    /// enough shares are held.
    pub shares_held: f64,
    /// Stock cost basis for the P&L profile (defaults to spot).
    pub stock_basis: Option<f64>,
    pub contract_multiplier: f64,
}

/// A strategy built from a chain, with its payoff profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyPlan {
    pub strategy: Strategy,
    pub legs: Vec<Leg>,
    pub contracts: Vec<OptionQuote>,
    pub summary: PayoffSummary,
    pub notes: Vec<String>,
}

fn opt_leg(q: &OptionQuote, quantity: f64) -> Leg {
    Leg {
        instrument: Instrument::Option {
            right: q.right,
            strike: q.strike,
        },
        quantity,
        price: q.mid().unwrap_or(0.0),
        expiry: Some(q.expiry.clone()),
        existing: false,
    }
}

/// Selects contracts from the chain for a strategy and analyses the payoff.
pub fn build_strategy(chain: &[OptionQuote], req: &StrategyRequest) -> Result<StrategyPlan> {
    if req.contracts <= 0.0 || req.spot <= 0.0 {
        return invalid("contracts and spot must be positive");
    }
    let m = if req.contract_multiplier > 0.0 {
        req.contract_multiplier
    } else {
        100.0
    };
    let n = req.contracts;
    let e = req.expiry.as_str();
    let mut notes = Vec::new();
    let mut legs = Vec::new();
    let mut contracts = Vec::new();
    let stock_leg = |notes: &mut Vec<String>| {
        let shares = n * m;
        let existing = req.shares_held >= shares;
        if existing {
            notes.push(format!(
                "uses {shares} of the {} shares already held",
                req.shares_held
            ));
        } else {
            notes.push(format!(
                "needs {shares} shares; {} held, so the stock leg is part of the order",
                req.shares_held
            ));
        }
        Leg {
            instrument: Instrument::Stock,
            quantity: shares,
            price: req.stock_basis.unwrap_or(req.spot),
            expiry: None,
            existing,
        }
    };
    match req.strategy {
        Strategy::CoveredCall => {
            legs.push(stock_leg(&mut notes));
            let c = select_strike(chain, e, Right::Call, req.spot, req.primary)?;
            legs.push(opt_leg(&c, -n));
            contracts.push(c);
        }
        Strategy::ProtectivePut => {
            legs.push(stock_leg(&mut notes));
            let p = select_strike(chain, e, Right::Put, req.spot, req.primary)?;
            legs.push(opt_leg(&p, n));
            contracts.push(p);
        }
        Strategy::Collar => {
            legs.push(stock_leg(&mut notes));
            let p = select_strike(chain, e, Right::Put, req.spot, req.primary)?;
            let c = select_strike(chain, e, Right::Call, req.spot, req.secondary)?;
            if c.strike <= p.strike {
                return invalid("collar call strike must be above the put strike");
            }
            legs.push(opt_leg(&p, n));
            legs.push(opt_leg(&c, -n));
            contracts.push(p);
            contracts.push(c);
        }
        Strategy::BullCallSpread | Strategy::BearCallSpread => {
            let a = select_strike(chain, e, Right::Call, req.spot, req.primary)?;
            let b = select_strike(chain, e, Right::Call, req.spot, req.secondary)?;
            let (lo, hi) = if a.strike <= b.strike { (a, b) } else { (b, a) };
            if lo.strike == hi.strike {
                return invalid(
                    "the two vertical legs resolved to the same strike; widen the rules",
                );
            }
            let (lo_q, hi_q) = if req.strategy == Strategy::BullCallSpread {
                (n, -n)
            } else {
                (-n, n)
            };
            legs.push(opt_leg(&lo, lo_q));
            legs.push(opt_leg(&hi, hi_q));
            contracts.push(lo);
            contracts.push(hi);
        }
        Strategy::BearPutSpread | Strategy::BullPutSpread => {
            let a = select_strike(chain, e, Right::Put, req.spot, req.primary)?;
            let b = select_strike(chain, e, Right::Put, req.spot, req.secondary)?;
            let (lo, hi) = if a.strike <= b.strike { (a, b) } else { (b, a) };
            if lo.strike == hi.strike {
                return invalid(
                    "the two vertical legs resolved to the same strike; widen the rules",
                );
            }
            let (lo_q, hi_q) = if req.strategy == Strategy::BearPutSpread {
                (-n, n)
            } else {
                (n, -n)
            };
            legs.push(opt_leg(&lo, lo_q));
            legs.push(opt_leg(&hi, hi_q));
            contracts.push(lo);
            contracts.push(hi);
        }
    }
    let summary = analyze(&legs, m)?;
    Ok(StrategyPlan {
        strategy: req.strategy,
        legs,
        contracts,
        summary,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    fn q(expiry: &str, dte: i64, strike: f64, right: Right, mid: f64, delta: f64) -> OptionQuote {
        OptionQuote {
            expiry: expiry.into(),
            dte,
            strike,
            right,
            bid: Some(mid - 0.05),
            ask: Some(mid + 0.05),
            last: None,
            delta: Some(delta),
            implied_vol: None,
        }
    }

    fn chain() -> Vec<OptionQuote> {
        use Right::*;
        vec![
            q("20260116", 10, 100.0, Call, 1.0, 0.5),
            q("20260220", 45, 95.0, Call, 7.0, 0.70),
            q("20260220", 45, 100.0, Call, 4.0, 0.52),
            q("20260220", 45, 105.0, Call, 2.0, 0.32),
            q("20260220", 45, 110.0, Call, 0.8, 0.15),
            q("20260220", 45, 90.0, Put, 0.9, -0.12),
            q("20260220", 45, 95.0, Put, 2.0, -0.28),
            q("20260220", 45, 100.0, Put, 3.8, -0.48),
            q("20260320", 73, 105.0, Call, 3.0, 0.35),
        ]
    }

    fn req(strategy: Strategy, primary: StrikeRule, secondary: StrikeRule) -> StrategyRequest {
        StrategyRequest {
            strategy,
            spot: 100.0,
            contracts: 1.0,
            expiry: "20260220".into(),
            primary,
            secondary,
            shares_held: 100.0,
            stock_basis: None,
            contract_multiplier: 100.0,
        }
    }

    #[test]
    fn expiry_and_strike_selection() {
        let c = chain();
        assert_eq!(select_expiry(&c, 45, 20, 60).unwrap(), "20260220");
        assert_eq!(select_expiry(&c, 70, 0, 100).unwrap(), "20260320");
        assert_eq!(select_expiry(&c, 5, 0, 100).unwrap(), "20260116");
        assert!(select_expiry(&c, 200, 150, 300).is_err());
        let k = select_strike(&c, "20260220", Right::Call, 100.0, StrikeRule::Delta(0.30)).unwrap();
        assert_eq!(k.strike, 105.0);
        let k = select_strike(&c, "20260220", Right::Put, 100.0, StrikeRule::Delta(0.25)).unwrap();
        assert_eq!(k.strike, 95.0);
        let k = select_strike(
            &c,
            "20260220",
            Right::Call,
            100.0,
            StrikeRule::PercentOtm(0.08),
        )
        .unwrap();
        assert_eq!(k.strike, 110.0);
        let k = select_strike(
            &c,
            "20260220",
            Right::Put,
            100.0,
            StrikeRule::PercentOtm(0.07),
        )
        .unwrap();
        assert_eq!(k.strike, 95.0);
    }

    #[test]
    fn covered_call_hand_checked() {
        // Long 100 @ 100, short 105 call @ 2: max profit (105-100+2)*100 = 700,
        // max loss (100-2)*100 = 9_800, breakeven 98.
        let p = build_strategy(
            &chain(),
            &req(
                Strategy::CoveredCall,
                StrikeRule::Delta(0.30),
                StrikeRule::Delta(0.0),
            ),
        )
        .unwrap();
        assert!(close(p.summary.max_profit.unwrap(), 700.0));
        assert!(close(p.summary.max_loss.unwrap(), 9_800.0));
        assert_eq!(p.summary.breakevens, vec![98.0]);
        assert!(close(p.summary.net_debit, -200.0));
        assert!(p.legs[0].existing);
    }

    #[test]
    fn protective_put_hand_checked() {
        // Long 100 @ 100 + long 95 put @ 2: max loss (100-95+2)*100 = 700, unlimited upside,
        // breakeven 102.
        let mut r = req(
            Strategy::ProtectivePut,
            StrikeRule::PercentOtm(0.05),
            StrikeRule::Delta(0.0),
        );
        r.shares_held = 0.0;
        let p = build_strategy(&chain(), &r).unwrap();
        assert_eq!(p.summary.max_profit, None);
        assert!(close(p.summary.max_loss.unwrap(), 700.0));
        assert_eq!(p.summary.breakevens, vec![102.0]);
        assert!(!p.legs[0].existing);
    }

    #[test]
    fn collar_hand_checked() {
        // Long stock 100, long 95 put @ 2, short 105 call @ 2: zero-cost collar.
        // Max profit 500, max loss 500, breakeven 100.
        let p = build_strategy(
            &chain(),
            &req(
                Strategy::Collar,
                StrikeRule::Strike(95.0),
                StrikeRule::Strike(105.0),
            ),
        )
        .unwrap();
        assert!(close(p.summary.max_profit.unwrap(), 500.0));
        assert!(close(p.summary.max_loss.unwrap(), 500.0));
        assert_eq!(p.summary.breakevens, vec![100.0]);
        assert!(close(p.summary.net_debit, 0.0));
    }

    #[test]
    fn verticals_hand_checked() {
        let c = chain();
        // Bull call 100/105: debit 4-2 = 2 -> max loss 200, max profit 300, BE 102.
        let p = build_strategy(
            &c,
            &req(
                Strategy::BullCallSpread,
                StrikeRule::Strike(100.0),
                StrikeRule::Strike(105.0),
            ),
        )
        .unwrap();
        assert!(close(p.summary.net_debit, 200.0));
        assert!(close(p.summary.max_loss.unwrap(), 200.0));
        assert!(close(p.summary.max_profit.unwrap(), 300.0));
        assert_eq!(p.summary.breakevens, vec![102.0]);
        // Bear call 100/105 (credit 2): max profit 200, max loss 300, BE 102.
        let p = build_strategy(
            &c,
            &req(
                Strategy::BearCallSpread,
                StrikeRule::Strike(105.0),
                StrikeRule::Strike(100.0),
            ),
        )
        .unwrap();
        assert!(close(p.summary.net_debit, -200.0));
        assert!(close(p.summary.max_profit.unwrap(), 200.0));
        assert!(close(p.summary.max_loss.unwrap(), 300.0));
        assert_eq!(p.summary.breakevens, vec![102.0]);
        // Bear put 95/100: debit 3.8-2 = 1.8 -> max loss 180, max profit 320, BE 98.2.
        let p = build_strategy(
            &c,
            &req(
                Strategy::BearPutSpread,
                StrikeRule::Strike(100.0),
                StrikeRule::Strike(95.0),
            ),
        )
        .unwrap();
        assert!(close(p.summary.max_loss.unwrap(), 180.0));
        assert!(close(p.summary.max_profit.unwrap(), 320.0));
        assert_eq!(p.summary.breakevens, vec![98.2]);
        // Bull put 95/100: credit 1.8 -> max profit 180, max loss 320, BE 98.2.
        let p = build_strategy(
            &c,
            &req(
                Strategy::BullPutSpread,
                StrikeRule::Strike(100.0),
                StrikeRule::Strike(95.0),
            ),
        )
        .unwrap();
        assert!(close(p.summary.max_profit.unwrap(), 180.0));
        assert!(close(p.summary.max_loss.unwrap(), 320.0));
        assert_eq!(p.summary.breakevens, vec![98.2]);
        // Same strike twice is refused.
        assert!(
            build_strategy(
                &c,
                &req(
                    Strategy::BullCallSpread,
                    StrikeRule::Strike(100.0),
                    StrikeRule::Strike(100.0)
                )
            )
            .is_err()
        );
    }

    #[test]
    fn naked_short_call_is_unbounded() {
        let legs = [Leg {
            instrument: Instrument::Option {
                right: Right::Call,
                strike: 100.0,
            },
            quantity: -1.0,
            price: 3.0,
            expiry: None,
            existing: false,
        }];
        let s = analyze(&legs, 100.0).unwrap();
        assert_eq!(s.max_loss, None);
        assert!(close(s.max_profit.unwrap(), 300.0));
        assert_eq!(s.breakevens, vec![103.0]);
        assert!(close(payoff_at(&legs, 110.0, 100.0), -700.0));
    }

    #[test]
    fn strategy_names() {
        assert_eq!(
            Strategy::parse("Bull-Call-Spread").unwrap(),
            Strategy::BullCallSpread
        );
        assert_eq!(Strategy::parse("collar").unwrap(), Strategy::Collar);
        assert!(Strategy::parse("iron condor").is_err());
    }
}

/// Standard normal cumulative distribution (Abramowitz & Stegun 26.2.17, |error| < 7.5e-8).
pub fn norm_cdf(x: f64) -> f64 {
    if x < 0.0 {
        return 1.0 - norm_cdf(-x);
    }
    let t = 1.0 / (1.0 + 0.231_641_9 * x);
    let poly = t
        * (0.319_381_530
            + t * (-0.356_563_782
                + t * (1.781_477_937 + t * (-1.821_255_978 + t * 1.330_274_429))));
    let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    1.0 - pdf * poly
}

/// Black-Scholes price of a European option (no dividends).
///
/// `t` in years, `rate` and `vol` annualised (continuous compounding).
pub fn black_scholes(right: Right, spot: f64, strike: f64, t: f64, rate: f64, vol: f64) -> f64 {
    if t <= 0.0 || vol <= 0.0 {
        return match right {
            Right::Call => (spot - strike).max(0.0),
            Right::Put => (strike - spot).max(0.0),
        };
    }
    let (d1, d2) = d1_d2(spot, strike, t, rate, vol);
    let df = (-rate * t).exp();
    match right {
        Right::Call => spot * norm_cdf(d1) - strike * df * norm_cdf(d2),
        Right::Put => strike * df * norm_cdf(-d2) - spot * norm_cdf(-d1),
    }
}

fn d1_d2(spot: f64, strike: f64, t: f64, rate: f64, vol: f64) -> (f64, f64) {
    let sq = vol * t.sqrt();
    let d1 = ((spot / strike).ln() + (rate + 0.5 * vol * vol) * t) / sq;
    (d1, d1 - sq)
}

/// Black-Scholes delta (call in [0, 1], put in [-1, 0]).
pub fn bs_delta(right: Right, spot: f64, strike: f64, t: f64, rate: f64, vol: f64) -> f64 {
    if t <= 0.0 || vol <= 0.0 {
        return match right {
            Right::Call => f64::from(u8::from(spot > strike)),
            Right::Put => -f64::from(u8::from(spot < strike)),
        };
    }
    let (d1, _) = d1_d2(spot, strike, t, rate, vol);
    match right {
        Right::Call => norm_cdf(d1),
        Right::Put => norm_cdf(d1) - 1.0,
    }
}

/// Implied volatility by bisection in [0.1%, 500%]; `None` when the price is outside the
/// no-arbitrage range.
pub fn implied_vol(
    right: Right,
    price: f64,
    spot: f64,
    strike: f64,
    t: f64,
    rate: f64,
) -> Option<f64> {
    if t <= 0.0 || price <= 0.0 {
        return None;
    }
    let (mut lo, mut hi) = (0.001, 5.0);
    let f = |v: f64| black_scholes(right, spot, strike, t, rate, v) - price;
    if f(lo) > 0.0 || f(hi) < 0.0 {
        return None;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if f(mid) > 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
        if hi - lo < 1e-7 {
            break;
        }
    }
    Some(0.5 * (lo + hi))
}

/// Fills `delta` and `implied_vol` of chain quotes that lack them, from their mid prices.
pub fn fill_greeks(chain: &mut [OptionQuote], spot: f64, rate: f64) {
    for q in chain.iter_mut() {
        if q.delta.is_some() {
            continue;
        }
        let t = (q.dte.max(1) as f64) / 365.0;
        let iv = q.implied_vol.or_else(|| {
            q.mid()
                .and_then(|m| implied_vol(q.right, m, spot, q.strike, t, rate))
        });
        if let Some(v) = iv {
            q.implied_vol = Some(v);
            q.delta = Some(bs_delta(q.right, spot, q.strike, t, rate, v));
        }
    }
}

#[cfg(test)]
mod bs_tests {
    use super::*;

    #[test]
    fn black_scholes_reference_values() {
        // Hull's textbook case: S = K = 100, r = 5%, sigma = 20%, T = 1.
        let c = black_scholes(Right::Call, 100.0, 100.0, 1.0, 0.05, 0.2);
        let p = black_scholes(Right::Put, 100.0, 100.0, 1.0, 0.05, 0.2);
        assert!((c - 10.4506).abs() < 1e-3, "{c}");
        assert!((p - 5.5735).abs() < 1e-3, "{p}");
        // Put-call parity: C - P = S - K e^{-rT}.
        assert!((c - p - (100.0 - 100.0 * (-0.05f64).exp())).abs() < 1e-6);
        let d = bs_delta(Right::Call, 100.0, 100.0, 1.0, 0.05, 0.2);
        assert!((d - 0.6368).abs() < 1e-3, "{d}");
        let dp = bs_delta(Right::Put, 100.0, 100.0, 1.0, 0.05, 0.2);
        assert!((d - dp - 1.0).abs() < 1e-12);
        assert!((norm_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((norm_cdf(1.96) - 0.975).abs() < 1e-4);
    }

    #[test]
    fn implied_vol_round_trip() {
        let price = black_scholes(Right::Put, 100.0, 95.0, 0.25, 0.03, 0.27);
        let iv = implied_vol(Right::Put, price, 100.0, 95.0, 0.25, 0.03).unwrap();
        assert!((iv - 0.27).abs() < 1e-5);
        assert_eq!(implied_vol(Right::Call, 0.0, 100.0, 95.0, 0.25, 0.03), None);
        let mut chain = vec![OptionQuote {
            expiry: "x".into(),
            dte: 91,
            strike: 100.0,
            right: Right::Call,
            bid: Some(black_scholes(Right::Call, 100.0, 100.0, 91.0 / 365.0, 0.0, 0.2) - 0.01),
            ask: Some(black_scholes(Right::Call, 100.0, 100.0, 91.0 / 365.0, 0.0, 0.2) + 0.01),
            last: None,
            delta: None,
            implied_vol: None,
        }];
        fill_greeks(&mut chain, 100.0, 0.0);
        assert!((chain[0].implied_vol.unwrap() - 0.2).abs() < 1e-4);
        assert!((chain[0].delta.unwrap() - 0.5199).abs() < 1e-3);
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYYMMDD` into days since the epoch; a monthly `YYYYMM` expiry is approximated by
/// the 15th of the month.
pub fn parse_expiry_days(expiry: &str) -> Result<i64> {
    let s = expiry.trim();
    let num = |r: std::ops::Range<usize>| -> Result<i64> {
        s.get(r)
            .and_then(|x| x.parse::<i64>().ok())
            .ok_or_else(|| crate::QuantError::InvalidInput(format!("bad expiry {expiry:?}")))
    };
    let (y, m) = (num(0..4)?, num(4..6)?);
    let d = if s.len() >= 8 { num(6..8)? } else { 15 };
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return invalid(format!("bad expiry {expiry:?}"));
    }
    Ok(days_from_civil(y, m as u32, d as u32))
}

/// Calendar days from `today` (days since the epoch) to the expiry.
pub fn days_to_expiry(expiry: &str, today: i64) -> Result<i64> {
    Ok(parse_expiry_days(expiry)? - today)
}

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 11, 21), 20_778);
        assert_eq!(days_to_expiry("20261218", 20_778).unwrap(), 27);
        assert_eq!(days_to_expiry("202612", 20_778).unwrap(), 24);
        assert!(parse_expiry_days("2026").is_err());
        assert!(parse_expiry_days("20261340").is_err());
    }
}
