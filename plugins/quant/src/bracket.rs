//! Bracket orders: entry, take-profit and stop-loss levels from explicit prices, percentages or
//! ATR multiples; risk/reward; position sizing from a risk budget; tick rounding.

use crate::{Result, ceil_to_tick, floor_to_tick, invalid, round_to_tick};
use serde::{Deserialize, Serialize};

/// Direction of the entry order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Direction {
    /// Long: buy to enter, sell to exit.
    Buy,
    /// Short: sell to enter, buy to exit.
    Sell,
}

impl Direction {
    fn sign(self) -> f64 {
        match self {
            Direction::Buy => 1.0,
            Direction::Sell => -1.0,
        }
    }
}

/// How an exit level is given.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Level {
    /// An absolute price.
    Price(f64),
    /// A distance from entry as a fraction (0.05 = 5%).
    Percent(f64),
    /// A distance from entry in multiples of ATR.
    AtrMultiple(f64),
    /// A multiple of the stop distance (take-profit only): 2.0 = 2R.
    RiskMultiple(f64),
}

/// Position sizing inputs.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Sizing {
    /// Fixed quantity; overrides the risk budget when set.
    pub quantity: Option<f64>,
    /// Maximum loss at the stop, in currency.
    pub risk_amount: Option<f64>,
    /// Maximum loss at the stop as a fraction of `account_value`.
    pub risk_pct: Option<f64>,
    pub account_value: Option<f64>,
    /// Upper bound on the entry notional (e.g. available funds).
    pub max_notional: Option<f64>,
    /// Quantity granularity (1 share by default).
    pub lot_size: Option<f64>,
}

/// Inputs of a bracket plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BracketInput {
    pub direction: Direction,
    pub entry: f64,
    pub take_profit: Level,
    pub stop_loss: Level,
    pub atr: Option<f64>,
    pub tick_size: f64,
    pub sizing: Sizing,
}

/// A complete bracket plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BracketPlan {
    pub direction: Direction,
    pub entry: f64,
    pub take_profit: f64,
    pub stop_loss: f64,
    pub quantity: f64,
    pub risk_per_share: f64,
    pub reward_per_share: f64,
    /// reward / risk.
    pub risk_reward: f64,
    pub max_loss: f64,
    pub max_gain: f64,
    pub notional: f64,
    /// Price move that reaches the stop / target, as a fraction of entry.
    pub stop_distance_pct: f64,
    pub target_distance_pct: f64,
    pub notes: Vec<String>,
}

fn distance(
    level: Level,
    entry: f64,
    atr: Option<f64>,
    stop_distance: Option<f64>,
) -> Result<Option<f64>> {
    Ok(match level {
        Level::Price(_) => None,
        Level::Percent(p) if p > 0.0 => Some(entry * p),
        Level::AtrMultiple(m) if m > 0.0 => match atr {
            Some(a) if a > 0.0 => Some(a * m),
            _ => return invalid("an ATR multiple needs a positive ATR"),
        },
        Level::RiskMultiple(r) if r > 0.0 => match stop_distance {
            Some(d) => Some(d * r),
            None => return invalid("a risk multiple is only valid for the take-profit"),
        },
        _ => return invalid("level distances must be positive"),
    })
}

/// Computes levels, rounds them to the tick (stop and target rounded away from entry, so the
/// planned risk is never understated and the target never sits closer than asked), validates
/// their ordering and sizes the position.
pub fn plan_bracket(input: &BracketInput) -> Result<BracketPlan> {
    let BracketInput {
        direction,
        entry,
        atr,
        tick_size,
        ..
    } = *input;
    if !(entry.is_finite() && entry > 0.0) {
        return invalid("entry price must be positive");
    }
    let tick = if tick_size > 0.0 { tick_size } else { 0.01 };
    let entry = round_to_tick(entry, tick);
    let sign = direction.sign();
    let mut notes = Vec::new();

    let stop_raw = match input.stop_loss {
        Level::Price(p) => p,
        l => entry - sign * distance(l, entry, atr, None)?.unwrap_or(0.0),
    };
    let stop = match direction {
        Direction::Buy => floor_to_tick(stop_raw, tick),
        Direction::Sell => ceil_to_tick(stop_raw, tick),
    };
    let stop_distance = (entry - stop).abs();
    let tp_raw = match input.take_profit {
        Level::Price(p) => p,
        l => entry + sign * distance(l, entry, atr, Some(stop_distance))?.unwrap_or(0.0),
    };
    let take_profit = match direction {
        Direction::Buy => ceil_to_tick(tp_raw, tick),
        Direction::Sell => floor_to_tick(tp_raw, tick),
    };
    match direction {
        Direction::Buy if !(stop < entry && entry < take_profit) => {
            return invalid(format!(
                "a long bracket needs stop < entry < take-profit, got {stop} / {entry} / {take_profit}"
            ));
        }
        Direction::Sell if !(take_profit < entry && entry < stop) => {
            return invalid(format!(
                "a short bracket needs take-profit < entry < stop, got {take_profit} / {entry} / {stop}"
            ));
        }
        _ => {}
    }
    if stop <= 0.0 || take_profit <= 0.0 {
        return invalid("stop and take-profit must be positive prices");
    }
    let risk = (entry - stop).abs();
    let reward = (take_profit - entry).abs();

    let s = input.sizing;
    let lot = s.lot_size.filter(|l| *l > 0.0).unwrap_or(1.0);
    let budget = s.risk_amount.or(match (s.risk_pct, s.account_value) {
        (Some(p), Some(v)) if p > 0.0 && v > 0.0 => Some(p * v),
        _ => None,
    });
    let mut quantity = match (s.quantity, budget) {
        (Some(q), _) if q > 0.0 => q,
        (Some(_), _) => return invalid("quantity must be positive"),
        (None, Some(b)) if b > 0.0 => {
            let q = ((b / risk) / lot + 1e-9).floor() * lot;
            notes.push(format!(
                "sized from a risk budget of {b:.2}: floor({b:.2} / {risk:.4} per share) = {q}"
            ));
            q
        }
        _ => return invalid("give a quantity, a risk_amount, or risk_pct with account_value"),
    };
    if let Some(max) = s.max_notional.filter(|m| *m > 0.0)
        && quantity * entry > max
    {
        let capped = ((max / entry) / lot + 1e-9).floor() * lot;
        notes.push(format!(
            "capped from {quantity} to {capped} by the maximum notional {max:.2}"
        ));
        quantity = capped;
    }
    if quantity <= 0.0 {
        return invalid("the risk budget is too small for one lot at this stop distance");
    }
    Ok(BracketPlan {
        direction,
        entry,
        take_profit,
        stop_loss: stop,
        quantity,
        risk_per_share: risk,
        reward_per_share: reward,
        risk_reward: reward / risk,
        max_loss: risk * quantity,
        max_gain: reward * quantity,
        notional: entry * quantity,
        stop_distance_pct: risk / entry,
        target_distance_pct: reward / entry,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn base(direction: Direction, tp: Level, sl: Level) -> BracketInput {
        BracketInput {
            direction,
            entry: 100.0,
            take_profit: tp,
            stop_loss: sl,
            atr: Some(2.5),
            tick_size: 0.01,
            sizing: Sizing {
                risk_amount: Some(500.0),
                ..Default::default()
            },
        }
    }

    #[test]
    fn long_atr_bracket() {
        // Stop 1.5 ATR = 3.75 below -> 96.25; target 3 ATR = 7.5 above -> 107.5; RR 2.
        // Risk 500 / 3.75 = 133.33 -> 133 shares.
        let p = plan_bracket(&base(
            Direction::Buy,
            Level::AtrMultiple(3.0),
            Level::AtrMultiple(1.5),
        ))
        .unwrap();
        assert!(close(p.stop_loss, 96.25));
        assert!(close(p.take_profit, 107.5));
        assert!(close(p.risk_reward, 2.0));
        assert!(close(p.quantity, 133.0));
        assert!(close(p.max_loss, 133.0 * 3.75));
        assert!(close(p.max_gain, 133.0 * 7.5));
    }

    #[test]
    fn short_percent_bracket_with_risk_multiple() {
        // Short at 100, stop +2% = 102, target 2.5R = 5 below = 95.
        let mut i = base(
            Direction::Sell,
            Level::RiskMultiple(2.5),
            Level::Percent(0.02),
        );
        i.sizing = Sizing {
            risk_pct: Some(0.01),
            account_value: Some(100_000.0),
            ..Default::default()
        };
        let p = plan_bracket(&i).unwrap();
        assert!(close(p.stop_loss, 102.0));
        assert!(close(p.take_profit, 95.0));
        assert!(close(p.quantity, 500.0)); // 1000 / 2
        assert!(close(p.risk_reward, 2.5));
    }

    #[test]
    fn tick_rounding_away_from_entry() {
        // Stop at 1 ATR (2.5 * 1.01 = 2.525) -> 97.475 -> floor to 0.05 tick -> 97.45.
        let mut i = base(
            Direction::Buy,
            Level::Price(105.02),
            Level::AtrMultiple(1.01),
        );
        i.tick_size = 0.05;
        let p = plan_bracket(&i).unwrap();
        assert!(close(p.stop_loss, 97.45));
        assert!(close(p.take_profit, 105.05));
    }

    #[test]
    fn validation_and_caps() {
        // Stop above entry on a long.
        assert!(
            plan_bracket(&base(
                Direction::Buy,
                Level::Price(110.0),
                Level::Price(101.0)
            ))
            .is_err()
        );
        // ATR multiple without ATR.
        let mut i = base(Direction::Buy, Level::Price(110.0), Level::AtrMultiple(2.0));
        i.atr = None;
        assert!(plan_bracket(&i).is_err());
        // Notional cap: 500 / 5 = 100 shares = 10_000 > 5_000 -> 50 shares.
        let mut i = base(Direction::Buy, Level::Price(110.0), Level::Price(95.0));
        i.sizing.max_notional = Some(5_000.0);
        let p = plan_bracket(&i).unwrap();
        assert!(close(p.quantity, 50.0));
        assert_eq!(p.notes.len(), 2);
        // Fixed quantity wins over a budget.
        let mut i = base(Direction::Buy, Level::Price(110.0), Level::Price(95.0));
        i.sizing.quantity = Some(10.0);
        assert!(close(plan_bracket(&i).unwrap().quantity, 10.0));
        // Budget too small.
        let mut i = base(Direction::Buy, Level::Price(110.0), Level::Price(95.0));
        i.sizing.risk_amount = Some(1.0);
        assert!(plan_bracket(&i).is_err());
    }
}
