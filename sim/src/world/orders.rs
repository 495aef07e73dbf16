//! Order records and the matching rules (pure parts; messaging lives in `trading.rs`).

use std::collections::{BTreeMap, BTreeSet};

use super::instruments;
use super::market::Quote;
use crate::api::{ClientId, CommissionReport, Contract, Execution, Order, OrderId};

/// Lifecycle state of a simulated order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Status {
    /// transmit=false: held until a later order of its group transmits it (reported PreSubmitted).
    Held,
    /// Accepted, waiting (bracket child before its parent fills, untriggered stop...).
    PreSubmitted,
    /// Working at the (simulated) exchange.
    Submitted,
    Filled,
    Cancelled,
    /// Rejected or expired in a way TWS reports as Inactive.
    Inactive,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Held | Status::PreSubmitted => "PreSubmitted",
            Status::Submitted => "Submitted",
            Status::Filled => "Filled",
            Status::Cancelled => "Cancelled",
            Status::Inactive => "Inactive",
        }
    }
    pub fn is_active(self) -> bool {
        matches!(
            self,
            Status::Held | Status::PreSubmitted | Status::Submitted
        )
    }
}

/// Supported order types (normalised names).
pub const ORDER_TYPES: &[&str] = &[
    "MKT",
    "LMT",
    "STP",
    "STP LMT",
    "TRAIL",
    "TRAIL LIMIT",
    "MOC",
    "LOC",
    "MIT",
    "LIT",
    "REL",
];

/// Normalise an order type ("STPLMT" -> "STP LMT"); `None` when unsupported.
pub fn normalize_type(t: &str) -> Option<&'static str> {
    let u = t.trim().to_ascii_uppercase();
    let u = match u.as_str() {
        "STPLMT" | "STOP LIMIT" => "STP LMT",
        "TRAILLMT" | "TRAIL LMT" | "TRAILLIMIT" => "TRAIL LIMIT",
        "STOP" => "STP",
        "LIMIT" => "LMT",
        "MARKET" => "MKT",
        other => other,
    }
    .to_string();
    ORDER_TYPES.iter().copied().find(|x| *x == u)
}

/// One order.
#[derive(Debug, Clone)]
pub struct SimOrder {
    pub client_id: ClientId,
    pub order_id: OrderId,
    pub perm_id: i64,
    pub inst: usize,
    /// Combo (BAG) legs: (instrument, signed ratio: + bought / - sold when the combo is bought).
    /// Empty for single-instrument orders; `inst` is then the first leg.
    pub legs: Vec<(usize, f64)>,
    /// Fully resolved contract (echoed in openOrder/execDetails).
    pub contract: Contract,
    /// The order as the client sent it, with ids/account filled in.
    pub order: Order,
    /// Normalised order type.
    pub otype: &'static str,
    pub status: Status,
    pub filled: f64,
    pub avg_fill: f64,
    pub last_fill: f64,
    pub commission: f64,
    /// Stop / touch condition met.
    pub triggered: bool,
    /// Best price seen since activation (trailing stops).
    pub trail_extreme: Option<f64>,
    /// TRAIL LIMIT: the limit price fixed when the stop triggered.
    pub stop_limit: Option<f64>,
    /// REL: since when the order has been resting at its peg.
    pub rel_since: Option<i64>,
    pub created_ms: i64,
    pub completed_ms: Option<i64>,
    pub completed_status: String,
    /// Status last reported to clients (to avoid duplicate reports).
    pub reported: Option<(&'static str, f64)>,
}

impl SimOrder {
    /// Status as TWS reports it: IB-simulated conditional orders (stops, trailing stops,
    /// if-touched) and close orders show PreSubmitted until triggered / the auction.
    pub fn status_str(&self) -> &'static str {
        if self.status == Status::Submitted
            && !self.triggered
            && matches!(
                self.otype,
                "STP" | "STP LMT" | "TRAIL" | "TRAIL LIMIT" | "MIT" | "LIT" | "MOC" | "LOC"
            )
        {
            "PreSubmitted"
        } else {
            self.status.as_str()
        }
    }

    pub fn is_buy(&self) -> bool {
        self.order.action.eq_ignore_ascii_case("BUY")
    }
    pub fn remaining(&self) -> f64 {
        (self.order.total_quantity - self.filled).max(0.0)
    }
    pub fn key(&self) -> (ClientId, OrderId) {
        (self.client_id, self.order_id)
    }

    /// Current stop price of a trailing stop, updating the extreme with `last`.
    fn trail_stop(&mut self, last: f64, rule: i32) -> Option<f64> {
        let buy = self.is_buy();
        let ext = match self.trail_extreme {
            None => {
                // Initial stop given explicitly: derive the extreme from it.
                let init = match (self.order.trail_stop_price, self.order.aux_price) {
                    (Some(sp), Some(amt)) if sp > 0.0 => {
                        if buy {
                            sp - amt
                        } else {
                            sp + amt
                        }
                    }
                    _ => last,
                };
                if buy { init.min(last) } else { init.max(last) }
            }
            Some(e) => {
                if buy {
                    e.min(last)
                } else {
                    e.max(last)
                }
            }
        };
        self.trail_extreme = Some(ext);
        let stop = if let Some(pct) = self.order.trailing_percent.filter(|p| *p > 0.0) {
            if buy {
                ext * (1.0 + pct / 100.0)
            } else {
                ext * (1.0 - pct / 100.0)
            }
        } else {
            let amt = self.order.aux_price?;
            if buy { ext + amt } else { ext - amt }
        };
        let stop = instruments::round_to_rule(rule, stop);
        self.order.trail_stop_price = Some(stop);
        Some(stop)
    }

    /// Whether the order executes against `q` now, and at what price. Updates trigger state.
    /// MOC/LOC never match here (they fill at the close).
    pub fn check(&mut self, q: &Quote, rule: i32) -> Option<f64> {
        let buy = self.is_buy();
        let market = if buy { q.ask } else { q.bid };
        let limit = |lmt: Option<f64>| -> Option<f64> {
            let l = lmt?;
            if buy && q.ask <= l + 1e-9 {
                Some(q.ask)
            } else if !buy && q.bid >= l - 1e-9 {
                Some(q.bid)
            } else {
                None
            }
        };
        match self.otype {
            "MKT" => Some(market),
            "LMT" => limit(self.order.lmt_price),
            "STP" | "STP LMT" => {
                if !self.triggered {
                    let stop = self.order.aux_price?;
                    self.triggered = if buy { q.last >= stop } else { q.last <= stop };
                }
                if !self.triggered {
                    None
                } else if self.otype == "STP" {
                    Some(market)
                } else {
                    limit(self.order.lmt_price)
                }
            }
            "MIT" | "LIT" => {
                if !self.triggered {
                    let px = self.order.aux_price?;
                    self.triggered = if buy { q.last <= px } else { q.last >= px };
                }
                if !self.triggered {
                    None
                } else if self.otype == "MIT" {
                    Some(market)
                } else {
                    limit(self.order.lmt_price)
                }
            }
            "TRAIL" => {
                if !self.triggered {
                    let stop = self.trail_stop(q.last, rule)?;
                    self.triggered = if buy { q.last >= stop } else { q.last <= stop };
                }
                self.triggered.then_some(market)
            }
            "TRAIL LIMIT" => {
                if !self.triggered {
                    let stop = self.trail_stop(q.last, rule)?;
                    self.triggered = if buy { q.last >= stop } else { q.last <= stop };
                    if self.triggered {
                        // lmt_price is the limit offset from the stop (lmtPriceOffset).
                        let off = self.order.lmt_price.unwrap_or(0.0).abs();
                        let l = if buy { stop + off } else { stop - off };
                        self.stop_limit = Some(instruments::round_to_rule(rule, l));
                    }
                }
                if self.triggered {
                    limit(self.stop_limit)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// [`SimOrder::check`] plus time-dependent types: a REL order rests at its peg (bid + offset
    /// for a buy, ask - offset for a sell, capped by its limit) and is filled there after two
    /// simulated seconds, or at once when the market crosses it.
    pub fn check_at(&mut self, q: &Quote, rule: i32, now: i64) -> Option<f64> {
        if self.otype != "REL" {
            return self.check(q, rule);
        }
        let buy = self.is_buy();
        let off = self.order.aux_price.unwrap_or(0.0).abs();
        let mut peg = if buy { q.bid + off } else { q.ask - off };
        if let Some(cap) = self.order.lmt_price {
            peg = if buy { peg.min(cap) } else { peg.max(cap) };
        }
        let peg = instruments::round_to_rule(rule, peg);
        if (buy && q.ask <= peg) || (!buy && q.bid >= peg) {
            return Some(if buy { q.ask } else { q.bid });
        }
        let since = *self.rel_since.get_or_insert(now);
        (now - since >= 2_000).then_some(peg)
    }

    /// Fill price at the close for MOC/LOC given the closing price.
    pub fn close_price(&self, close: f64) -> Option<f64> {
        match self.otype {
            "MOC" => Some(close),
            "LOC" => {
                let l = self.order.lmt_price?;
                let ok = if self.is_buy() {
                    close <= l + 1e-9
                } else {
                    close >= l - 1e-9
                };
                ok.then_some(close)
            }
            _ => None,
        }
    }
}

/// A stored execution with its commission report.
#[derive(Debug, Clone)]
pub struct ExecRecord {
    pub inst: usize,
    pub contract: Contract,
    pub execution: Execution,
    pub report: CommissionReport,
}

/// All orders and executions.
#[derive(Debug, Clone)]
pub struct OrderBook {
    pub orders: BTreeMap<(ClientId, OrderId), SimOrder>,
    /// Keys of active (held / pre-submitted / submitted) orders.
    pub active: BTreeSet<(ClientId, OrderId)>,
    pub executions: Vec<ExecRecord>,
    next_perm: i64,
    exec_seq: u64,
    exec_prefix: u32,
}

impl OrderBook {
    pub fn new(seed: u64) -> Self {
        Self {
            orders: BTreeMap::new(),
            active: BTreeSet::new(),
            executions: Vec::new(),
            next_perm: 1_000_000_000 + (seed % 100_000) as i64 * 1000,
            exec_seq: 0,
            exec_prefix: (super::market::mix64(seed) as u32) | 0x1000_0000,
        }
    }

    pub fn next_perm_id(&mut self) -> i64 {
        self.next_perm += 1;
        self.next_perm
    }

    /// A unique execution id like TWS's "0000e0d5.6553d3a1.01.01".
    pub fn next_exec_id(&mut self, t_ms: i64) -> String {
        self.exec_seq += 1;
        format!(
            "{:08x}.{:08x}.{:02x}.01",
            self.exec_prefix,
            ((t_ms / 1000) as u32).wrapping_add(self.exec_seq as u32),
            (self.exec_seq % 250) + 1
        )
    }

    /// Record the (possibly changed) status of an order in the active set.
    pub fn sync(&mut self, key: (ClientId, OrderId)) {
        match self.orders.get(&key) {
            Some(o) if o.status.is_active() => {
                self.active.insert(key);
            }
            _ => {
                self.active.remove(&key);
            }
        }
    }

    /// Active orders.
    pub fn active_orders(&self) -> impl Iterator<Item = &SimOrder> {
        self.active.iter().filter_map(|k| self.orders.get(k))
    }

    /// Find an order by id, preferring the given client's.
    pub fn find(&self, client_id: ClientId, order_id: OrderId) -> Option<(ClientId, OrderId)> {
        if self.orders.contains_key(&(client_id, order_id)) {
            return Some((client_id, order_id));
        }
        None
    }

    /// Active orders of an OCA group in an account (excluding `except`).
    pub fn oca_peers(
        &self,
        account: &str,
        group: &str,
        except: (ClientId, OrderId),
    ) -> Vec<(ClientId, OrderId)> {
        if group.is_empty() {
            return Vec::new();
        }
        self.active_orders()
            .filter(|o| {
                o.key() != except
                    && o.status.is_active()
                    && o.order.oca_group == group
                    && o.order.account == account
            })
            .map(|o| o.key())
            .collect()
    }

    /// Active children of a parent order (same client).
    pub fn children(&self, parent: (ClientId, OrderId)) -> Vec<(ClientId, OrderId)> {
        self.active_orders()
            .filter(|o| o.client_id == parent.0 && o.order.parent_id == parent.1 && parent.1 != 0)
            .map(|o| o.key())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mk(action: &str, otype: &str, lmt: Option<f64>, aux: Option<f64>) -> SimOrder {
        SimOrder {
            client_id: 1,
            order_id: 1,
            perm_id: 1,
            inst: 0,
            legs: Vec::new(),
            contract: Contract::default(),
            order: Order {
                action: action.into(),
                total_quantity: 100.0,
                order_type: otype.into(),
                lmt_price: lmt,
                aux_price: aux,
                ..Default::default()
            },
            otype: normalize_type(otype).unwrap(),
            status: Status::Submitted,
            filled: 0.0,
            avg_fill: 0.0,
            last_fill: 0.0,
            commission: 0.0,
            triggered: false,
            trail_extreme: None,
            stop_limit: None,
            rel_since: None,
            created_ms: 0,
            completed_ms: None,
            completed_status: String::new(),
            reported: None,
        }
    }

    fn q(bid: f64, ask: f64) -> Quote {
        Quote {
            mid: (bid + ask) / 2.0,
            bid,
            ask,
            last: ((bid + ask) / 2.0 * 100.0).round() / 100.0,
        }
    }

    const R: i32 = instruments::RULE_STK;

    #[test]
    fn market_and_limit() {
        assert_eq!(
            mk("BUY", "MKT", None, None).check(&q(99.99, 100.01), R),
            Some(100.01)
        );
        assert_eq!(
            mk("SELL", "MKT", None, None).check(&q(99.99, 100.01), R),
            Some(99.99)
        );
        let mut l = mk("BUY", "LMT", Some(100.0), None);
        assert_eq!(l.check(&q(99.99, 100.01), R), None);
        assert_eq!(l.check(&q(99.97, 99.99), R), Some(99.99));
        let mut s = mk("SELL", "LMT", Some(100.0), None);
        assert_eq!(s.check(&q(99.99, 100.01), R), None);
        assert_eq!(s.check(&q(100.02, 100.04), R), Some(100.02));
    }

    #[test]
    fn stops() {
        let mut s = mk("SELL", "STP", None, Some(95.0));
        assert_eq!(s.check(&q(99.0, 99.02), R), None);
        assert_eq!(s.check(&q(94.9, 94.92), R), Some(94.9));
        let mut b = mk("BUY", "STP LMT", Some(105.5), Some(105.0));
        assert_eq!(b.check(&q(104.0, 104.02), R), None);
        assert_eq!(b.check(&q(105.9, 106.0), R), None); // triggered, limit not reached
        assert!(b.triggered);
        assert_eq!(b.check(&q(105.3, 105.4), R), Some(105.4));
    }

    #[test]
    fn trailing_stop_follows_the_high() {
        let mut t = mk("SELL", "TRAIL", None, Some(2.0));
        assert_eq!(t.check(&q(99.99, 100.01), R), None);
        assert_eq!(t.order.trail_stop_price, Some(98.0));
        assert_eq!(t.check(&q(104.99, 105.01), R), None);
        assert_eq!(t.order.trail_stop_price, Some(103.0));
        assert_eq!(t.check(&q(103.5, 103.52), R), None); // falls but above stop
        assert_eq!(t.order.trail_stop_price, Some(103.0));
        assert_eq!(t.check(&q(102.9, 102.92), R), Some(102.9));
        let mut p = mk("BUY", "TRAIL", None, None);
        p.order.trailing_percent = Some(1.0);
        assert_eq!(p.check(&q(99.99, 100.01), R), None);
        assert_eq!(p.order.trail_stop_price, Some(101.0));
        assert_eq!(p.check(&q(101.1, 101.12), R), Some(101.12));
    }

    #[test]
    fn trail_limit_and_rel() {
        let mut t = mk("SELL", "TRAIL LIMIT", Some(0.5), Some(2.0));
        assert_eq!(t.check(&q(99.99, 100.01), R), None);
        // Stop 98.00 triggers; limit 97.50 <= bid: fills at the bid.
        assert_eq!(t.check(&q(97.9, 97.92), R), Some(97.9));
        assert!(t.triggered);
        assert_eq!(t.stop_limit, Some(97.5));
        let mut t2 = mk("SELL", "TRAIL LIMIT", Some(0.5), Some(2.0));
        assert_eq!(t2.check(&q(99.99, 100.01), R), None);
        assert_eq!(t2.check(&q(96.0, 96.02), R), None); // gapped through the limit
        assert_eq!(t2.check(&q(97.6, 97.62), R), Some(97.6));
        let mut r = mk("BUY", "REL", Some(100.5), Some(0.01));
        assert_eq!(r.check_at(&q(99.99, 100.01), R, 1_000), None);
        assert_eq!(r.check_at(&q(99.99, 100.01), R, 2_500), None);
        assert_eq!(r.check_at(&q(99.99, 100.01), R, 3_000), Some(100.0));
    }

    #[test]
    fn close_orders() {
        let moc = mk("BUY", "MOC", None, None);
        assert_eq!(moc.close_price(50.0), Some(50.0));
        let loc = mk("BUY", "LOC", Some(49.0), None);
        assert_eq!(loc.close_price(50.0), None);
        assert_eq!(loc.close_price(48.5), Some(48.5));
        assert_eq!(normalize_type("stplmt"), Some("STP LMT"));
        assert_eq!(normalize_type("VWAP"), None);
        assert_eq!(normalize_type("TRAILLMT"), Some("TRAIL LIMIT"));
    }

    #[test]
    fn exec_ids_unique() {
        let mut b = OrderBook::new(1);
        let ids: std::collections::HashSet<String> = (0..1000)
            .map(|_| b.next_exec_id(1_700_000_000_000))
            .collect();
        assert_eq!(ids.len(), 1000);
    }
}
