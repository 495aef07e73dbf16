//! Order handling: placement, validation, modification, cancellation, matching, fills,
//! brackets / OCA, what-if, open/completed orders and executions.

use std::collections::HashMap;

use super::World;
use super::accounts::{commission, margin_of};
use super::clock::{self, DAY_MS};
use super::instruments::{self, AssetKind};
use super::market::Quote;
use super::orders::{self, SimOrder, Status};
use crate::api::{
    ClientId, CommissionReport, Contract, Execution, ExecutionFilter, Order, OrderId, OrderState,
    ReqId, Response,
};

type Key = (ClientId, OrderId);

fn is_day_tif(tif: &str) -> bool {
    matches!(tif, "DAY" | "OPG" | "IOC" | "FOK")
}

impl World {
    pub(super) fn place_order(
        &mut self,
        client: ClientId,
        order_id: OrderId,
        contract: Contract,
        mut order: Order,
        now: i64,
    ) {
        if order_id <= 0 {
            self.error(
                client,
                order_id,
                201,
                &format!("Order rejected - reason:Invalid order id {order_id}"),
            );
            return;
        }
        let is_combo = contract.sec_type.trim().eq_ignore_ascii_case("BAG");
        let (idx, legs) = if is_combo {
            match self.resolve_combo(&contract) {
                Ok(l) => (l[0].0, l),
                Err((code, msg)) => {
                    self.error(client, order_id, code, &msg);
                    return;
                }
            }
        } else {
            match self.uni.resolve(&contract) {
                Ok(i) => (i, Vec::new()),
                Err(msg) => {
                    self.error(client, order_id, 200, &msg);
                    return;
                }
            }
        };
        let key = (client, order_id);
        if !order.what_if
            && let Some(existing) = self.book.orders.get(&key)
        {
            let st = existing.status;
            if st.is_active() {
                self.modify_order(key, idx, order, now);
            } else if st == Status::Filled {
                self.error(client, order_id, 104, "Can't modify a filled order.");
            } else {
                self.error(client, order_id, 103, "Duplicate order id");
            }
            return;
        }
        // Validation.
        let action = order.action.trim().to_ascii_uppercase();
        let action = match action.as_str() {
            "BUY" => "BUY",
            "SELL" | "SSHORT" | "SLONG" => "SELL",
            _ => {
                self.error(
                    client,
                    order_id,
                    201,
                    &format!("Order rejected - reason:Invalid side '{}'", order.action),
                );
                return;
            }
        };
        order.action = action.into();
        if !order.total_quantity.is_finite() || order.total_quantity <= 0.0 {
            self.error(
                client,
                order_id,
                201,
                "Order rejected - reason:The order size cannot be zero.",
            );
            return;
        }
        let Some(otype) = orders::normalize_type(&order.order_type) else {
            self.error(
                client,
                order_id,
                387,
                "Unsupported order type for this exchange and security type.",
            );
            return;
        };
        let inst = self.uni.get(idx);
        if !is_combo && inst.kind == AssetKind::Index {
            self.error(
                client,
                order_id,
                201,
                "Order rejected - reason:Indices are not tradable.",
            );
            return;
        }
        if matches!(otype, "MOC" | "LOC")
            && (is_combo || !matches!(inst.kind, AssetKind::Stock | AssetKind::Etf))
        {
            self.error(
                client,
                order_id,
                387,
                "Unsupported order type for this exchange and security type.",
            );
            return;
        }
        if let Err((code, msg)) = self.validate_prices((!is_combo).then_some(idx), otype, &order) {
            self.error(client, order_id, code, &msg);
            return;
        }
        order.order_type = otype.into();
        let tif = order.tif.trim().to_ascii_uppercase();
        order.tif = match tif.as_str() {
            "" => "DAY".into(),
            "DAY" | "GTC" | "IOC" | "GTD" | "OPG" | "FOK" | "DTC" => tif,
            _ => {
                self.error(
                    client,
                    order_id,
                    201,
                    &format!(
                        "Order rejected - reason:Invalid time in force '{}'",
                        order.tif
                    ),
                );
                return;
            }
        };
        if matches!(otype, "MOC" | "LOC") && order.tif != "DAY" {
            self.error(
                client,
                order_id,
                113,
                "The Tif option should be set to DAY for MOC and LOC orders.",
            );
            return;
        }
        let Some(ai) = self.acct_idx(&order.account) else {
            self.error(
                client,
                order_id,
                201,
                &format!(
                    "Order rejected - reason:Invalid account code '{}'",
                    order.account
                ),
            );
            return;
        };
        order.account = self.accounts[ai].id.clone();
        order.client_id = client;
        order.order_id = order_id;
        let signed = if action == "BUY" {
            order.total_quantity
        } else {
            -order.total_quantity
        };
        let trade: Vec<(usize, f64)> = if legs.is_empty() {
            vec![(idx, signed)]
        } else {
            legs.iter().map(|&(li, r)| (li, r * signed)).collect()
        };
        let stored_contract = if is_combo {
            let mut c = contract.clone();
            c.sec_type = "BAG".into();
            if c.exchange.trim().is_empty() {
                c.exchange = "SMART".into();
            }
            if c.currency.trim().is_empty() {
                c.currency = "USD".into();
            }
            c
        } else {
            self.uni.get(idx).contract().clone()
        };
        if order.what_if {
            self.send_what_if(client, ai, &trade, stored_contract, order, now);
            return;
        }
        // Buying power.
        let eff = self.trade_effect(ai, &trade, order.lmt_price, now);
        let (init_before, init_after, ewl) = (eff.im0, eff.im1, eff.ewl_after);
        let worsens = init_after > init_before || eff.ewl_after < eff.ewl0 - eff.comm - 1e-9;
        if worsens && init_after > ewl {
            self.error(
                client,
                order_id,
                201,
                &format!(
                    "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED POSITION YOUR EQUITY WITH LOAN VALUE [{ewl:.2} USD] MUST EXCEED THE INITIAL MARGIN [{init_after:.2} USD]"
                ),
            );
            return;
        }
        if order.parent_id != 0 && !self.book.orders.contains_key(&(client, order.parent_id)) {
            self.error(
                client,
                order_id,
                201,
                &format!(
                    "Order rejected - reason:Parent order {} not found",
                    order.parent_id
                ),
            );
            return;
        }
        let perm_id = self.book.next_perm_id();
        order.perm_id = perm_id;
        let transmit = order.transmit;
        let parent_id = order.parent_id;
        let sim = SimOrder {
            client_id: client,
            order_id,
            perm_id,
            inst: idx,
            legs,
            contract: stored_contract,
            order,
            otype,
            status: Status::Held,
            filled: 0.0,
            avg_fill: 0.0,
            last_fill: 0.0,
            commission: 0.0,
            triggered: false,
            trail_extreme: None,
            stop_limit: None,
            rel_since: None,
            created_ms: now,
            completed_ms: None,
            completed_status: String::new(),
            reported: None,
        };
        self.book.orders.insert(key, sim);
        self.book.sync(key);
        // nextValidId stays below ibapi's request-id range (1.5e9).
        if order_id >= self.next_order_id && order_id < 1_000_000_000 {
            self.next_order_id = order_id + 1;
        }
        if !transmit {
            self.report(key);
            return;
        }
        // Transmit: the whole group if this is the last child of a held parent.
        if parent_id != 0 {
            let pkey = (client, parent_id);
            if self
                .book
                .orders
                .get(&pkey)
                .is_some_and(|p| p.status == Status::Held)
            {
                self.activate(pkey, now);
                for ck in self.book.children(pkey) {
                    if self
                        .book
                        .orders
                        .get(&ck)
                        .is_some_and(|c| c.status == Status::Held)
                        && ck != key
                    {
                        self.activate(ck, now);
                    }
                }
            }
        }
        self.activate(key, now);
    }

    /// Price checks; `idx` None = a combo (0.01 increments, negative prices allowed).
    fn validate_prices(
        &self,
        idx: Option<usize>,
        otype: &str,
        o: &Order,
    ) -> Result<(), (i32, String)> {
        let rule = idx.map_or(instruments::RULE_IND, |i| self.uni.get(i).market_rule());
        let needs_lmt = matches!(otype, "LMT" | "STP LMT" | "LOC" | "LIT");
        let needs_aux = matches!(otype, "STP" | "STP LMT" | "MIT" | "LIT");
        let bad = |f: &str| (201, format!("Order rejected - reason:{f}"));
        if needs_lmt && o.lmt_price.is_none_or(|p| !p.is_finite()) {
            return Err(bad("A limit price is required for this order type."));
        }
        if needs_aux && o.aux_price.is_none_or(|p| !p.is_finite()) {
            return Err(bad("A stop/trigger price is required for this order type."));
        }
        if matches!(otype, "TRAIL" | "TRAIL LIMIT")
            && o.aux_price.is_none_or(|p| p.is_nan() || p <= 0.0)
            && o.trailing_percent.is_none_or(|p| p.is_nan() || p <= 0.0)
        {
            return Err(bad(
                "A trailing amount or trailing percent is required for TRAIL orders.",
            ));
        }
        let mvar = (
            110,
            "The price does not conform to the minimum price variation for this contract."
                .to_string(),
        );
        if needs_lmt && !instruments::conforms(rule, o.lmt_price.unwrap_or(0.0)) {
            return Err(mvar);
        }
        if (needs_aux || (matches!(otype, "TRAIL" | "TRAIL LIMIT") && o.trailing_percent.is_none()))
            && !instruments::conforms(rule, o.aux_price.unwrap_or(0.0))
        {
            return Err(mvar);
        }
        Ok(())
    }

    /// Resolve the legs of a combo (BAG) contract.
    fn resolve_combo(&self, c: &Contract) -> Result<Vec<(usize, f64)>, (i32, String)> {
        if c.combo_legs.is_empty() {
            return Err((
                314,
                "Security type 'BAG' requires combo leg details.".into(),
            ));
        }
        let mut legs = Vec::new();
        for (n, l) in c.combo_legs.iter().enumerate() {
            let Some(i) = self.uni.by_con_id(l.con_id) else {
                return Err((
                    200,
                    "No security definition has been found for the request".into(),
                ));
            };
            let sign = match l.action.trim().to_ascii_uppercase().as_str() {
                "BUY" => 1.0,
                "SELL" | "SSHORT" => -1.0,
                _ => 0.0,
            };
            if sign == 0.0 || l.ratio <= 0 || self.uni.get(i).kind == AssetKind::Index {
                return Err((
                    313,
                    format!("The combo details for leg '{}' are invalid.", n + 1),
                ));
            }
            legs.push((i, sign * l.ratio as f64));
        }
        Ok(legs)
    }

    /// Synthetic quote of a combo: bought legs at bid/ask, sold legs at ask/bid.
    fn combo_quote(&mut self, legs: &[(usize, f64)], t: i64) -> Quote {
        let (mut bid, mut ask, mut mid) = (0.0, 0.0, 0.0);
        for &(li, r) in legs {
            let q = self.mkt.quote(&self.uni, li, t);
            if r > 0.0 {
                bid += r * q.bid;
                ask += r * q.ask;
            } else {
                bid += r * q.ask;
                ask += r * q.bid;
            }
            mid += r * q.mid;
        }
        let c = |v: f64| (v * 100.0).round() / 100.0;
        Quote {
            mid,
            bid: c(bid),
            ask: c(ask),
            last: c(mid).clamp(c(bid), c(ask)),
        }
    }

    /// Margin and equity effect of a trade (signed quantities per instrument).
    fn trade_effect(
        &mut self,
        ai: usize,
        trade: &[(usize, f64)],
        _lmt: Option<f64>,
        now: i64,
    ) -> TradeEffect {
        let v = self.valuation(ai, now);
        let mut e = TradeEffect {
            im0: v.init_margin,
            mm0: v.maint_margin,
            im1: v.init_margin,
            mm1: v.maint_margin,
            comm: 0.0,
            ewl0: v.equity_with_loan(),
            ewl_after: v.equity_with_loan(),
        };
        for &(idx, signed) in trade {
            let inst = self.uni.get(idx);
            let (kind, mult) = (inst.kind, inst.multiplier);
            let q = self.mkt.quote(&self.uni, idx, now);
            let und = match inst.option {
                Some(o) => self.mkt.mid(&self.uni, o.underlying, now),
                None => 0.0,
            };
            let cur = self.accounts[ai].positions.get(&idx).map_or(0.0, |p| p.qty);
            let (im0, mm0) = margin_of(kind, cur, q.last, mult, und);
            let (im1, mm1) = margin_of(kind, cur + signed, q.last, mult, und);
            e.im1 += im1 - im0;
            e.mm1 += mm1 - mm0;
            let px = if signed > 0.0 { q.ask } else { q.bid };
            let comm = commission(kind, signed, px, mult);
            e.comm += comm;
            // Long options are paid in full: the premium leaves the equity with loan value.
            let premium = if kind == AssetKind::Option {
                signed * px * mult
            } else {
                0.0
            };
            e.ewl_after -= comm + premium.max(0.0);
        }
        e
    }

    fn send_what_if(
        &mut self,
        client: ClientId,
        ai: usize,
        trade: &[(usize, f64)],
        contract: Contract,
        mut order: Order,
        now: i64,
    ) {
        let e = self.trade_effect(ai, trade, order.lmt_price, now);
        let comm = round2(e.comm);
        let state = OrderState {
            status: "PreSubmitted".into(),
            init_margin_before: Some(round2(e.im0)),
            maint_margin_before: Some(round2(e.mm0)),
            equity_with_loan_before: Some(round2(e.ewl0)),
            init_margin_change: Some(round2(e.im1 - e.im0)),
            maint_margin_change: Some(round2(e.mm1 - e.mm0)),
            equity_with_loan_change: Some(round2(-comm)),
            init_margin_after: Some(round2(e.im1)),
            maint_margin_after: Some(round2(e.mm1)),
            equity_with_loan_after: Some(round2(e.ewl0 - comm)),
            commission: Some(comm),
            min_commission: Some(comm),
            max_commission: Some(comm),
            commission_currency: "USD".into(),
            ..Default::default()
        };
        order.what_if = true;
        self.send(
            client,
            Response::OpenOrder {
                order_id: order.order_id,
                contract,
                order,
                state,
            },
        );
    }

    fn modify_order(&mut self, key: Key, idx: usize, new: Order, now: i64) {
        let (client, order_id) = key;
        let o = self.book.orders.get(&key).expect("order").clone();
        let action = match new.action.trim().to_ascii_uppercase().as_str() {
            "BUY" => "BUY",
            "SELL" | "SSHORT" | "SLONG" => "SELL",
            _ => "?",
        };
        if o.inst != idx || action != o.order.action {
            self.error(
                client,
                order_id,
                105,
                "Order being modified does not match original order.",
            );
            return;
        }
        let Some(otype) = orders::normalize_type(&new.order_type) else {
            self.error(
                client,
                order_id,
                387,
                "Unsupported order type for this exchange and security type.",
            );
            return;
        };
        let single = o.legs.is_empty().then_some(idx);
        if let Err((code, msg)) = self.validate_prices(single, otype, &new) {
            self.error(client, order_id, code, &msg);
            return;
        }
        if new.total_quantity < o.filled || new.total_quantity.is_nan() || new.total_quantity <= 0.0
        {
            self.error(
                client,
                order_id,
                201,
                "Order rejected - reason:The order size cannot be less than the filled quantity.",
            );
            return;
        }
        let was_held = o.status == Status::Held;
        {
            let m = self.book.orders.get_mut(&key).expect("order");
            m.order.total_quantity = new.total_quantity;
            m.order.lmt_price = new.lmt_price;
            m.order.aux_price = new.aux_price;
            m.order.trailing_percent = new.trailing_percent;
            if new.trail_stop_price.is_some() {
                m.order.trail_stop_price = new.trail_stop_price;
            }
            if !new.tif.trim().is_empty() {
                m.order.tif = new.tif.trim().to_ascii_uppercase();
            }
            m.order.order_type = otype.into();
            if m.otype != otype {
                m.triggered = false;
                m.trail_extreme = None;
            }
            m.otype = otype;
            m.order.transmit = new.transmit;
            m.order.outside_rth = new.outside_rth;
            m.order.order_ref = new.order_ref.clone();
            m.reported = None;
        }
        if was_held && new.transmit {
            self.activate(key, now);
        } else {
            self.report(key);
            self.try_match(key, now, None);
        }
    }

    /// Transmit an order: PreSubmitted while its parent is unfilled, else Submitted.
    fn activate(&mut self, key: Key, now: i64) {
        let Some(o) = self.book.orders.get(&key) else {
            return;
        };
        let parent = o.order.parent_id;
        let waiting = parent != 0
            && self
                .book
                .orders
                .get(&(key.0, parent))
                .is_some_and(|p| p.status != Status::Filled);
        let o = self.book.orders.get_mut(&key).expect("order");
        o.status = if waiting {
            Status::PreSubmitted
        } else {
            Status::Submitted
        };
        o.order.transmit = true;
        self.book.sync(key);
        self.report(key);
        if !waiting {
            self.try_match(key, now, None);
            let o = &self.book.orders[&key];
            if matches!(o.order.tif.as_str(), "IOC" | "FOK") && o.status.is_active() {
                self.cancel_internal(key, now, false, "IOC: unfilled remainder cancelled");
            }
        }
    }

    /// Send openOrder + orderStatus for an order to its owner (and auto-bound client 0).
    fn report(&mut self, key: Key) {
        let Some(o) = self.book.orders.get_mut(&key) else {
            return;
        };
        let state = (o.status_str(), o.filled);
        if o.reported == Some(state) {
            return;
        }
        o.reported = Some(state);
        let o = o.clone();
        let mut order = o.order.clone();
        order.filled_quantity = o.filled;
        let open = Response::OpenOrder {
            order_id: o.order_id,
            contract: o.contract.clone(),
            order,
            state: OrderState {
                status: o.status_str().into(),
                commission: (o.filled > 0.0).then_some(round2(o.commission)),
                commission_currency: "USD".into(),
                ..Default::default()
            },
        };
        let status = Response::OrderStatus {
            order_id: o.order_id,
            status: o.status_str().into(),
            filled: o.filled,
            remaining: if matches!(o.status, Status::Cancelled | Status::Inactive) {
                0.0
            } else {
                o.remaining()
            },
            avg_fill_price: o.avg_fill,
            perm_id: o.perm_id,
            parent_id: o.order.parent_id,
            last_fill_price: o.last_fill,
            client_id: o.client_id,
            why_held: String::new(),
            mkt_cap_price: 0.0,
        };
        let bound = self.clients.get(&0).is_some_and(|c| c.auto_bind) && o.client_id != 0;
        if !matches!(o.status, Status::Cancelled) {
            self.send(o.client_id, open.clone());
            if bound {
                self.send(0, open);
            }
        }
        self.send(o.client_id, status.clone());
        if bound {
            self.send(0, status);
        }
    }

    /// Try to execute an order now (Submitted, non-close orders only).
    fn try_match(&mut self, key: Key, now: i64, quotes: Option<&mut HashMap<usize, Quote>>) {
        let Some(o) = self.book.orders.get(&key) else {
            return;
        };
        if o.status != Status::Submitted || matches!(o.otype, "MOC" | "LOC") {
            return;
        }
        let idx = o.inst;
        if !o.legs.is_empty() {
            let legs = o.legs.clone();
            if !legs.iter().all(|&(li, _)| self.tradable_now(li, now)) {
                return;
            }
            let q = self.combo_quote(&legs, now);
            let o = self.book.orders.get_mut(&key).expect("order");
            if let Some(px) = o.check_at(&q, instruments::RULE_IND, now) {
                let rem = o.remaining();
                self.execute(key, rem, px, now);
            }
            return;
        }
        if !self.tradable_now(idx, now) {
            return;
        }
        let q = match quotes {
            Some(cache) => *cache
                .entry(idx)
                .or_insert_with(|| self.mkt.quote(&self.uni, idx, now)),
            None => self.mkt.quote(&self.uni, idx, now),
        };
        let rule = self.uni.get(idx).market_rule();
        let o = self.book.orders.get_mut(&key).expect("order");
        let before = o.order.trail_stop_price;
        let was_triggered = o.triggered;
        let px = o.check_at(&q, rule, now);
        if o.triggered && !was_triggered && px.is_none() {
            // Triggered but not executable (stop limit): now working at the exchange.
            self.report(key);
            return;
        }
        let Some(px) = px else {
            let _ = before;
            return;
        };
        let rem = o.remaining();
        // FX trades in large notional amounts: never sliced.
        let fx = self.uni.get(idx).kind == AssetKind::Fx;
        let slice = if !fx && self.cfg.partial_fill_size > 0.0 && rem > self.cfg.partial_fill_size {
            self.cfg.partial_fill_size
        } else {
            rem
        };
        self.execute(key, slice, px, now);
    }

    /// Execute `qty` of an order at `price` (for combos: each leg at its own bid/ask).
    fn execute(&mut self, key: Key, qty: f64, price: f64, now: i64) {
        let o = self.book.orders.get(&key).expect("order").clone();
        let buy = o.is_buy();
        let ai = self.acct_idx(&o.order.account).unwrap_or(0);
        // (instrument, signed quantity, price)
        let fills: Vec<(usize, f64, f64)> = if o.legs.is_empty() {
            vec![(o.inst, if buy { qty } else { -qty }, price)]
        } else {
            o.legs
                .iter()
                .map(|&(li, r)| {
                    let s = if buy { r * qty } else { -r * qty };
                    let q = self.mkt.quote(&self.uni, li, now);
                    (li, s, if s > 0.0 { q.ask } else { q.bid })
                })
                .collect()
        };
        let mut total_comm = 0.0;
        let mut msgs = Vec::new();
        let mut reports = Vec::new();
        for &(idx, signed, px) in &fills {
            let inst = self.uni.get(idx);
            let (kind, mult) = (inst.kind, inst.multiplier);
            let exchange = match kind {
                AssetKind::Stock | AssetKind::Etf => {
                    match inst.contract().primary_exchange.as_str() {
                        "NASDAQ" => "ISLAND".to_string(),
                        "" => "SMART".to_string(),
                        p => p.to_string(),
                    }
                }
                AssetKind::Option => "CBOE".into(),
                _ => inst.contract().exchange.clone(),
            };
            let leg_contract = if o.legs.is_empty() {
                o.contract.clone()
            } else {
                inst.contract().clone()
            };
            let q = signed.abs();
            let comm = commission(kind, q, px, mult);
            total_comm += comm;
            let res = self.accounts[ai].apply_fill(&self.uni, idx, signed, px, comm);
            let exec_id = self.book.next_exec_id(now);
            let ratio = q / qty;
            let execution = Execution {
                order_id: o.order_id,
                client_id: o.client_id,
                exec_id: exec_id.clone(),
                time: now / 1000,
                account: o.order.account.clone(),
                exchange,
                side: if signed > 0.0 { "BOT" } else { "SLD" }.into(),
                shares: q,
                price: px,
                perm_id: o.perm_id,
                liquidation: 0,
                cum_qty: (o.filled + qty) * ratio,
                avg_price: if o.legs.is_empty() {
                    (o.avg_fill * o.filled + px * qty) / (o.filled + qty)
                } else {
                    px
                },
                order_ref: o.order.order_ref.clone(),
                ev_rule: String::new(),
                ev_multiplier: 0.0,
                model_code: String::new(),
                last_liquidity: if o.otype == "LMT" { 1 } else { 2 },
            };
            let report = CommissionReport {
                exec_id,
                commission: comm,
                currency: "USD".into(),
                realized_pnl: res.realized.map(round2),
                yield_: None,
                yield_redemption_date: 0,
            };
            self.book.executions.push(orders::ExecRecord {
                inst: idx,
                contract: leg_contract.clone(),
                execution: execution.clone(),
                report: report.clone(),
            });
            msgs.push(Response::ExecDetails {
                req_id: -1,
                contract: leg_contract,
                execution,
            });
            reports.push(Response::CommissionReport { report });
        }
        let fill_price = if o.legs.is_empty() {
            price
        } else {
            let mut net = 0.0;
            for &(_, s, px) in &fills {
                net += s.signum() * px * (s.abs() / qty);
            }
            round2(if buy { net } else { -net })
        };
        let status = {
            let m = self.book.orders.get_mut(&key).expect("order");
            let new_filled = m.filled + qty;
            m.avg_fill = (m.avg_fill * m.filled + fill_price * qty) / new_filled;
            m.filled = new_filled;
            m.last_fill = fill_price;
            m.commission += total_comm;
            if m.remaining() <= 1e-9 {
                m.status = Status::Filled;
                m.completed_ms = Some(now);
                m.completed_status = format!("Filled Size: {}", fmt_qty(m.filled));
            }
            m.status
        };
        self.book.sync(key);
        for m in msgs {
            self.send(o.client_id, m);
        }
        self.report(key);
        for r in reports {
            self.send(o.client_id, r);
        }
        for &(idx, _, _) in &fills {
            self.push_position_change(ai, idx, now);
        }
        // OCA groups.
        let oca_type = if o.order.oca_type == 0 {
            1
        } else {
            o.order.oca_type
        };
        for peer in self
            .book
            .oca_peers(&o.order.account, &o.order.oca_group, key)
        {
            if oca_type == 1 {
                self.cancel_internal(peer, now, false, "OCA group cancelled");
            } else if let Some(p) = self.book.orders.get_mut(&peer) {
                p.order.total_quantity -= qty;
                if p.order.total_quantity <= p.filled + 1e-9 {
                    self.cancel_internal(peer, now, false, "OCA group reduced to zero");
                } else {
                    p.reported = None;
                    self.report(peer);
                }
            }
        }
        if status == Status::Filled {
            // Bracket: children become active; siblings of a filled child are cancelled.
            for ck in self.book.children(key) {
                if self
                    .book
                    .orders
                    .get(&ck)
                    .is_some_and(|c| c.status == Status::PreSubmitted)
                {
                    self.activate(ck, now);
                }
            }
            if o.order.parent_id != 0 {
                let pkey = (key.0, o.order.parent_id);
                for sib in self.book.children(pkey) {
                    if sib != key
                        && self
                            .book
                            .orders
                            .get(&sib)
                            .is_some_and(|s| s.status.is_active())
                    {
                        self.cancel_internal(sib, now, false, "Bracket sibling filled");
                    }
                }
            }
        }
    }

    /// Cancel an active order (and its active children).
    fn cancel_internal(&mut self, key: Key, now: i64, user: bool, why: &str) {
        let Some(o) = self.book.orders.get_mut(&key) else {
            return;
        };
        if !o.status.is_active() {
            return;
        }
        o.status = Status::Cancelled;
        o.completed_ms = Some(now);
        o.completed_status = why.to_string();
        self.book.sync(key);
        let (client, id) = key;
        self.report(key);
        if user {
            self.error(client, id, 202, "Order Canceled - reason:");
        }
        for ck in self.book.children(key) {
            self.cancel_internal(ck, now, user, "Parent order cancelled");
        }
    }

    pub(super) fn cancel_order(&mut self, client: ClientId, order_id: OrderId, now: i64) {
        let Some(key) = self.book.find(client, order_id) else {
            self.error(
                client,
                order_id,
                10147,
                &format!("OrderId {order_id} that needs to be cancelled is not found."),
            );
            return;
        };
        let o = &self.book.orders[&key];
        if !o.status.is_active() {
            let perm = o.perm_id;
            self.error(
                client,
                order_id,
                161,
                &format!("Cancel attempted when order is not in a cancellable state. Order permId = {perm}"),
            );
            return;
        }
        self.cancel_internal(key, now, true, "Cancelled by Trader");
    }

    pub(super) fn global_cancel(&mut self, now: i64) {
        let keys: Vec<Key> = self
            .book
            .active_orders()
            .filter(|o| o.status.is_active())
            .map(|o| o.key())
            .collect();
        for k in keys {
            self.cancel_internal(k, now, true, "Global cancel");
        }
    }

    pub(super) fn send_open_orders(&mut self, client: ClientId, all: bool) {
        let keys: Vec<Key> = self
            .book
            .active_orders()
            .filter(|o| o.status.is_active() && (all || o.client_id == client || client == 0))
            .map(|o| o.key())
            .collect();
        for k in keys {
            let o = self.book.orders[&k].clone();
            let mut order = o.order.clone();
            order.filled_quantity = o.filled;
            self.send(
                client,
                Response::OpenOrder {
                    order_id: o.order_id,
                    contract: o.contract.clone(),
                    order,
                    state: OrderState {
                        status: o.status_str().into(),
                        commission_currency: "USD".into(),
                        ..Default::default()
                    },
                },
            );
            self.send(
                client,
                Response::OrderStatus {
                    order_id: o.order_id,
                    status: o.status_str().into(),
                    filled: o.filled,
                    remaining: o.remaining(),
                    avg_fill_price: o.avg_fill,
                    perm_id: o.perm_id,
                    parent_id: o.order.parent_id,
                    last_fill_price: o.last_fill,
                    client_id: o.client_id,
                    why_held: String::new(),
                    mkt_cap_price: 0.0,
                },
            );
        }
        self.send(client, Response::OpenOrderEnd);
    }

    pub(super) fn send_completed_orders(&mut self, client: ClientId, _api_only: bool) {
        let mut done: Vec<&SimOrder> = self
            .book
            .orders
            .values()
            .filter(|o| !o.status.is_active())
            .collect();
        done.sort_by_key(|o| (o.completed_ms, o.perm_id));
        let msgs: Vec<Response> = done
            .into_iter()
            .map(|o| {
                let mut order = o.order.clone();
                order.filled_quantity = o.filled;
                Response::CompletedOrder {
                    contract: o.contract.clone(),
                    order,
                    state: OrderState {
                        status: o.status_str().into(),
                        commission: (o.filled > 0.0).then_some(round2(o.commission)),
                        commission_currency: "USD".into(),
                        completed_time: clock::fmt_eastern(o.completed_ms.unwrap_or(o.created_ms)),
                        completed_status: o.completed_status.clone(),
                        ..Default::default()
                    },
                }
            })
            .collect();
        for m in msgs {
            self.send(client, m);
        }
        self.send(client, Response::CompletedOrdersEnd);
    }

    pub(super) fn send_executions(&mut self, client: ClientId, req_id: ReqId, f: &ExecutionFilter) {
        let now = self.now_ms();
        let since = clock::parse_tws_datetime(&f.time);
        let side = match f.side.trim().to_ascii_uppercase().as_str() {
            "BUY" | "BOT" => "BOT",
            "SELL" | "SLD" => "SLD",
            _ => "",
        };
        let msgs: Vec<(Response, Response)> = self
            .book
            .executions
            .iter()
            .filter(|e| {
                let x = &e.execution;
                let c = &e.contract;
                (f.client_id == 0 || x.client_id == f.client_id)
                    && (f.account.trim().is_empty()
                        || x.account.eq_ignore_ascii_case(f.account.trim()))
                    && since.is_none_or(|t| x.time * 1000 >= t)
                    && (f.symbol.trim().is_empty()
                        || c.symbol.eq_ignore_ascii_case(f.symbol.trim()))
                    && (f.sec_type.trim().is_empty()
                        || c.sec_type.eq_ignore_ascii_case(f.sec_type.trim()))
                    && (f.exchange.trim().is_empty()
                        || x.exchange.eq_ignore_ascii_case(f.exchange.trim())
                        || c.exchange.eq_ignore_ascii_case(f.exchange.trim()))
                    && (side.is_empty() || x.side == side)
                    && (f.last_n_days <= 0 || x.time * 1000 >= now - f.last_n_days as i64 * DAY_MS)
                    && (f.specific_dates.is_empty() || {
                        let ms = x.time * 1000;
                        let c = clock::civil_of_ms(ms + clock::eastern_offset_ms(ms));
                        let ymd = (c.y * 10_000 + c.mo as i64 * 100 + c.d as i64) as i32;
                        f.specific_dates.contains(&ymd)
                    })
            })
            .map(|e| {
                (
                    Response::ExecDetails {
                        req_id,
                        contract: e.contract.clone(),
                        execution: e.execution.clone(),
                    },
                    Response::CommissionReport {
                        report: e.report.clone(),
                    },
                )
            })
            .collect();
        for (a, b) in msgs {
            self.send(client, a);
            self.send(client, b);
        }
        self.send(client, Response::ExecDetailsEnd { req_id });
    }

    /// Match every working order against the market at `sim`.
    pub(super) fn match_orders(&mut self, sim: i64) {
        let keys: Vec<Key> = self
            .book
            .active_orders()
            .filter(|o| o.status == Status::Submitted && !matches!(o.otype, "MOC" | "LOC"))
            .map(|o| o.key())
            .collect();
        if keys.is_empty() {
            return;
        }
        let mut cache = HashMap::new();
        for k in keys {
            self.try_match(k, sim, Some(&mut cache));
        }
    }

    /// The closing auction at `t`: MOC/LOC fill at the close, DAY orders expire.
    pub(super) fn run_close(&mut self, t: i64) {
        let keys: Vec<Key> = self
            .book
            .active_orders()
            .filter(|o| o.status.is_active())
            .map(|o| o.key())
            .collect();
        for k in keys.iter().copied() {
            let Some(o) = self.book.orders.get(&k) else {
                continue;
            };
            if o.status != Status::Submitted || !matches!(o.otype, "MOC" | "LOC") {
                continue;
            }
            let close = self.mkt.quote(&self.uni, o.inst, t).last;
            let o = &self.book.orders[&k];
            match o.close_price(close) {
                Some(px) => {
                    let rem = o.remaining();
                    self.execute(k, rem, px, t);
                }
                None => self.cancel_internal(k, t, false, "LOC limit not reached at the close"),
            }
        }
        for k in keys {
            if self
                .book
                .orders
                .get(&k)
                .is_some_and(|o| o.status.is_active() && is_day_tif(&o.order.tif))
            {
                self.cancel_internal(k, t, false, "Expired at the close (DAY)");
            }
        }
    }
}

/// Margin / equity effect of a prospective trade.
struct TradeEffect {
    im0: f64,
    mm0: f64,
    im1: f64,
    mm1: f64,
    comm: f64,
    ewl0: f64,
    ewl_after: f64,
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn fmt_qty(q: f64) -> String {
    if q.fract() == 0.0 {
        format!("{}", q as i64)
    } else {
        format!("{q}")
    }
}
