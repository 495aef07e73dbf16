//! Paper accounts: cash, positions, valuation, margin, PnL and the TWS account tags.

use std::collections::BTreeMap;

use super::instruments::{AssetKind, Universe};

/// Commission of a fill (IB tiered-like): stocks/ETFs $0.005/share, min $1, max 1% of value;
/// options $0.65/contract (min $1); futures $0.85/contract; FX 0.2 bp of value, min $2.
pub fn commission(kind: AssetKind, qty: f64, price: f64, multiplier: f64) -> f64 {
    let q = qty.abs();
    let value = q * price * multiplier;
    let c = match kind {
        AssetKind::Stock | AssetKind::Etf | AssetKind::Index => {
            (q * 0.005).max(1.0).min((value * 0.01).max(0.01))
        }
        AssetKind::Option => (q * 0.65).max(1.0),
        AssetKind::Future => q * 0.85,
        AssetKind::Fx => (value * 0.00002).max(2.0),
    };
    (c * 100.0).round() / 100.0
}

/// A position in one instrument.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Position {
    pub qty: f64,
    /// Average cost per unit including the multiplier (IB's avgCost), commissions included.
    pub avg_cost: f64,
    /// Realized PnL since the position was opened in this simulation.
    pub realized: f64,
    /// Quantity at the start of the current trading day.
    pub day_start_qty: f64,
    /// Cash flow of today's fills in this instrument (sells positive, buys negative), gross.
    pub day_cash_flow: f64,
}

/// Result of applying a fill.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FillResult {
    /// Realized PnL of the closing part, net of commission; `None` for purely opening fills.
    pub realized: Option<f64>,
}

/// One paper account.
#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    /// USD cash (can go negative: margin loan).
    pub cash: f64,
    pub positions: BTreeMap<usize, Position>,
    /// Realized PnL of the current trading day (net of commissions).
    pub realized_today: f64,
    /// Commissions paid today.
    pub commissions_today: f64,
    /// Net liquidation at the previous close (for PreviousDayEquityWithLoanValue).
    pub prev_day_nlv: f64,
}

/// Values of an account at current prices.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Valuation {
    pub cash: f64,
    pub stock_value: f64,
    pub option_value: f64,
    pub future_pnl: f64,
    pub fx_value: f64,
    pub net_liq: f64,
    pub gross_position_value: f64,
    pub init_margin: f64,
    pub maint_margin: f64,
    pub unrealized: f64,
    pub realized: f64,
    pub daily_pnl: f64,
}

impl Valuation {
    pub fn equity_with_loan(&self) -> f64 {
        self.net_liq - self.option_value.max(0.0) * 0.0
    }
    pub fn available_funds(&self) -> f64 {
        self.equity_with_loan() - self.init_margin
    }
    pub fn excess_liquidity(&self) -> f64 {
        self.equity_with_loan() - self.maint_margin
    }
    pub fn buying_power(&self) -> f64 {
        (self.available_funds() * 4.0).max(0.0)
    }
    pub fn cushion(&self) -> f64 {
        if self.net_liq.abs() < 1e-9 {
            0.0
        } else {
            self.excess_liquidity() / self.net_liq
        }
    }
    pub fn leverage(&self) -> f64 {
        if self.net_liq.abs() < 1e-9 {
            0.0
        } else {
            self.gross_position_value / self.net_liq
        }
    }
}

/// Margin requirement (initial, maintenance) of a position.
pub fn margin_of(
    kind: AssetKind,
    qty: f64,
    price: f64,
    multiplier: f64,
    und_price: f64,
) -> (f64, f64) {
    let mv = (qty * price * multiplier).abs();
    match kind {
        AssetKind::Stock | AssetKind::Etf | AssetKind::Index => {
            if qty >= 0.0 {
                (0.25 * mv, 0.25 * mv)
            } else {
                (0.30 * mv, 0.30 * mv)
            }
        }
        AssetKind::Option => {
            if qty >= 0.0 {
                (0.0, 0.0)
            } else {
                let m = mv + 0.2 * und_price * multiplier * qty.abs();
                (m, m)
            }
        }
        AssetKind::Future => (qty.abs() * 22_000.0, qty.abs() * 20_000.0),
        AssetKind::Fx => (0.03 * mv, 0.03 * mv),
    }
}

/// Market data an account needs for valuation: (last price, previous close, underlying price).
pub type Mark = (f64, f64, f64);

impl Account {
    pub fn new(id: &str, cash: f64) -> Self {
        Self {
            id: id.into(),
            cash,
            positions: BTreeMap::new(),
            realized_today: 0.0,
            commissions_today: 0.0,
            prev_day_nlv: 0.0,
        }
    }

    /// Apply a fill of signed quantity `dq` (positive = bought) at `price`.
    pub fn apply_fill(
        &mut self,
        uni: &Universe,
        idx: usize,
        dq: f64,
        price: f64,
        comm: f64,
    ) -> FillResult {
        let inst = uni.get(idx);
        let mult = inst.multiplier;
        let is_fut = inst.kind == AssetKind::Future;
        let pos = self.positions.entry(idx).or_default();
        let q0 = pos.qty;
        let unit = price * mult;
        let mut realized_gross = 0.0;
        let opening = q0 == 0.0 || q0.signum() == dq.signum();
        if opening {
            let total = q0.abs() + dq.abs();
            pos.avg_cost = (q0.abs() * pos.avg_cost + dq.abs() * unit + comm) / total;
            pos.qty = q0 + dq;
        } else {
            let closed = dq.abs().min(q0.abs());
            realized_gross = closed * (unit - pos.avg_cost) * q0.signum();
            let rest = dq.abs() - closed;
            pos.qty = q0 + dq;
            if pos.qty.abs() < 1e-9 {
                pos.qty = 0.0;
            }
            if rest > 1e-9 {
                pos.avg_cost = unit;
            }
        }
        pos.day_cash_flow -= dq * unit;
        let realized = if opening {
            None
        } else {
            let r = realized_gross - comm;
            pos.realized += r;
            self.realized_today += r;
            Some(r)
        };
        if is_fut {
            // Futures: no notional cash flow; the opening commission sits in the cost basis and
            // is paid (with the realized PnL) when the position is closed.
            if !opening {
                self.cash += realized_gross - comm;
            }
        } else {
            self.cash -= dq * unit + comm;
        }
        self.commissions_today += comm;
        FillResult { realized }
    }

    /// Value the account. `mark(idx)` gives (last, previous close, underlying price).
    pub fn valuation(&self, uni: &Universe, mut mark: impl FnMut(usize) -> Mark) -> Valuation {
        let mut v = Valuation {
            cash: self.cash,
            realized: self.realized_today,
            ..Default::default()
        };
        for (&idx, pos) in &self.positions {
            let inst = uni.get(idx);
            let mult = inst.multiplier;
            let (px, prev, und) = mark(idx);
            let mv = pos.qty * px * mult;
            let unreal = mv - pos.qty * pos.avg_cost;
            v.unrealized += unreal;
            v.daily_pnl += mv - pos.day_start_qty * prev * mult + pos.day_cash_flow;
            match inst.kind {
                AssetKind::Future => {
                    v.future_pnl += unreal;
                }
                AssetKind::Option => {
                    v.option_value += mv;
                    v.gross_position_value += mv.abs();
                }
                AssetKind::Fx => {
                    v.fx_value += mv;
                }
                _ => {
                    v.stock_value += mv;
                    v.gross_position_value += mv.abs();
                }
            }
            let (im, mm) = margin_of(inst.kind, pos.qty, px, mult, und);
            v.init_margin += im;
            v.maint_margin += mm;
        }
        v.net_liq = v.cash + v.stock_value + v.option_value + v.future_pnl + v.fx_value;
        v
    }

    /// Start a new trading day.
    pub fn roll_day(&mut self, nlv: f64) {
        for p in self.positions.values_mut() {
            p.day_start_qty = p.qty;
            p.day_cash_flow = 0.0;
        }
        self.positions.retain(|_, p| p.qty != 0.0);
        self.realized_today = 0.0;
        self.commissions_today = 0.0;
        self.prev_day_nlv = nlv;
    }
}

fn money(v: f64) -> String {
    format!("{v:.2}")
}

/// The account summary tags TWS knows (AccountSummaryTags.AllTags).
pub const ALL_TAGS: &[&str] = &[
    "AccountType",
    "NetLiquidation",
    "TotalCashValue",
    "SettledCash",
    "AccruedCash",
    "BuyingPower",
    "EquityWithLoanValue",
    "PreviousDayEquityWithLoanValue",
    "GrossPositionValue",
    "RegTEquity",
    "RegTMargin",
    "SMA",
    "InitMarginReq",
    "MaintMarginReq",
    "AvailableFunds",
    "ExcessLiquidity",
    "Cushion",
    "FullInitMarginReq",
    "FullMaintMarginReq",
    "FullAvailableFunds",
    "FullExcessLiquidity",
    "LookAheadNextChange",
    "LookAheadInitMarginReq",
    "LookAheadMaintMarginReq",
    "LookAheadAvailableFunds",
    "LookAheadExcessLiquidity",
    "HighestSeverity",
    "DayTradesRemaining",
    "Leverage",
];

/// Value and currency of an account summary tag.
pub fn summary_tag(acct: &Account, v: &Valuation, tag: &str) -> Option<(String, &'static str)> {
    let usd = "USD";
    Some(match tag {
        "AccountType" => ("INDIVIDUAL".into(), ""),
        "NetLiquidation" => (money(v.net_liq), usd),
        "TotalCashValue" | "SettledCash" => (money(v.cash), usd),
        "AccruedCash" => (money(0.0), usd),
        "BuyingPower" => (money(v.buying_power()), usd),
        "EquityWithLoanValue" | "RegTEquity" => (money(v.equity_with_loan()), usd),
        "PreviousDayEquityWithLoanValue" => (money(acct.prev_day_nlv), usd),
        "GrossPositionValue" => (money(v.gross_position_value), usd),
        "RegTMargin" => (money(v.init_margin * 2.0), usd),
        "SMA" => (
            money((v.equity_with_loan() - v.init_margin * 2.0).max(0.0)),
            usd,
        ),
        "InitMarginReq" | "FullInitMarginReq" | "LookAheadInitMarginReq" => {
            (money(v.init_margin), usd)
        }
        "MaintMarginReq" | "FullMaintMarginReq" | "LookAheadMaintMarginReq" => {
            (money(v.maint_margin), usd)
        }
        "AvailableFunds" | "FullAvailableFunds" | "LookAheadAvailableFunds" => {
            (money(v.available_funds()), usd)
        }
        "ExcessLiquidity" | "FullExcessLiquidity" | "LookAheadExcessLiquidity" => {
            (money(v.excess_liquidity()), usd)
        }
        "Cushion" => (format!("{:.6}", v.cushion()), ""),
        "LookAheadNextChange" => ("0".into(), ""),
        "HighestSeverity" => ("0".into(), ""),
        "DayTradesRemaining" => ("-1".into(), ""),
        "Leverage" => (format!("{:.2}", v.leverage()), ""),
        _ => return None,
    })
}

/// $LEDGER rows: (tag, value) for one currency column.
pub fn ledger_rows(acct: &Account, v: &Valuation) -> Vec<(&'static str, String)> {
    vec![
        ("CashBalance", money(v.cash)),
        ("TotalCashBalance", money(v.cash)),
        ("AccruedCash", money(0.0)),
        ("StockMarketValue", money(v.stock_value)),
        ("OptionMarketValue", money(v.option_value)),
        ("FutureOptionValue", money(0.0)),
        ("FuturesPNL", money(v.future_pnl)),
        ("NetLiquidationByCurrency", money(v.net_liq)),
        ("UnrealizedPnL", money(v.unrealized)),
        ("RealizedPnL", money(acct.realized_today)),
        ("ExchangeRate", "1.00".into()),
        ("FundValue", money(0.0)),
        ("NetDividend", money(0.0)),
        ("MutualFundValue", money(0.0)),
        ("MoneyMarketFundValue", money(0.0)),
        ("CorporateBondValue", money(0.0)),
        ("TBondValue", money(0.0)),
        ("TBillValue", money(0.0)),
        ("WarrantValue", money(0.0)),
        ("FxCashBalance", money(0.0)),
        ("AccountOrGroup", acct.id.clone()),
        ("RealCurrency", "USD".into()),
        ("IssuerOptionValue", money(0.0)),
    ]
}

/// reqAccountUpdates key/value/currency triples.
pub fn account_values(acct: &Account, v: &Valuation) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    let push = |out: &mut Vec<(String, String, String)>, k: &str, val: String, c: &str| {
        out.push((k.to_string(), val, c.to_string()));
    };
    push(&mut out, "AccountCode", acct.id.clone(), "");
    push(&mut out, "AccountReady", "true".into(), "");
    push(&mut out, "AccountType", "INDIVIDUAL".into(), "");
    push(&mut out, "Currency", "USD".into(), "USD");
    push(&mut out, "Currency", "USD".into(), "BASE");
    for tag in ALL_TAGS {
        if *tag == "AccountType" {
            continue;
        }
        if let Some((val, ccy)) = summary_tag(acct, v, tag) {
            push(&mut out, tag, val.clone(), ccy);
            if ccy == "USD" && !tag.starts_with("LookAhead") {
                push(&mut out, &format!("{tag}-S"), val, ccy);
            }
        }
    }
    for (k, val) in ledger_rows(acct, v) {
        if k == "AccountOrGroup" || k == "RealCurrency" {
            push(&mut out, k, val.clone(), "USD");
            push(
                &mut out,
                k,
                if k == "RealCurrency" {
                    "BASE".into()
                } else {
                    val
                },
                "BASE",
            );
        } else {
            push(&mut out, k, val.clone(), "USD");
            push(&mut out, k, val, "BASE");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::clock;
    use crate::world::config::WorldConfig;

    fn uni() -> Universe {
        Universe::build(&WorldConfig::default(), clock::days_from_civil(2026, 1, 5))
    }

    #[test]
    fn commissions() {
        assert_eq!(commission(AssetKind::Stock, 100.0, 50.0, 1.0), 1.0);
        assert_eq!(commission(AssetKind::Stock, 1000.0, 50.0, 1.0), 5.0);
        // 1% cap: 1000 shares at $0.30 = $300 value -> cap $3 (< $5).
        assert_eq!(commission(AssetKind::Stock, 1000.0, 0.30, 1.0), 3.0);
        assert_eq!(commission(AssetKind::Option, 3.0, 2.0, 100.0), 1.95);
        assert_eq!(commission(AssetKind::Option, 1.0, 2.0, 100.0), 1.0);
        assert_eq!(commission(AssetKind::Future, 2.0, 6000.0, 50.0), 1.7);
    }

    #[test]
    fn fills_avg_cost_realized_and_nlv() {
        let u = uni();
        let aapl = u.by_symbol("AAPL", None).unwrap();
        let mut a = Account::new("DU1", 100_000.0);
        a.apply_fill(&u, aapl, 100.0, 200.0, 1.0);
        let p = &a.positions[&aapl];
        assert!((p.avg_cost - 200.01).abs() < 1e-9);
        assert!((a.cash - (100_000.0 - 20_001.0)).abs() < 1e-9);
        a.apply_fill(&u, aapl, 100.0, 210.0, 1.0);
        assert!((a.positions[&aapl].avg_cost - 205.01).abs() < 1e-9);
        let r = a.apply_fill(&u, aapl, -50.0, 220.0, 1.0);
        let exp = 50.0 * (220.0 - 205.01) - 1.0;
        assert!((r.realized.unwrap() - exp).abs() < 1e-9);
        let v = a.valuation(&u, |_| (230.0, 225.0, 0.0));
        // NetLiq = cash + market value.
        assert!((v.net_liq - (a.cash + 150.0 * 230.0)).abs() < 1e-6);
        assert!((v.unrealized - 150.0 * (230.0 - 205.01)).abs() < 1e-6);
        // Daily PnL with no start position: value now minus cash spent today.
        let spent = 100.0 * 200.0 + 100.0 * 210.0 - 50.0 * 220.0;
        assert!((v.daily_pnl - (150.0 * 230.0 - spent)).abs() < 1e-6);
        a.roll_day(v.net_liq);
        let v2 = a.valuation(&u, |_| (232.0, 230.0, 0.0));
        assert!((v2.daily_pnl - 150.0 * 2.0).abs() < 1e-6);
    }

    #[test]
    fn futures_only_pnl_in_nlv() {
        let u = uni();
        let es = u.by_symbol("ES", Some("FUT")).unwrap();
        let mut a = Account::new("DU1", 100_000.0);
        a.apply_fill(&u, es, 1.0, 6000.0, 0.85);
        let v = a.valuation(&u, |_| (6010.0, 6000.0, 0.0));
        assert!((v.net_liq - (100_000.0 + 10.0 * 50.0 - 0.85)).abs() < 1e-6);
        let r = a.apply_fill(&u, es, -1.0, 6010.0, 0.85);
        assert!((r.realized.unwrap() - (500.0 - 0.85 - 0.85)).abs() < 1e-6);
        assert!((a.cash - (100_000.0 + 500.0 - 1.7)).abs() < 1e-6);
    }

    #[test]
    fn summary_consistency() {
        let u = uni();
        let spy = u.by_symbol("SPY", None).unwrap();
        let mut a = Account::new("DU1", 50_000.0);
        a.apply_fill(&u, spy, 100.0, 600.0, 1.0);
        let v = a.valuation(&u, |_| (610.0, 600.0, 0.0));
        let get = |t: &str| summary_tag(&a, &v, t).unwrap().0.parse::<f64>().unwrap();
        let nlv = get("NetLiquidation");
        assert!((nlv - (get("TotalCashValue") + get("GrossPositionValue"))).abs() < 0.02);
        assert!(
            (get("AvailableFunds") - (get("EquityWithLoanValue") - get("InitMarginReq"))).abs()
                < 0.02
        );
        assert!((get("BuyingPower") - 4.0 * get("AvailableFunds")).abs() < 0.05);
        for t in ALL_TAGS {
            assert!(summary_tag(&a, &v, t).is_some(), "{t}");
        }
    }
}
