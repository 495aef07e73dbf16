//! The simulated world: instruments, market prices, accounts and order matching.
//!
//! Protocol-agnostic: it consumes [`Request`]s from connected clients and pushes [`Response`]s
//! into each client's [`Outbox`]. The server (`crate::server`) owns sockets and codecs; the world
//! owns all state. It lives behind one `parking_lot::Mutex` shared by every connection task and
//! by the market ticker task, which calls [`World::advance`] periodically.
//!
//! Modules:
//! - [`config`]: [`WorldConfig`] (TOML), defaults documented there and in `sim/world.example.toml`.
//! - [`clock`]: simulated clock (real time x speed, optional start instant, manual mode for tests).
//! - [`instruments`]: the universe (>= 40 stocks/ETFs/FX/future/index + option chains).
//! - [`market`]: deterministic price paths, quotes, historical bars, Black-Scholes.
//! - [`accounts`]: cash, positions, valuation, margin, account tags.
//! - [`orders`]: order records and matching rules.
//! - `trading`, `data`, `acct`, `scanner`: request handlers and streaming.
//!
//! Time: everything market-related uses simulated time ([`World::now_ms`]); emission cadences
//! (tick intervals, account/PnL pushes) use real time so an accelerated clock does not flood
//! clients. `advance(now_ms)` takes *real* epoch millis; the clock maps them to simulated time
//! (`clock_speed`, optional `start_time`; `manual_clock` for tests, where only `advance` moves
//! real time).
//!
//! Market hours: `always` (default) trades 24/7 with a daily close at `close_time_utc`
//! (21:00 UTC); `us_equities` trades Mon-Fri 09:30-16:00 US/Eastern except NYSE holidays (FX
//! and futures on weekdays), prices are flat and no ticks/fills happen outside the session. At each
//! close MOC/LOC orders fill at the closing price, DAY orders expire, the PnL day rolls.
//! [`World::trigger_close`] runs the closing auction on demand.
//!
//! Default world: seed 42, 43 stocks/ETFs/FX/future/index (SPY, VTI, QQQ, IWM, VOO, DIA,
//! TLT, BND, AGG, IEF, SHY, LQD, HYG, TIP, GLD, VNQ, VXUS, VEA, VWO, XLK, XLF, XLE, XLV, XLY,
//! XLI, XLP, XLU, AAPL, MSFT, NVDA, AMZN, GOOGL, META, TSLA, JPM, XOM, KO, JNJ, V, SNDL,
//! EUR.USD, ES, SPX) plus option chains on SPY/AAPL/QQQ (4 weekly + 4 monthly expirations x
//! 41 strikes x C/P); account DU1234567 with about $1.03M net liquidation: VTI 1300, TLT 1500,
//! SPY 300, AAPL 450, BND 1200 and $61,250 cash.
//!
//! Admin interface: read-only [`World::clients`], [`World::subscriptions`], [`World::orders`],
//! [`World::positions`], [`World::accounts`], [`World::quote`], [`World::bulletins`],
//! [`World::universe`], [`World::now_ms`], [`World::clock_speed`]; setters
//! [`World::set_clock_speed`], [`World::jump_to`], [`World::set_tick_interval_ms`],
//! [`World::inject_bulletin`], [`World::shock`] (price jump), [`World::trigger_close`]; fault
//! injection hooks [`World::broadcast`] and [`World::send_to`].

pub mod accounts;
mod acct;
pub mod clock;
pub mod config;
mod data;
mod extras;
pub mod instruments;
pub mod market;
pub mod orders;
mod scanner;
mod streams;
mod trading;

use std::collections::BTreeMap;

use serde::Serialize;
use tokio::sync::mpsc;

use crate::api::{ClientId, ReqId, Request, Response, ScannerSubscription};
pub use config::{MarketHours, WorldConfig};
use instruments::Universe;
use market::{BarSpan, Market, Show};

/// Queue of responses for one connected client. Bounded: a client that stops reading is
/// disconnected when its queue overflows instead of growing memory without bound.
#[derive(Clone, Debug)]
pub struct Outbox {
    tx: mpsc::Sender<Response>,
}

impl Outbox {
    pub fn new(tx: mpsc::Sender<Response>) -> Self {
        Self { tx }
    }
    /// Queue a response; returns false when the client is gone or its queue is full.
    pub fn send(&self, resp: Response) -> bool {
        self.tx.try_send(resp).is_ok()
    }
}

/// Why a client could not attach.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("client id {0} is already in use")]
    ClientIdInUse(ClientId),
}

#[derive(Debug)]
struct ClientState {
    outbox: Outbox,
    /// Requested market data type (1 live, 2 frozen, 3 delayed, 4 delayed-frozen).
    md_type: i32,
    positions_sub: bool,
    /// Account (index) of reqAccountUpdates, with the next push time.
    acct_updates: Option<(usize, i64)>,
    news: bool,
    auto_bind: bool,
    attached_ms: i64,
}

#[derive(Debug, Clone)]
struct MktSub {
    client: ClientId,
    req_id: ReqId,
    inst: usize,
    next_real: i64,
    delayed: bool,
    high: f64,
    low: f64,
    last_ts_sec: i64,
    rng: u64,
    /// Generic tick 233 requested: RT_VOLUME strings with every trade.
    rt_volume: bool,
}

#[derive(Debug, Clone)]
struct HistSub {
    client: ClientId,
    req_id: ReqId,
    inst: usize,
    bar: BarSpan,
    bar_ms: i64,
    show: Show,
    format_date: i32,
    next_real: i64,
    cur_start: i64,
}

#[derive(Debug, Clone)]
struct SummarySub {
    client: ClientId,
    req_id: ReqId,
    group: String,
    tags: String,
    next_real: i64,
}

#[derive(Debug, Clone)]
struct PnlSub {
    client: ClientId,
    req_id: ReqId,
    acct: usize,
    /// Instrument of reqPnLSingle (None for reqPnL; Some(None) for an unknown con id).
    single: Option<Option<usize>>,
    next_real: i64,
}

#[derive(Debug, Clone)]
struct MultiSub {
    client: ClientId,
    req_id: ReqId,
    acct: Option<usize>,
    model_code: String,
    ledger_and_nlv: bool,
    next_real: i64,
}

#[derive(Debug, Clone)]
struct PosMultiSub {
    client: ClientId,
    req_id: ReqId,
    acct: Option<usize>,
    model_code: String,
}

#[derive(Debug, Clone)]
struct ScanSub {
    client: ClientId,
    req_id: ReqId,
    sub: ScannerSubscription,
    next_real: i64,
}

/// A news bulletin.
#[derive(Debug, Clone, Serialize)]
pub struct Bulletin {
    pub msg_id: i32,
    pub msg_type: i32,
    pub message: String,
    pub origin_exchange: String,
    pub time_ms: i64,
}

/// Admin view of a client.
#[derive(Debug, Clone, Serialize)]
pub struct ClientInfo {
    pub client_id: ClientId,
    pub attached_ms: i64,
    pub market_data_type: i32,
    pub subscriptions: usize,
    pub auto_bind: bool,
}

/// Admin view of a subscription.
#[derive(Debug, Clone, Serialize)]
pub struct SubscriptionInfo {
    pub client_id: ClientId,
    /// market_data, historical, account_summary, account_updates, positions, pnl, pnl_single,
    /// account_updates_multi, positions_multi, news, scanner, realtime_bars, tick_by_tick,
    /// market_depth.
    pub kind: &'static str,
    pub req_id: Option<ReqId>,
    pub detail: String,
}

/// Admin view of an order.
#[derive(Debug, Clone, Serialize)]
pub struct OrderInfo {
    pub client_id: ClientId,
    pub order_id: i32,
    pub perm_id: i64,
    pub parent_id: i32,
    pub account: String,
    pub symbol: String,
    pub sec_type: String,
    pub con_id: i32,
    pub action: String,
    pub quantity: f64,
    pub order_type: String,
    pub lmt_price: Option<f64>,
    pub aux_price: Option<f64>,
    pub tif: String,
    pub oca_group: String,
    /// Legs of a combo (BAG) order as the client sent them; empty for single-instrument orders.
    pub combo_legs: Vec<crate::api::ComboLeg>,
    pub status: String,
    pub filled: f64,
    pub remaining: f64,
    pub avg_fill_price: f64,
}

/// Admin view of a position.
#[derive(Debug, Clone, Serialize)]
pub struct PositionInfo {
    pub account: String,
    pub symbol: String,
    pub sec_type: String,
    pub con_id: i32,
    pub position: f64,
    pub avg_cost: f64,
    pub market_price: f64,
    pub market_value: f64,
    pub unrealized_pnl: f64,
    pub realized_pnl: f64,
}

/// Admin view of an account.
#[derive(Debug, Clone, Serialize)]
pub struct AccountInfo {
    pub account: String,
    pub net_liquidation: f64,
    pub cash: f64,
    pub gross_position_value: f64,
    pub init_margin: f64,
    pub maint_margin: f64,
    pub available_funds: f64,
    pub buying_power: f64,
    pub unrealized_pnl: f64,
    pub realized_pnl: f64,
    pub daily_pnl: f64,
}

/// Admin view of a quote.
#[derive(Debug, Clone, Serialize)]
pub struct QuoteInfo {
    pub symbol: String,
    pub con_id: i32,
    pub bid: f64,
    pub ask: f64,
    pub last: f64,
    pub prev_close: f64,
    pub time_ms: i64,
}

/// The whole simulated world.
pub struct World {
    cfg: WorldConfig,
    clock: clock::Clock,
    /// Simulated time of the last `advance`.
    sim_ms: i64,
    /// Real time of the last `advance`.
    real_ms: i64,
    /// Trading day (see `Market::day_of`) whose close has not been processed yet.
    current_day: i64,
    uni: Universe,
    mkt: Market,
    accounts: Vec<accounts::Account>,
    book: orders::OrderBook,
    clients: BTreeMap<ClientId, ClientState>,
    next_order_id: i32,
    mkt_subs: Vec<MktSub>,
    hist_subs: Vec<HistSub>,
    summary_subs: Vec<SummarySub>,
    pnl_subs: Vec<PnlSub>,
    multi_subs: Vec<MultiSub>,
    pos_multi_subs: Vec<PosMultiSub>,
    scan_subs: Vec<ScanSub>,
    streams: streams::Streams,
    bulletins: Vec<Bulletin>,
    next_bulletin_ms: i64,
    canned_bulletin: usize,
}

impl Default for World {
    fn default() -> Self {
        Self::new(WorldConfig::default())
    }
}

impl std::fmt::Debug for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("sim_ms", &self.sim_ms)
            .field("clients", &self.clients.len())
            .field("instruments", &self.uni.len())
            .finish_non_exhaustive()
    }
}

const CANNED_BULLETINS: &[(i32, &str, &str)] = &[
    (
        1,
        "TWS paper trading: simulated market data and executions; no real orders are routed.",
        "",
    ),
    (
        1,
        "Reminder: US equity options expire at the close of the expiration day.",
        "CBOE",
    ),
    (
        2,
        "ISLAND: exchange temporarily unavailable; orders routed via SMART.",
        "ISLAND",
    ),
    (3, "ISLAND: exchange is available again.", "ISLAND"),
    (
        1,
        "Margin requirements for leveraged ETFs have been updated.",
        "",
    ),
];

impl World {
    /// Build a world. Invalid optional fields (unparseable times) fall back to defaults; use
    /// [`WorldConfig::validate`] (done by `from_file`/`from_toml_str`) to reject them instead.
    pub fn new(cfg: WorldConfig) -> Self {
        let start = cfg.start_ms().ok().flatten();
        let clock = clock::Clock::new(start, cfg.clock_speed, cfg.manual_clock);
        let now = clock.now();
        let today = now.div_euclid(clock::DAY_MS);
        let anchor = cfg.anchor_day().ok().flatten().unwrap_or(today);
        let close_off = cfg.close_offset_ms().unwrap_or(21 * 3_600_000);
        let uni = Universe::build(&cfg, today);
        let history_days = cfg.history_years.max(1) as i64 * 366;
        let mut mkt = Market::new(
            cfg.seed,
            cfg.market_hours,
            close_off,
            anchor,
            history_days,
            cfg.options.rate,
            &uni,
        );
        let current_day = mkt.day_of(now);
        let mut accts = Vec::new();
        for ac in &cfg.accounts {
            let mut a = accounts::Account::new(&ac.id, ac.cash);
            for p in &ac.positions {
                let Some(idx) = uni.by_symbol(&p.symbol, p.sec_type.as_deref()) else {
                    tracing::warn!(symbol = %p.symbol, "unknown symbol in starting portfolio");
                    continue;
                };
                let inst = uni.get(idx);
                let px = p
                    .avg_cost
                    .unwrap_or_else(|| mkt.quote(&uni, idx, now).last * 0.9);
                a.positions.insert(
                    idx,
                    accounts::Position {
                        qty: p.quantity,
                        avg_cost: px * inst.multiplier,
                        realized: 0.0,
                        day_start_qty: p.quantity,
                        day_cash_flow: 0.0,
                    },
                );
            }
            accts.push(a);
        }
        let next_order_id = cfg.first_order_id;
        let book = orders::OrderBook::new(cfg.seed);
        let mut w = World {
            clock,
            sim_ms: now,
            real_ms: 0,
            current_day,
            uni,
            mkt,
            accounts: accts,
            book,
            clients: BTreeMap::new(),
            next_order_id,
            mkt_subs: Vec::new(),
            hist_subs: Vec::new(),
            summary_subs: Vec::new(),
            pnl_subs: Vec::new(),
            multi_subs: Vec::new(),
            pos_multi_subs: Vec::new(),
            scan_subs: Vec::new(),
            streams: streams::Streams::default(),
            bulletins: Vec::new(),
            next_bulletin_ms: now + cfg.bulletin_interval_ms as i64,
            canned_bulletin: 0,
            cfg,
        };
        w.real_ms = w.clock.real_now();
        for i in 0..w.accounts.len() {
            let v = w.valuation(i, now);
            w.accounts[i].prev_day_nlv = v.net_liq - v.daily_pnl;
        }
        w
    }

    // -----------------------------------------------------------------------------------------
    // Server interface
    // -----------------------------------------------------------------------------------------

    /// Register a client after startApi; sends managedAccounts, nextValidId and the farm notices.
    pub fn attach(&mut self, client_id: ClientId, outbox: Outbox) -> Result<(), AttachError> {
        if self.clients.contains_key(&client_id) {
            return Err(AttachError::ClientIdInUse(client_id));
        }
        let now = self.now_ms();
        outbox.send(Response::ManagedAccounts {
            accounts: self.account_ids(),
        });
        outbox.send(Response::NextValidId {
            order_id: self.next_order_id,
        });
        for (code, msg) in [
            (2104, "Market data farm connection is OK:usfarm"),
            (2106, "HMDS data farm connection is OK:ushmds"),
            (2158, "Sec-def data farm connection is OK:secdefnj"),
        ] {
            outbox.send(Response::Error {
                id: -1,
                time: now,
                code,
                message: msg.into(),
                advanced_order_reject_json: String::new(),
            });
        }
        self.clients.insert(
            client_id,
            ClientState {
                outbox,
                md_type: 1,
                positions_sub: false,
                acct_updates: None,
                news: false,
                auto_bind: false,
                attached_ms: now,
            },
        );
        Ok(())
    }

    /// Forget a client and all of its subscriptions (its orders stay, as in TWS).
    pub fn detach(&mut self, client_id: ClientId) {
        self.clients.remove(&client_id);
        self.mkt_subs.retain(|s| s.client != client_id);
        self.hist_subs.retain(|s| s.client != client_id);
        self.summary_subs.retain(|s| s.client != client_id);
        self.pnl_subs.retain(|s| s.client != client_id);
        self.multi_subs.retain(|s| s.client != client_id);
        self.pos_multi_subs.retain(|s| s.client != client_id);
        self.scan_subs.retain(|s| s.client != client_id);
        self.streams.detach(client_id);
    }

    /// Handle one request from an attached client.
    pub fn handle(&mut self, client_id: ClientId, req: Request) {
        if !self.clients.contains_key(&client_id) {
            return;
        }
        let now = self.now_ms();
        match req {
            Request::StartApi { .. } => {}
            Request::ReqIds { .. } => self.send(
                client_id,
                Response::NextValidId {
                    order_id: self.next_order_id,
                },
            ),
            Request::ReqCurrentTime => {
                self.send(client_id, Response::CurrentTime { time: now / 1000 })
            }
            Request::ReqManagedAccts => self.send(
                client_id,
                Response::ManagedAccounts {
                    accounts: self.account_ids(),
                },
            ),
            Request::ReqContractDetails { req_id, contract } => {
                let m = self.uni.matches(&contract);
                if m.is_empty() {
                    self.error(
                        client_id,
                        req_id,
                        200,
                        "No security definition has been found for the request",
                    );
                    return;
                }
                for idx in m {
                    let details = self.uni.get(idx).details.clone();
                    self.send(client_id, Response::ContractData { req_id, details });
                }
                self.send(client_id, Response::ContractDataEnd { req_id });
            }
            Request::ReqMatchingSymbols { req_id, pattern } => {
                let descriptions = self.uni.search(&pattern);
                self.send(
                    client_id,
                    Response::SymbolSamples {
                        req_id,
                        descriptions,
                    },
                );
            }
            Request::ReqMarketRule { market_rule_id } => {
                let increments = instruments::market_rule(market_rule_id).unwrap_or_default();
                self.send(
                    client_id,
                    Response::MarketRule {
                        market_rule_id,
                        increments,
                    },
                );
            }
            Request::ReqSecDefOptParams {
                req_id,
                underlying_symbol,
                underlying_con_id,
                ..
            } => {
                if let Some((u, exps, strikes)) = self
                    .uni
                    .chain_for(&underlying_symbol, underlying_con_id)
                    .cloned()
                {
                    let under = self.uni.get(u);
                    for exchange in ["SMART", "CBOE"] {
                        self.send(
                            client_id,
                            Response::SecDefOptParams {
                                req_id,
                                exchange: exchange.into(),
                                underlying_con_id: under.con_id(),
                                trading_class: under.symbol().to_string(),
                                multiplier: "100".into(),
                                expirations: exps.clone(),
                                strikes: strikes.clone(),
                            },
                        );
                    }
                }
                self.send(client_id, Response::SecDefOptParamsEnd { req_id });
            }
            Request::ReqMktData {
                req_id,
                contract,
                generic_tick_list,
                snapshot,
                regulatory_snapshot,
            } => self.req_mkt_data(
                client_id,
                req_id,
                &contract,
                &generic_tick_list,
                snapshot || regulatory_snapshot,
                now,
            ),
            Request::CancelMktData { req_id } => {
                let before = self.mkt_subs.len();
                self.mkt_subs
                    .retain(|s| !(s.client == client_id && s.req_id == req_id));
                if self.mkt_subs.len() == before {
                    self.error(
                        client_id,
                        req_id,
                        300,
                        &format!("Can't find EId with tickerId:{req_id}"),
                    );
                }
            }
            Request::ReqMarketDataType { market_data_type } => {
                if let Some(c) = self.clients.get_mut(&client_id) {
                    c.md_type = market_data_type.clamp(1, 4);
                }
            }
            Request::ReqHistoricalData {
                req_id,
                contract,
                end_date_time,
                bar_size,
                duration,
                use_rth,
                what_to_show,
                format_date,
                keep_up_to_date,
            } => self.req_historical(
                client_id,
                data::HistReq {
                    req_id,
                    contract,
                    end_date_time,
                    bar_size,
                    duration,
                    use_rth,
                    what_to_show,
                    format_date,
                    keep_up_to_date,
                },
                now,
            ),
            Request::CancelHistoricalData { req_id } => {
                self.hist_subs
                    .retain(|s| !(s.client == client_id && s.req_id == req_id));
            }
            Request::ReqHeadTimestamp {
                req_id,
                contract,
                format_date,
                ..
            } => self.req_head_timestamp(client_id, req_id, &contract, format_date),
            Request::CancelHeadTimestamp { .. } => {}
            Request::ReqAccountSummary {
                req_id,
                group,
                tags,
            } => self.req_account_summary(client_id, req_id, group, tags, now),
            Request::CancelAccountSummary { req_id } => {
                self.summary_subs
                    .retain(|s| !(s.client == client_id && s.req_id == req_id));
            }
            Request::ReqPositions => {
                if let Some(c) = self.clients.get_mut(&client_id) {
                    c.positions_sub = true;
                }
                self.send_positions(client_id);
            }
            Request::CancelPositions => {
                if let Some(c) = self.clients.get_mut(&client_id) {
                    c.positions_sub = false;
                }
            }
            Request::ReqAccountUpdates { subscribe, account } => {
                self.req_account_updates(client_id, subscribe, &account, now)
            }
            Request::ReqAccountUpdatesMulti {
                req_id,
                account,
                model_code,
                ledger_and_nlv,
            } => self.req_account_updates_multi(
                client_id,
                req_id,
                &account,
                model_code,
                ledger_and_nlv,
                now,
            ),
            Request::CancelAccountUpdatesMulti { req_id } => {
                self.multi_subs
                    .retain(|s| !(s.client == client_id && s.req_id == req_id));
            }
            Request::ReqPositionsMulti {
                req_id,
                account,
                model_code,
            } => self.req_positions_multi(client_id, req_id, &account, model_code),
            Request::CancelPositionsMulti { req_id } => {
                self.pos_multi_subs
                    .retain(|s| !(s.client == client_id && s.req_id == req_id));
            }
            Request::ReqPnL {
                req_id, account, ..
            } => self.req_pnl(client_id, req_id, &account, None, now),
            Request::CancelPnL { req_id } | Request::CancelPnLSingle { req_id } => {
                self.pnl_subs
                    .retain(|s| !(s.client == client_id && s.req_id == req_id));
            }
            Request::ReqPnLSingle {
                req_id,
                account,
                con_id,
                ..
            } => self.req_pnl(client_id, req_id, &account, Some(con_id), now),
            Request::PlaceOrder {
                order_id,
                contract,
                order,
            } => self.place_order(client_id, order_id, contract, order, now),
            Request::CancelOrder { order_id, .. } => self.cancel_order(client_id, order_id, now),
            Request::ReqGlobalCancel => self.global_cancel(now),
            Request::ReqOpenOrders => self.send_open_orders(client_id, false),
            Request::ReqAllOpenOrders => self.send_open_orders(client_id, true),
            Request::ReqAutoOpenOrders { auto_bind } => {
                if client_id != 0 {
                    self.error(
                        client_id,
                        -1,
                        327,
                        "Only API connections with clientId set to 0 can set the auto bind TWS orders property.",
                    );
                } else if let Some(c) = self.clients.get_mut(&client_id) {
                    c.auto_bind = auto_bind;
                }
            }
            Request::ReqCompletedOrders { api_only } => {
                self.send_completed_orders(client_id, api_only)
            }
            Request::ReqExecutions { req_id, filter } => {
                self.send_executions(client_id, req_id, &filter)
            }
            Request::ReqNewsBulletins { all_messages } => {
                if let Some(c) = self.clients.get_mut(&client_id) {
                    c.news = true;
                }
                if all_messages {
                    for b in self.bulletins.clone() {
                        self.send(client_id, bulletin_response(&b));
                    }
                }
            }
            Request::CancelNewsBulletins => {
                if let Some(c) = self.clients.get_mut(&client_id) {
                    c.news = false;
                }
            }
            Request::ReqScannerParameters => self.send(
                client_id,
                Response::ScannerParameters {
                    xml: scanner::PARAMETERS_XML.to_string(),
                },
            ),
            Request::ReqScannerSubscription {
                req_id,
                subscription,
            } => self.req_scanner(client_id, req_id, subscription, now),
            Request::CancelScannerSubscription { req_id } => {
                self.scan_subs
                    .retain(|s| !(s.client == client_id && s.req_id == req_id));
            }
            Request::ReqRealTimeBars {
                req_id,
                contract,
                what_to_show,
                ..
            } => self.req_real_time_bars(client_id, req_id, &contract, &what_to_show, now),
            Request::CancelRealTimeBars { req_id } => self.cancel_real_time_bars(client_id, req_id),
            Request::ReqTickByTickData {
                req_id,
                contract,
                tick_type,
                number_of_ticks,
                ignore_size,
            } => self.req_tick_by_tick(
                client_id,
                req_id,
                &contract,
                &tick_type,
                number_of_ticks,
                ignore_size,
                now,
            ),
            Request::CancelTickByTickData { req_id } => self.cancel_tick_by_tick(client_id, req_id),
            Request::ReqMktDepth {
                req_id,
                contract,
                num_rows,
                is_smart_depth,
            } => self.req_mkt_depth(client_id, req_id, &contract, num_rows, is_smart_depth, now),
            Request::CancelMktDepth { req_id, .. } => self.cancel_mkt_depth(client_id, req_id),
            Request::ReqMktDepthExchanges => self.req_mkt_depth_exchanges(client_id),
            Request::ReqHistoricalTicks {
                req_id,
                contract,
                start_date_time,
                end_date_time,
                number_of_ticks,
                what_to_show,
                ignore_size,
                ..
            } => self.req_historical_ticks(
                client_id,
                req_id,
                &contract,
                &start_date_time,
                &end_date_time,
                number_of_ticks,
                &what_to_show,
                ignore_size,
                now,
            ),
            // Historical ticks are answered at once; nothing is left to cancel.
            Request::CancelHistoricalTicks { .. } => {}
            Request::ReqHistogramData {
                req_id,
                contract,
                time_period,
                ..
            } => self.req_histogram(client_id, req_id, &contract, &time_period, now),
            Request::ReqNewsProviders => self.send(
                client_id,
                Response::NewsProviders {
                    providers: extras::news_providers(),
                },
            ),
            Request::ReqSmartComponents { req_id, .. } => self.send(
                client_id,
                Response::SmartComponents {
                    req_id,
                    components: extras::smart_components(),
                },
            ),
            Request::ReqFamilyCodes => self.send(
                client_id,
                Response::FamilyCodes {
                    codes: self
                        .account_ids()
                        .into_iter()
                        .map(|a| (a, String::new()))
                        .collect(),
                },
            ),
            Request::ReqSoftDollarTiers { req_id } => self.send(
                client_id,
                Response::SoftDollarTiers {
                    req_id,
                    tiers: Vec::new(),
                },
            ),
            Request::ReqUserInfo { req_id } => self.send(
                client_id,
                Response::UserInfo {
                    req_id,
                    white_branding_id: String::new(),
                },
            ),
            // The simulated news providers have no archive.
            Request::ReqHistoricalNews { req_id, .. } => self.send(
                client_id,
                Response::HistoricalNewsEnd {
                    req_id,
                    has_more: false,
                },
            ),
            Request::Unsupported { msg_id, req_id } => {
                self.unsupported(client_id, msg_id, req_id.unwrap_or(-1))
            }
        }
    }

    /// Advance to real (wall-clock) epoch millis `now_ms`: the simulated clock maps it to
    /// simulated time; processes closes, matches orders and emits all streaming data due.
    pub fn advance(&mut self, now_ms: i64) {
        self.clock.observe_real(now_ms);
        let real = if self.cfg.manual_clock {
            now_ms
        } else {
            now_ms.max(self.real_ms)
        };
        let sim = self.clock.sim_at(real).max(self.sim_ms);
        self.real_ms = real;
        self.process_closes(sim);
        self.sim_ms = sim;
        self.match_orders(sim);
        self.emit_ticks(real);
        self.emit_periodic(real, sim);
        self.emit_streams(real, sim);
    }

    // -----------------------------------------------------------------------------------------
    // Admin interface
    // -----------------------------------------------------------------------------------------

    /// Current simulated time (epoch ms).
    pub fn now_ms(&self) -> i64 {
        self.clock.now().max(self.sim_ms)
    }

    pub fn config(&self) -> &WorldConfig {
        &self.cfg
    }

    pub fn clock_speed(&self) -> f64 {
        self.clock.speed()
    }

    /// Change the clock speed (simulated seconds per real second) without a time jump.
    pub fn set_clock_speed(&mut self, speed: f64) {
        self.clock.set_speed(speed);
    }

    /// Change the real-time interval between tick batches of every market data subscription
    /// (benchmarks: 1 ms).
    pub fn set_tick_interval_ms(&mut self, ms: u64) {
        self.cfg.tick_interval_ms = ms.max(1);
    }

    /// Jump the simulated clock forward to `sim_ms` (closes in between are processed on the
    /// next `advance`).
    pub fn jump_to(&mut self, sim_ms: i64) {
        self.clock.jump_to(sim_ms);
    }

    /// Admin price shock: move `symbol` (stock/ETF/FX/future/index, and so its options) by
    /// `pct` (0.05 = +5%) from now on; working orders see it on the next `advance`.
    /// Returns the new quote, or None for an unknown symbol.
    pub fn shock(&mut self, symbol: &str, pct: f64) -> Option<QuoteInfo> {
        let idx = self.uni.by_symbol(symbol, None)?;
        let now = self.now_ms();
        if !self.mkt.shock(&self.uni, idx, now, pct) {
            return None;
        }
        self.quote(symbol)
    }

    /// Account codes.
    pub fn account_ids(&self) -> Vec<String> {
        self.accounts.iter().map(|a| a.id.clone()).collect()
    }

    /// Send a response to every attached client (fault injection, notices).
    pub fn broadcast(&mut self, resp: Response) {
        for c in self.clients.values() {
            c.outbox.send(resp.clone());
        }
    }

    /// Send a response to one client; false when unknown or its queue is full.
    pub fn send_to(&self, client_id: ClientId, resp: Response) -> bool {
        self.clients
            .get(&client_id)
            .is_some_and(|c| c.outbox.send(resp))
    }

    /// Publish a news bulletin (msg_type 1 regular, 2 exchange unavailable, 3 available).
    pub fn inject_bulletin(&mut self, msg_type: i32, message: &str, origin_exchange: &str) -> i32 {
        let b = Bulletin {
            msg_id: self.bulletins.len() as i32 + 1,
            msg_type,
            message: message.into(),
            origin_exchange: origin_exchange.into(),
            time_ms: self.now_ms(),
        };
        let id = b.msg_id;
        let resp = bulletin_response(&b);
        self.bulletins.push(b);
        for c in self.clients.values().filter(|c| c.news) {
            c.outbox.send(resp.clone());
        }
        id
    }

    pub fn bulletins(&self) -> &[Bulletin] {
        &self.bulletins
    }

    /// Run the closing auction now: fill MOC/LOC orders at the current price and expire DAY
    /// orders (without ending the trading day for PnL purposes).
    pub fn trigger_close(&mut self) {
        let now = self.now_ms();
        self.run_close(now);
    }

    pub fn clients(&self) -> Vec<ClientInfo> {
        self.clients
            .iter()
            .map(|(&id, c)| ClientInfo {
                client_id: id,
                attached_ms: c.attached_ms,
                market_data_type: c.md_type,
                subscriptions: self
                    .subscriptions()
                    .iter()
                    .filter(|s| s.client_id == id)
                    .count(),
                auto_bind: c.auto_bind,
            })
            .collect()
    }

    /// Active subscriptions of every kind.
    pub fn subscriptions(&self) -> Vec<SubscriptionInfo> {
        let mut v = Vec::new();
        let sym = |i: usize| self.uni.get(i).contract().local_symbol.clone();
        for s in &self.mkt_subs {
            v.push(SubscriptionInfo {
                client_id: s.client,
                kind: "market_data",
                req_id: Some(s.req_id),
                detail: sym(s.inst),
            });
        }
        for s in &self.hist_subs {
            v.push(SubscriptionInfo {
                client_id: s.client,
                kind: "historical",
                req_id: Some(s.req_id),
                detail: format!("{} {:?}", sym(s.inst), s.bar),
            });
        }
        for s in &self.summary_subs {
            v.push(SubscriptionInfo {
                client_id: s.client,
                kind: "account_summary",
                req_id: Some(s.req_id),
                detail: format!("{}: {}", s.group, s.tags),
            });
        }
        for s in &self.pnl_subs {
            v.push(SubscriptionInfo {
                client_id: s.client,
                kind: if s.single.is_some() {
                    "pnl_single"
                } else {
                    "pnl"
                },
                req_id: Some(s.req_id),
                detail: match s.single {
                    Some(Some(i)) => format!("{} {}", self.accounts[s.acct].id, sym(i)),
                    _ => self.accounts[s.acct].id.clone(),
                },
            });
        }
        for s in &self.multi_subs {
            v.push(SubscriptionInfo {
                client_id: s.client,
                kind: "account_updates_multi",
                req_id: Some(s.req_id),
                detail: s
                    .acct
                    .map(|a| self.accounts[a].id.clone())
                    .unwrap_or("All".into()),
            });
        }
        for s in &self.pos_multi_subs {
            v.push(SubscriptionInfo {
                client_id: s.client,
                kind: "positions_multi",
                req_id: Some(s.req_id),
                detail: s
                    .acct
                    .map(|a| self.accounts[a].id.clone())
                    .unwrap_or("All".into()),
            });
        }
        for (client_id, kind, req_id, inst, detail) in self.streams.list() {
            v.push(SubscriptionInfo {
                client_id,
                kind,
                req_id: Some(req_id),
                detail: format!("{} {detail}", sym(inst)),
            });
        }
        for s in &self.scan_subs {
            v.push(SubscriptionInfo {
                client_id: s.client,
                kind: "scanner",
                req_id: Some(s.req_id),
                detail: s.sub.scan_code.clone(),
            });
        }
        for (&id, c) in &self.clients {
            if c.positions_sub {
                v.push(SubscriptionInfo {
                    client_id: id,
                    kind: "positions",
                    req_id: None,
                    detail: String::new(),
                });
            }
            if let Some((a, _)) = c.acct_updates {
                v.push(SubscriptionInfo {
                    client_id: id,
                    kind: "account_updates",
                    req_id: None,
                    detail: self.accounts[a].id.clone(),
                });
            }
            if c.news {
                v.push(SubscriptionInfo {
                    client_id: id,
                    kind: "news",
                    req_id: None,
                    detail: String::new(),
                });
            }
        }
        v
    }

    /// All orders (open and completed).
    pub fn orders(&self) -> Vec<OrderInfo> {
        self.book
            .orders
            .values()
            .map(|o| OrderInfo {
                client_id: o.client_id,
                order_id: o.order_id,
                perm_id: o.perm_id,
                parent_id: o.order.parent_id,
                account: o.order.account.clone(),
                symbol: o.contract.symbol.clone(),
                sec_type: o.contract.sec_type.clone(),
                con_id: o.contract.con_id,
                action: o.order.action.clone(),
                quantity: o.order.total_quantity,
                order_type: o.otype.to_string(),
                lmt_price: o.order.lmt_price,
                aux_price: o.order.aux_price,
                tif: o.order.tif.clone(),
                oca_group: o.order.oca_group.clone(),
                combo_legs: o.contract.combo_legs.clone(),
                status: o.status_str().to_string(),
                filled: o.filled,
                remaining: o.remaining(),
                avg_fill_price: o.avg_fill,
            })
            .collect()
    }

    /// All non-zero positions with current valuation.
    pub fn positions(&mut self) -> Vec<PositionInfo> {
        let now = self.now_ms();
        let mut out = Vec::new();
        for a in &self.accounts {
            for (&idx, p) in &a.positions {
                let inst = self.uni.get(idx);
                let px = self.mkt.quote(&self.uni, idx, now).last;
                let mv = p.qty * px * inst.multiplier;
                out.push(PositionInfo {
                    account: a.id.clone(),
                    symbol: inst.symbol().to_string(),
                    sec_type: inst.sec_type().to_string(),
                    con_id: inst.con_id(),
                    position: p.qty,
                    avg_cost: p.avg_cost,
                    market_price: px,
                    market_value: mv,
                    unrealized_pnl: mv - p.qty * p.avg_cost,
                    realized_pnl: p.realized,
                });
            }
        }
        out
    }

    /// Account values at current prices.
    pub fn accounts(&mut self) -> Vec<AccountInfo> {
        let now = self.now_ms();
        (0..self.accounts.len())
            .map(|i| {
                let v = self.valuation(i, now);
                AccountInfo {
                    account: self.accounts[i].id.clone(),
                    net_liquidation: v.net_liq,
                    cash: v.cash,
                    gross_position_value: v.gross_position_value,
                    init_margin: v.init_margin,
                    maint_margin: v.maint_margin,
                    available_funds: v.available_funds(),
                    buying_power: v.buying_power(),
                    unrealized_pnl: v.unrealized,
                    realized_pnl: v.realized,
                    daily_pnl: v.daily_pnl,
                }
            })
            .collect()
    }

    /// Current quote of a symbol (stocks/ETFs/FX/futures/index), for the admin interface.
    pub fn quote(&mut self, symbol: &str) -> Option<QuoteInfo> {
        let idx = self.uni.by_symbol(symbol, None)?;
        let now = self.now_ms();
        let q = self.mkt.quote(&self.uni, idx, now);
        Some(QuoteInfo {
            symbol: symbol.to_ascii_uppercase(),
            con_id: self.uni.get(idx).con_id(),
            bid: q.bid,
            ask: q.ask,
            last: q.last,
            prev_close: self.mkt.prev_close(&self.uni, idx, now),
            time_ms: now,
        })
    }

    /// The instrument universe (read-only).
    pub fn universe(&self) -> &Universe {
        &self.uni
    }

    // -----------------------------------------------------------------------------------------
    // Helpers
    // -----------------------------------------------------------------------------------------

    fn send(&self, client_id: ClientId, resp: Response) {
        if let Some(c) = self.clients.get(&client_id) {
            c.outbox.send(resp);
        }
    }

    fn error(&self, client_id: ClientId, id: i32, code: i32, message: &str) {
        self.send(
            client_id,
            Response::Error {
                id,
                time: self.now_ms(),
                code,
                message: message.into(),
                advanced_order_reject_json: String::new(),
            },
        );
    }

    /// Answer a request the simulator does not simulate the way TWS answers it for a paper
    /// account without the relevant subscription, or with [`errors::NOT_SIMULATED`]. Never a
    /// warning-class code (ib_async treats 321 as a warning and would wait for its timeout).
    fn unsupported(&self, client_id: ClientId, msg_id: i32, id: i32) {
        use crate::api::errors;
        match msg_id {
            // Cancels of requests that are never active here: TWS does not answer them.
            53 | 56 | 57 | 89 | 101 | 103 => {}
            // reqFundamentalData: no Reuters/Refinitiv subscription on the paper account.
            52 => self.error(
                client_id,
                id,
                errors::FUNDAMENTALS_NOT_AVAILABLE,
                "We are sorry, but fundamentals data for the security specified is not available.Not allowed",
            ),
            // requestFA / replaceFA on a non-FA (individual) account: TWS's own validation text.
            18 | 19 => self.error(
                client_id,
                id,
                321,
                "Error validating request.-'bX' : cause - FA data operations ignored for non FA customers.",
            ),
            _ => self.error(
                client_id,
                id,
                errors::NOT_SIMULATED,
                &format!(
                    "Unsupported request: message id {msg_id} is not simulated by this paper gateway"
                ),
            ),
        }
    }

    /// Account index for an account code; empty / "All" means the first account.
    fn acct_idx(&self, code: &str) -> Option<usize> {
        let c = code.trim();
        if c.is_empty() || c.eq_ignore_ascii_case("All") {
            return Some(0);
        }
        self.accounts
            .iter()
            .position(|a| a.id.eq_ignore_ascii_case(c))
    }

    fn valuation(&mut self, ai: usize, now: i64) -> accounts::Valuation {
        let mkt = &mut self.mkt;
        let uni = &self.uni;
        self.accounts[ai].valuation(uni, |idx| {
            let q = mkt.quote(uni, idx, now);
            let prev = mkt.prev_close(uni, idx, now);
            let und = match &uni.get(idx).option {
                Some(o) => mkt.mid(uni, o.underlying, now),
                None => 0.0,
            };
            (q.last, prev, und)
        })
    }

    /// Whether instrument `idx` trades at `t`: always in `always` mode; in `us_equities` mode
    /// stocks, ETFs and options during the session, FX and futures on weekdays.
    fn tradable_now(&self, idx: usize, t: i64) -> bool {
        match self.mkt.hours() {
            MarketHours::Always => true,
            MarketHours::UsEquities => match self.uni.get(idx).kind {
                instruments::AssetKind::Fx | instruments::AssetKind::Future => {
                    !clock::is_weekend(t.div_euclid(clock::DAY_MS))
                }
                _ => self.mkt.is_open(t),
            },
        }
    }

    /// Process every session close between the last processed day and `sim`.
    fn process_closes(&mut self, sim: i64) {
        let day = self.mkt.day_of(sim);
        let mut guard = 0;
        while self.current_day < day && guard < 400 {
            let d = self.current_day;
            let knot = self.mkt.knot_ms(d);
            if self.mkt.session(d).is_some() {
                self.run_close(knot);
            }
            for i in 0..self.accounts.len() {
                let v = self.valuation(i, knot);
                self.accounts[i].roll_day(v.net_liq);
            }
            self.current_day += 1;
            guard += 1;
        }
        if self.current_day < day {
            self.current_day = day;
        }
        // Canned bulletins.
        if self.cfg.bulletin_interval_ms > 0 && sim >= self.next_bulletin_ms {
            let (t, m, e) = CANNED_BULLETINS[self.canned_bulletin % CANNED_BULLETINS.len()];
            self.canned_bulletin += 1;
            self.next_bulletin_ms = sim + self.cfg.bulletin_interval_ms as i64;
            self.inject_bulletin(t, m, e);
        }
    }
}

fn bulletin_response(b: &Bulletin) -> Response {
    Response::NewsBulletin {
        msg_id: b.msg_id,
        msg_type: b.msg_type,
        message: b.message.clone(),
        origin_exchange: b.origin_exchange.clone(),
    }
}
