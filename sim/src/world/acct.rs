//! Account-related requests and periodic pushes: summary, updates, positions, PnL.

use super::accounts::{self, ALL_TAGS};
use super::clock;
use super::{MultiSub, PnlSub, PosMultiSub, SummarySub, World};
use crate::api::{ClientId, ReqId, Response};

impl World {
    pub(super) fn req_account_summary(
        &mut self,
        client: ClientId,
        req_id: ReqId,
        group: String,
        tags: String,
        now: i64,
    ) {
        if self
            .summary_subs
            .iter()
            .any(|s| s.client == client && s.req_id == req_id)
        {
            self.error(
                client,
                req_id,
                322,
                "Error processing request.-'bW' : cause - Duplicate ticker id",
            );
            return;
        }
        let sub = SummarySub {
            client,
            req_id,
            group,
            tags,
            next_real: self.clock.real_now() + self.cfg.account_summary_interval_ms as i64,
        };
        self.send_account_summary(&sub, now);
        self.send(client, Response::AccountSummaryEnd { req_id });
        self.summary_subs.push(sub);
    }

    fn send_account_summary(&mut self, sub: &SummarySub, now: i64) {
        let accts: Vec<usize> =
            if sub.group.trim().is_empty() || sub.group.eq_ignore_ascii_case("All") {
                (0..self.accounts.len()).collect()
            } else {
                self.acct_idx(&sub.group).into_iter().collect()
            };
        let tags: Vec<String> = if sub.tags.trim().eq_ignore_ascii_case("All") {
            ALL_TAGS.iter().map(|t| t.to_string()).collect()
        } else {
            sub.tags
                .split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect()
        };
        for ai in accts {
            let v = self.valuation(ai, now);
            let acct = &self.accounts[ai];
            let mut rows: Vec<(String, String, String)> = Vec::new();
            for tag in &tags {
                if let Some(rest) = tag.strip_prefix("$LEDGER") {
                    let ccys: &[&str] = match rest.to_ascii_uppercase().as_str() {
                        "" => &["BASE"],
                        ":ALL" => &["BASE", "USD"],
                        ":USD" => &["USD"],
                        _ => &[],
                    };
                    for ccy in ccys {
                        for (k, val) in accounts::ledger_rows(acct, &v) {
                            rows.push((k.to_string(), val, ccy.to_string()));
                        }
                    }
                } else if let Some((val, ccy)) = accounts::summary_tag(acct, &v, tag) {
                    rows.push((tag.clone(), val, ccy.to_string()));
                }
            }
            for (tag, value, currency) in rows {
                self.send(
                    sub.client,
                    Response::AccountSummary {
                        req_id: sub.req_id,
                        account: acct.id.clone(),
                        tag,
                        value,
                        currency,
                    },
                );
            }
        }
    }

    fn position_rows(&self, acct: Option<usize>) -> Vec<(usize, usize, f64, f64)> {
        let mut v = Vec::new();
        for (ai, a) in self.accounts.iter().enumerate() {
            if acct.is_some_and(|x| x != ai) {
                continue;
            }
            for (&idx, p) in &a.positions {
                v.push((ai, idx, p.qty, p.avg_cost));
            }
        }
        v
    }

    pub(super) fn send_positions(&mut self, client: ClientId) {
        for (ai, idx, qty, avg) in self.position_rows(None) {
            self.send(
                client,
                Response::Position {
                    account: self.accounts[ai].id.clone(),
                    contract: self.uni.get(idx).contract().clone(),
                    position: qty,
                    avg_cost: avg,
                },
            );
        }
        self.send(client, Response::PositionEnd);
    }

    pub(super) fn req_account_updates(
        &mut self,
        client: ClientId,
        subscribe: bool,
        account: &str,
        now: i64,
    ) {
        if !subscribe {
            if let Some(c) = self.clients.get_mut(&client) {
                c.acct_updates = None;
            }
            return;
        }
        let Some(ai) = self.acct_idx(account) else {
            self.error(
                client,
                -1,
                321,
                &format!(
                    "Error validating request.-'bE' : cause - Invalid account code '{account}'"
                ),
            );
            return;
        };
        let next = self.clock.real_now() + self.cfg.account_update_interval_ms as i64;
        if let Some(c) = self.clients.get_mut(&client) {
            c.acct_updates = Some((ai, next));
        }
        self.send_account_update(client, ai, now, true);
        self.send(
            client,
            Response::AccountDownloadEnd {
                account: self.accounts[ai].id.clone(),
            },
        );
    }

    /// Account values + portfolio + time for reqAccountUpdates.
    fn send_account_update(&mut self, client: ClientId, ai: usize, now: i64, full: bool) {
        let v = self.valuation(ai, now);
        let id = self.accounts[ai].id.clone();
        let values = accounts::account_values(&self.accounts[ai], &v);
        for (key, value, currency) in values {
            if !full
                && matches!(
                    key.as_str(),
                    "AccountCode" | "AccountReady" | "AccountType" | "Currency"
                )
            {
                continue;
            }
            self.send(
                client,
                Response::AccountValue {
                    key,
                    value,
                    currency,
                    account: id.clone(),
                },
            );
        }
        let idxs: Vec<usize> = self.accounts[ai].positions.keys().copied().collect();
        for idx in idxs {
            self.send_portfolio_value(client, ai, idx, now);
        }
        self.send(
            client,
            Response::AccountUpdateTime {
                time: clock::fmt_hhmm_eastern(now),
            },
        );
    }

    fn send_portfolio_value(&mut self, client: ClientId, ai: usize, idx: usize, now: i64) {
        let Some(p) = self.accounts[ai].positions.get(&idx).cloned() else {
            return;
        };
        let inst = self.uni.get(idx);
        let px = self.mkt.quote(&self.uni, idx, now).last;
        let mv = p.qty * px * inst.multiplier;
        self.send(
            client,
            Response::PortfolioValue {
                contract: inst.contract().clone(),
                position: p.qty,
                market_price: px,
                market_value: (mv * 100.0).round() / 100.0,
                average_cost: p.avg_cost,
                unrealized_pnl: ((mv - p.qty * p.avg_cost) * 100.0).round() / 100.0,
                realized_pnl: (p.realized * 100.0).round() / 100.0,
                account: self.accounts[ai].id.clone(),
            },
        );
    }

    pub(super) fn req_account_updates_multi(
        &mut self,
        client: ClientId,
        req_id: ReqId,
        account: &str,
        model_code: String,
        ledger_and_nlv: bool,
        now: i64,
    ) {
        let acct = if account.trim().is_empty() || account.eq_ignore_ascii_case("All") {
            None
        } else {
            match self.acct_idx(account) {
                Some(a) => Some(a),
                None => {
                    self.error(client, req_id, 321, &format!("Error validating request.-'bE' : cause - Invalid account code '{account}'"));
                    return;
                }
            }
        };
        let sub = MultiSub {
            client,
            req_id,
            acct,
            model_code,
            ledger_and_nlv,
            next_real: self.clock.real_now() + self.cfg.account_update_interval_ms as i64,
        };
        self.send_multi(&sub, now);
        self.send(client, Response::AccountUpdateMultiEnd { req_id });
        self.multi_subs
            .retain(|s| !(s.client == client && s.req_id == req_id));
        self.multi_subs.push(sub);
    }

    fn send_multi(&mut self, sub: &MultiSub, now: i64) {
        let accts: Vec<usize> = match sub.acct {
            Some(a) => vec![a],
            None => (0..self.accounts.len()).collect(),
        };
        for ai in accts {
            let v = self.valuation(ai, now);
            let id = self.accounts[ai].id.clone();
            let values = accounts::account_values(&self.accounts[ai], &v);
            for (key, value, currency) in values {
                if sub.ledger_and_nlv
                    && !matches!(
                        key.as_str(),
                        "NetLiquidation"
                            | "CashBalance"
                            | "TotalCashBalance"
                            | "NetLiquidationByCurrency"
                            | "ExchangeRate"
                            | "Currency"
                    )
                {
                    continue;
                }
                self.send(
                    sub.client,
                    Response::AccountUpdateMulti {
                        req_id: sub.req_id,
                        account: id.clone(),
                        model_code: sub.model_code.clone(),
                        key,
                        value,
                        currency,
                    },
                );
            }
        }
    }

    pub(super) fn req_positions_multi(
        &mut self,
        client: ClientId,
        req_id: ReqId,
        account: &str,
        model_code: String,
    ) {
        let acct = if account.trim().is_empty() || account.eq_ignore_ascii_case("All") {
            None
        } else {
            match self.acct_idx(account) {
                Some(a) => Some(a),
                None => {
                    self.error(client, req_id, 321, &format!("Error validating request.-'bE' : cause - Invalid account code '{account}'"));
                    return;
                }
            }
        };
        for (ai, idx, qty, avg) in self.position_rows(acct) {
            self.send(
                client,
                Response::PositionMulti {
                    req_id,
                    account: self.accounts[ai].id.clone(),
                    model_code: model_code.clone(),
                    contract: self.uni.get(idx).contract().clone(),
                    position: qty,
                    avg_cost: avg,
                },
            );
        }
        self.send(client, Response::PositionMultiEnd { req_id });
        self.pos_multi_subs
            .retain(|s| !(s.client == client && s.req_id == req_id));
        self.pos_multi_subs.push(PosMultiSub {
            client,
            req_id,
            acct,
            model_code,
        });
    }

    pub(super) fn req_pnl(
        &mut self,
        client: ClientId,
        req_id: ReqId,
        account: &str,
        con_id: Option<i32>,
        now: i64,
    ) {
        if self
            .pnl_subs
            .iter()
            .any(|s| s.client == client && s.req_id == req_id)
        {
            self.error(
                client,
                req_id,
                322,
                "Error processing request.-'bW' : cause - Duplicate ticker id",
            );
            return;
        }
        let Some(acct) = self.acct_idx(account) else {
            self.error(
                client,
                req_id,
                321,
                &format!(
                    "Error validating request.-'bE' : cause - Invalid account code '{account}'"
                ),
            );
            return;
        };
        let single = con_id.map(|c| self.uni.by_con_id(c));
        let sub = PnlSub {
            client,
            req_id,
            acct,
            single,
            next_real: self.clock.real_now() + self.cfg.pnl_interval_ms as i64,
        };
        self.send_pnl(&sub, now);
        self.pnl_subs.push(sub);
    }

    fn send_pnl(&mut self, sub: &PnlSub, now: i64) {
        let round = |v: f64| (v * 100.0).round() / 100.0;
        match sub.single {
            None => {
                let v = self.valuation(sub.acct, now);
                self.send(
                    sub.client,
                    Response::PnL {
                        req_id: sub.req_id,
                        daily_pnl: round(v.daily_pnl),
                        unrealized_pnl: Some(round(v.unrealized)),
                        realized_pnl: Some(round(v.realized)),
                    },
                );
            }
            Some(inst) => {
                let pos = inst.and_then(|i| self.accounts[sub.acct].positions.get(&i).cloned());
                let (position, daily, unreal, realized, value) = match (inst, pos) {
                    (Some(idx), Some(p)) => {
                        let q = self.mkt.quote(&self.uni, idx, now);
                        let prev = self.mkt.prev_close(&self.uni, idx, now);
                        let m = self.uni.get(idx).multiplier;
                        let mv = p.qty * q.last * m;
                        (
                            p.qty,
                            mv - p.day_start_qty * prev * m + p.day_cash_flow,
                            mv - p.qty * p.avg_cost,
                            p.realized,
                            mv,
                        )
                    }
                    _ => (0.0, 0.0, 0.0, 0.0, 0.0),
                };
                self.send(
                    sub.client,
                    Response::PnLSingle {
                        req_id: sub.req_id,
                        position,
                        daily_pnl: round(daily),
                        unrealized_pnl: Some(round(unreal)),
                        realized_pnl: Some(round(realized)),
                        value: round(value),
                    },
                );
            }
        }
    }

    /// After a fill in account `ai` of instrument `idx`: push position / portfolio updates.
    pub(super) fn push_position_change(&mut self, ai: usize, idx: usize, now: i64) {
        let Some(p) = self.accounts[ai].positions.get(&idx).cloned() else {
            return;
        };
        let contract = self.uni.get(idx).contract().clone();
        let id = self.accounts[ai].id.clone();
        let pos_clients: Vec<ClientId> = self
            .clients
            .iter()
            .filter(|(_, c)| c.positions_sub)
            .map(|(&k, _)| k)
            .collect();
        for c in pos_clients {
            self.send(
                c,
                Response::Position {
                    account: id.clone(),
                    contract: contract.clone(),
                    position: p.qty,
                    avg_cost: p.avg_cost,
                },
            );
        }
        for s in self.pos_multi_subs.clone() {
            if s.acct.is_none_or(|a| a == ai) {
                self.send(
                    s.client,
                    Response::PositionMulti {
                        req_id: s.req_id,
                        account: id.clone(),
                        model_code: s.model_code.clone(),
                        contract: contract.clone(),
                        position: p.qty,
                        avg_cost: p.avg_cost,
                    },
                );
            }
        }
        let upd_clients: Vec<ClientId> = self
            .clients
            .iter()
            .filter(|(_, c)| c.acct_updates.is_some_and(|(a, _)| a == ai))
            .map(|(&k, _)| k)
            .collect();
        for c in upd_clients {
            self.send_portfolio_value(c, ai, idx, now);
            let v = self.valuation(ai, now);
            for (key, value) in [
                ("NetLiquidation", format!("{:.2}", v.net_liq)),
                ("TotalCashValue", format!("{:.2}", v.cash)),
                ("CashBalance", format!("{:.2}", v.cash)),
                (
                    "GrossPositionValue",
                    format!("{:.2}", v.gross_position_value),
                ),
                ("BuyingPower", format!("{:.2}", v.buying_power())),
                ("AvailableFunds", format!("{:.2}", v.available_funds())),
            ] {
                self.send(
                    c,
                    Response::AccountValue {
                        key: key.into(),
                        value,
                        currency: "USD".into(),
                        account: id.clone(),
                    },
                );
            }
        }
    }

    /// Periodic pushes (real-time cadence).
    pub(super) fn emit_periodic(&mut self, real: i64, sim: i64) {
        self.emit_bar_updates(real, sim);
        // reqAccountUpdates.
        let due: Vec<(ClientId, usize)> = self
            .clients
            .iter()
            .filter_map(|(&k, c)| {
                c.acct_updates
                    .filter(|(_, t)| *t <= real)
                    .map(|(a, _)| (k, a))
            })
            .collect();
        for (c, ai) in due {
            let next = real + self.cfg.account_update_interval_ms.max(1) as i64;
            if let Some(cs) = self.clients.get_mut(&c) {
                cs.acct_updates = Some((ai, next));
            }
            self.send_account_update(c, ai, sim, false);
        }
        // Account summary.
        if self.summary_subs.iter().any(|s| s.next_real <= real) {
            let mut subs = std::mem::take(&mut self.summary_subs);
            for s in subs.iter_mut().filter(|s| s.next_real <= real) {
                s.next_real = real + self.cfg.account_summary_interval_ms.max(1) as i64;
                self.send_account_summary(s, sim);
                self.send(s.client, Response::AccountSummaryEnd { req_id: s.req_id });
            }
            subs.append(&mut self.summary_subs);
            self.summary_subs = subs;
        }
        // PnL.
        if self.pnl_subs.iter().any(|s| s.next_real <= real) {
            let mut subs = std::mem::take(&mut self.pnl_subs);
            for s in subs.iter_mut().filter(|s| s.next_real <= real) {
                s.next_real = real + self.cfg.pnl_interval_ms.max(1) as i64;
                self.send_pnl(s, sim);
            }
            subs.append(&mut self.pnl_subs);
            self.pnl_subs = subs;
        }
        // Account updates multi.
        if self.multi_subs.iter().any(|s| s.next_real <= real) {
            let mut subs = std::mem::take(&mut self.multi_subs);
            for s in subs.iter_mut().filter(|s| s.next_real <= real) {
                s.next_real = real + self.cfg.account_update_interval_ms.max(1) as i64;
                self.send_multi(s, sim);
            }
            subs.append(&mut self.multi_subs);
            self.multi_subs = subs;
        }
        self.emit_scanners(real, sim);
    }

    /// All account summary tags (for tests and docs).
    pub fn all_summary_tags() -> &'static [&'static str] {
        ALL_TAGS
    }
}
