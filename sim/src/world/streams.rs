//! Real-time 5-second bars, tick-by-tick data, market depth and historical ticks.
//!
//! Everything here is derived from the same deterministic price path as the streaming ticks and
//! the historical bars (`Market::quote` / `Market::bars`), so the three views agree:
//!
//! - **Real-time bars** are exactly the `5 secs` historical bars of the same instant, sent once
//!   each bar is complete (TWS sends the bar shortly after its end, dated at its start).
//! - **The tape** (historical ticks TRADES, tick-by-tick Last/AllLast): every simulated second
//!   carries a deterministic number of trades (more for liquid names, few for options) at
//!   deterministic sub-second offsets; each trades at the quote's last price of its instant, so
//!   trade prices lie within the high/low of the 5-second (and real-time) bars; bars of a minute
//!   or more take high/low from the per-minute path, so a trade can print a tick or two beyond
//!   them. Sizes are a sample, not the bar volume.
//!   About one trade in twelve is an odd lot (special condition `I`), reported by AllLast only.
//! - **Quote events** (BID_ASK, MidPoint): the top of book is sampled on a 250 ms grid; an event
//!   is a grid point where bid/ask (or, unless `ignoreSize`, their sizes) differ from the
//!   previous point; for midpoints, where the midpoint differs.
//! - **Market depth**: a book of up to 20 levels per side, one price increment apart, around the
//!   live bid/ask, with deterministic sizes per second; inserted on subscription, then
//!   updated in place (operation 1) every tick interval wherever a level changed.

use super::config::{DataPermissions, MarketHours};
use super::instruments::{self, AssetKind};
use super::market::{BarSpan, Show, hash3, mix64};
use super::{World, clock};
use crate::api::{
    Bar, ClientId, Contract, DepthExchange, ReqId, Response, TickBidAsk, TickLast, TickMid, errors,
};

/// (price, size) rows of one side of a book, best first.
type Levels = Vec<(f64, f64)>;

/// Grid of quote events (ms).
const QUOTE_GRID_MS: i64 = 250;
/// Most ticks one historical-ticks request returns (as TWS).
const MAX_HIST_TICKS: usize = 1000;
/// Most simulated time a tick scan walks (ms) before giving up.
const MAX_SCAN_MS: i64 = 8 * 86_400_000;
/// Most events one tick-by-tick subscription emits per `advance` when catching up.
const MAX_TBT_BATCH: usize = 500;
/// Most depth rows per side.
const MAX_DEPTH_ROWS: usize = 20;

/// What a tick-by-tick subscription streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TbtKind {
    Last,
    AllLast,
    BidAsk,
    MidPoint,
}

impl TbtKind {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "last" => Self::Last,
            "alllast" => Self::AllLast,
            "bidask" => Self::BidAsk,
            "midpoint" => Self::MidPoint,
            _ => return None,
        })
    }
    fn label(self) -> &'static str {
        match self {
            Self::Last => "Last",
            Self::AllLast => "AllLast",
            Self::BidAsk => "BidAsk",
            Self::MidPoint => "MidPoint",
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct RtbSub {
    client: ClientId,
    req_id: ReqId,
    inst: usize,
    show: Show,
    /// Simulated start of the next bar to send.
    next_start: i64,
}

#[derive(Debug, Clone)]
pub(super) struct TbtSub {
    client: ClientId,
    req_id: ReqId,
    inst: usize,
    kind: TbtKind,
    ignore_size: bool,
    /// Events up to this simulated instant (inclusive) have been sent.
    done_to: i64,
}

#[derive(Debug, Clone)]
pub(super) struct DepthSub {
    client: ClientId,
    req_id: ReqId,
    inst: usize,
    rows: usize,
    smart: bool,
    next_real: i64,
    /// Last sent (price, size) per row: bids and asks.
    bids: Vec<(f64, f64)>,
    asks: Vec<(f64, f64)>,
}

/// Subscriptions of this module.
#[derive(Debug, Default)]
pub(super) struct Streams {
    rtb: Vec<RtbSub>,
    tbt: Vec<TbtSub>,
    depth: Vec<DepthSub>,
}

impl Streams {
    pub(super) fn detach(&mut self, client: ClientId) {
        self.rtb.retain(|s| s.client != client);
        self.tbt.retain(|s| s.client != client);
        self.depth.retain(|s| s.client != client);
    }

    /// (client, kind, req id, instrument, detail) of every subscription, for the admin view.
    pub(super) fn list(&self) -> Vec<(ClientId, &'static str, ReqId, usize, String)> {
        let mut v = Vec::new();
        for s in &self.rtb {
            v.push((
                s.client,
                "realtime_bars",
                s.req_id,
                s.inst,
                format!("{:?}", s.show),
            ));
        }
        for s in &self.tbt {
            v.push((
                s.client,
                "tick_by_tick",
                s.req_id,
                s.inst,
                s.kind.label().to_string(),
            ));
        }
        for s in &self.depth {
            v.push((
                s.client,
                "market_depth",
                s.req_id,
                s.inst,
                format!("{} rows{}", s.rows, if s.smart { " smart" } else { "" }),
            ));
        }
        v
    }
}

/// Exchanges a trade prints on (stocks/ETFs).
const STK_VENUES: &[&str] = &["NASDAQ", "ARCA", "NYSE", "BATS", "IEX", "EDGX", "DRCTEDGE"];
/// Market makers shown in SMART depth rows.
const DEPTH_MMS: &[&str] = &["NSDQ", "ARCA", "NYSE", "BATS", "IEX", "EDGX", "BYX", "MEMX"];

fn parse_rtb_show(s: &str) -> Option<Show> {
    Some(match s.trim().to_ascii_uppercase().as_str() {
        "TRADES" => Show::Trades,
        "MIDPOINT" => Show::Midpoint,
        "BID" => Show::Bid,
        "ASK" => Show::Ask,
        _ => return None,
    })
}

/// What a historical-ticks request shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HtShow {
    Trades,
    BidAsk,
    Midpoint,
}

fn round8(v: f64) -> f64 {
    (v * 1e8).round() / 1e8
}

impl World {
    fn stream_error(&self, client: ClientId, id: i32, code: i32, msg: &str) {
        self.error(client, id, code, msg);
    }

    /// Resolve a contract for a stream request; sends error 200 on failure.
    fn stream_resolve(&self, client: ClientId, req_id: ReqId, c: &Contract) -> Option<usize> {
        match self.uni.resolve(c) {
            Ok(i) => Some(i),
            Err(msg) => {
                self.stream_error(client, req_id, errors::NO_SECURITY_DEFINITION, &msg);
                None
            }
        }
    }

    fn req_id_in_use(&self, client: ClientId, req_id: ReqId) -> bool {
        let s = &self.streams;
        s.rtb
            .iter()
            .any(|x| x.client == client && x.req_id == req_id)
            || s.tbt
                .iter()
                .any(|x| x.client == client && x.req_id == req_id)
            || s.depth
                .iter()
                .any(|x| x.client == client && x.req_id == req_id)
    }

    fn duplicate_id(&self, client: ClientId, req_id: ReqId) -> bool {
        if self.req_id_in_use(client, req_id) {
            self.stream_error(
                client,
                req_id,
                errors::DUPLICATE_TICKER_ID,
                "Error processing request.-'bW' : cause - Duplicate ticker id",
            );
            return true;
        }
        false
    }

    /// Live-only streams are refused when the world only grants delayed data.
    fn needs_live(&self, client: ClientId, req_id: ReqId, idx: usize) -> bool {
        if self.cfg.market_data == DataPermissions::Delayed {
            let sym = self.uni.get(idx).contract().local_symbol.clone();
            self.stream_error(
                client,
                req_id,
                errors::NOT_SUBSCRIBED,
                &format!("Requested market data is not subscribed.{sym}"),
            );
            return true;
        }
        false
    }

    // ------------------------------------------------------------------- real-time bars

    pub(super) fn req_real_time_bars(
        &mut self,
        client: ClientId,
        req_id: ReqId,
        contract: &Contract,
        what_to_show: &str,
        now: i64,
    ) {
        if self.duplicate_id(client, req_id) {
            return;
        }
        let Some(idx) = self.stream_resolve(client, req_id, contract) else {
            return;
        };
        let Some(show) = parse_rtb_show(what_to_show) else {
            self.stream_error(
                client,
                req_id,
                321,
                &format!("Error validating request.-'bY' : cause - Invalid whatToShow: {what_to_show}. Valid values: TRADES, MIDPOINT, BID, ASK"),
            );
            return;
        };
        if self.needs_live(client, req_id, idx) {
            return;
        }
        let kind = self.uni.get(idx).kind;
        if (kind == AssetKind::Fx && show == Show::Trades)
            || (kind == AssetKind::Index && show != Show::Trades)
        {
            let sym = self.uni.get(idx).contract().local_symbol.clone();
            self.stream_error(
                client,
                req_id,
                420,
                &format!("Invalid Real-time Query:No {what_to_show} data for {sym}"),
            );
            return;
        }
        self.streams.rtb.push(RtbSub {
            client,
            req_id,
            inst: idx,
            show,
            next_start: now.div_euclid(5_000) * 5_000,
        });
    }

    pub(super) fn cancel_real_time_bars(&mut self, client: ClientId, req_id: ReqId) {
        self.streams
            .rtb
            .retain(|s| !(s.client == client && s.req_id == req_id));
    }

    fn emit_real_time_bars(&mut self, sim: i64) {
        if self.streams.rtb.is_empty() {
            return;
        }
        let mut subs = std::mem::take(&mut self.streams.rtb);
        for s in subs.iter_mut() {
            // After a clock jump only the last minute of bars is sent.
            if sim - s.next_start > 60_000 {
                s.next_start = (sim - 60_000).div_euclid(5_000) * 5_000;
            }
            while s.next_start + 5_000 <= sim {
                let a = s.next_start;
                s.next_start += 5_000;
                let bars = self.mkt.bars(
                    &self.uni,
                    s.inst,
                    a,
                    a + 5_000,
                    BarSpan::Intraday(5_000),
                    s.show,
                    sim,
                );
                if let Some(bar) = bars.first().filter(|b| b.time * 1000 == a) {
                    let mut bar: Bar = *bar;
                    if s.show != Show::Trades {
                        // TWS: real-time bars other than TRADES carry zero volume/WAP/count.
                        bar.volume = 0.0;
                        bar.wap = 0.0;
                        bar.count = 0;
                    }
                    self.send(
                        s.client,
                        Response::RealTimeBar {
                            req_id: s.req_id,
                            bar,
                        },
                    );
                }
            }
        }
        subs.append(&mut self.streams.rtb);
        self.streams.rtb = subs;
    }

    // ------------------------------------------------------------------- the tape

    /// Trades printed during simulated second `sec` (chronological). Empty when the instrument
    /// does not trade then (FX has no trades; indices print a last price without size).
    fn trades_in_second(&mut self, idx: usize, sec: i64) -> Vec<(i64, TickLast)> {
        let t0 = sec * 1000;
        if !self.tradable_now(idx, t0) {
            return Vec::new();
        }
        let inst = self.uni.get(idx);
        let kind = inst.kind;
        let h = hash3(
            self.cfg.seed,
            inst.con_id() as u32 as u64 ^ 0x7A9E,
            sec as u64,
        );
        let n = match kind {
            AssetKind::Fx => 0,
            AssetKind::Index => 1,
            AssetKind::Option => u64::from(h.is_multiple_of(16)),
            AssetKind::Future => h % 4,
            _ if inst.avg_volume >= 5e6 => h % 5,
            _ if inst.avg_volume >= 5e5 => h % 3,
            _ => u64::from(h.is_multiple_of(3)),
        } as usize;
        let venue_fixed = match kind {
            AssetKind::Future | AssetKind::Index => Some(inst.contract().exchange.clone()),
            AssetKind::Option => Some("CBOE".to_string()),
            _ => None,
        };
        let mut offs: Vec<u64> = (0..n)
            .map(|j| mix64(h ^ (j as u64 + 1).wrapping_mul(0x9E37_79B9)) % 1000)
            .collect();
        offs.sort_unstable();
        let mut out = Vec::with_capacity(n);
        for (j, off) in offs.into_iter().enumerate() {
            let r = mix64(h.wrapping_add(j as u64 * 7919));
            let t = t0 + off as i64;
            let q = self.mkt.quote(&self.uni, idx, t);
            let odd_lot = matches!(kind, AssetKind::Stock | AssetKind::Etf) && r.is_multiple_of(12);
            let size = match kind {
                AssetKind::Index => 0.0,
                AssetKind::Future => (1 + r % 8) as f64,
                AssetKind::Option => (1 + r % 15) as f64,
                _ if odd_lot => (1 + (r >> 8) % 99) as f64,
                _ => (100 * (1 + (r >> 8) % 6)) as f64,
            };
            let exchange = venue_fixed.clone().unwrap_or_else(|| {
                STK_VENUES[((r >> 16) % STK_VENUES.len() as u64) as usize].into()
            });
            out.push((
                t,
                TickLast {
                    time: sec,
                    price: q.last,
                    size,
                    past_limit: false,
                    unreported: kind != AssetKind::Index && (r >> 24).is_multiple_of(50),
                    exchange,
                    special_conditions: if odd_lot {
                        "   I".into()
                    } else {
                        String::new()
                    },
                },
            ));
        }
        out
    }

    /// Whether a trade is shown by "Last" (AllLast shows every trade).
    fn shown_by_last(t: &TickLast) -> bool {
        !t.unreported && t.special_conditions.trim().is_empty()
    }

    /// Top of book at grid instant `t`: (bid, ask, bid size, ask size).
    fn top_at(&mut self, idx: usize, t: i64) -> (f64, f64, f64, f64) {
        let q = self.mkt.quote(&self.uni, idx, t);
        let inst = self.uni.get(idx);
        let r = hash3(
            self.cfg.seed,
            inst.con_id() as u32 as u64 ^ 0xB1D,
            t.div_euclid(QUOTE_GRID_MS) as u64,
        );
        let (a, b) = ((r & 0xFF) as f64, ((r >> 8) & 0xFF) as f64);
        let (bs, as_) = match inst.kind {
            AssetKind::Fx => ((1.0 + a % 20.0) * 1e6, (1.0 + b % 20.0) * 1e6),
            AssetKind::Future => (1.0 + a % 60.0, 1.0 + b % 60.0),
            AssetKind::Option => (1.0 + a % 150.0, 1.0 + b % 150.0),
            AssetKind::Index => (0.0, 0.0),
            _ => (100.0 * (1.0 + a % 40.0), 100.0 * (1.0 + b % 40.0)),
        };
        (q.bid, q.ask, bs, as_)
    }

    /// Quote event at grid instant `t` (None when the top of book did not change).
    fn quote_event(&mut self, idx: usize, t: i64, kind: TbtKind, ignore_size: bool) -> Option<f64> {
        if !self.tradable_now(idx, t) {
            return None;
        }
        let cur = self.top_at(idx, t);
        let prev = self.top_at(idx, t - QUOTE_GRID_MS);
        let changed = match kind {
            TbtKind::MidPoint => round8((cur.0 + cur.1) / 2.0) != round8((prev.0 + prev.1) / 2.0),
            _ if ignore_size => cur.0 != prev.0 || cur.1 != prev.1,
            _ => cur != prev,
        };
        changed.then_some(round8((cur.0 + cur.1) / 2.0))
    }

    /// Day high/low (last prices) at `t`, for the bid-past-low / ask-past-high attributes.
    fn day_range(&mut self, idx: usize, t: i64) -> (f64, f64) {
        let s = self.mkt.day_stats(&self.uni, idx, t);
        (s.low, s.high)
    }

    fn bid_ask_tick(&mut self, idx: usize, t: i64, range: (f64, f64)) -> TickBidAsk {
        let (bid, ask, bs, as_) = self.top_at(idx, t);
        TickBidAsk {
            time: t.div_euclid(1000),
            bid,
            ask,
            bid_size: bs,
            ask_size: as_,
            bid_past_low: bid < range.0,
            ask_past_high: ask > range.1,
        }
    }

    /// Step over closed periods: the next (forward) or previous instant that trades.
    fn skip_closed(&self, idx: usize, t: i64, forward: bool) -> i64 {
        if self.mkt.hours() == MarketHours::Always || self.tradable_now(idx, t) {
            return t;
        }
        let step = if forward { 60_000 } else { -60_000 };
        let mut u = t;
        for _ in 0..(MAX_SCAN_MS / 60_000) {
            u += step;
            if self.tradable_now(idx, u) {
                return if forward { u } else { u + 59_000 };
            }
        }
        u
    }

    /// Tape events of `kind` in `(from, to]` (chronological), at most `limit` (the earliest).
    fn events_forward(
        &mut self,
        idx: usize,
        kind: TbtKind,
        ignore_size: bool,
        from: i64,
        to: i64,
        limit: usize,
    ) -> Vec<(i64, Ev)> {
        let mut out = Vec::new();
        let range = match kind {
            TbtKind::BidAsk => self.day_range(idx, to),
            _ => (0.0, 0.0),
        };
        match kind {
            TbtKind::Last | TbtKind::AllLast => {
                let mut sec = from.div_euclid(1000);
                let mut guard = 0i64;
                while sec * 1000 <= to && out.len() < limit && guard < MAX_SCAN_MS / 1000 {
                    let next = self.skip_closed(idx, sec * 1000, true);
                    if next > sec * 1000 {
                        guard += (next - sec * 1000) / 1000;
                        sec = next.div_euclid(1000);
                        continue;
                    }
                    for (t, tr) in self.trades_in_second(idx, sec) {
                        if t > from
                            && t <= to
                            && (kind == TbtKind::AllLast || Self::shown_by_last(&tr))
                        {
                            out.push((t, Ev::Last(tr)));
                        }
                    }
                    sec += 1;
                    guard += 1;
                }
            }
            TbtKind::BidAsk | TbtKind::MidPoint => {
                let mut t = (from.div_euclid(QUOTE_GRID_MS) + 1) * QUOTE_GRID_MS;
                let start = t;
                while t <= to && out.len() < limit && t - start < MAX_SCAN_MS {
                    let next = self.skip_closed(idx, t, true);
                    if next > t {
                        t = (next.div_euclid(QUOTE_GRID_MS) + 1) * QUOTE_GRID_MS;
                        continue;
                    }
                    if let Some(mid) = self.quote_event(idx, t, kind, ignore_size) {
                        let ev = if kind == TbtKind::MidPoint {
                            Ev::Mid(TickMid {
                                time: t.div_euclid(1000),
                                price: mid,
                                size: 0.0,
                            })
                        } else {
                            Ev::BidAsk(self.bid_ask_tick(idx, t, range))
                        };
                        out.push((t, ev));
                    }
                    t += QUOTE_GRID_MS;
                }
            }
        }
        out
    }

    /// The last `limit` tape events of `kind` at or before `to` (chronological), not before
    /// `floor`.
    fn events_backward(
        &mut self,
        idx: usize,
        kind: TbtKind,
        ignore_size: bool,
        to: i64,
        floor: i64,
        limit: usize,
    ) -> Vec<(i64, Ev)> {
        let mut out: Vec<(i64, Ev)> = Vec::new();
        let range = match kind {
            TbtKind::BidAsk => self.day_range(idx, to),
            _ => (0.0, 0.0),
        };
        let floor = floor.max(to - MAX_SCAN_MS);
        match kind {
            TbtKind::Last | TbtKind::AllLast => {
                let mut sec = to.div_euclid(1000);
                while sec * 1000 + 999 > floor && out.len() < limit {
                    let prev = self.skip_closed(idx, sec * 1000, false);
                    if prev < sec * 1000 {
                        sec = prev.div_euclid(1000);
                        continue;
                    }
                    let mut v = self.trades_in_second(idx, sec);
                    while let Some((t, tr)) = v.pop() {
                        if t <= to
                            && t > floor
                            && (kind == TbtKind::AllLast || Self::shown_by_last(&tr))
                        {
                            out.push((t, Ev::Last(tr)));
                        }
                    }
                    sec -= 1;
                }
            }
            TbtKind::BidAsk | TbtKind::MidPoint => {
                let mut t = to.div_euclid(QUOTE_GRID_MS) * QUOTE_GRID_MS;
                while t > floor && out.len() < limit {
                    let prev = self.skip_closed(idx, t, false);
                    if prev < t {
                        t = prev.div_euclid(QUOTE_GRID_MS) * QUOTE_GRID_MS;
                        continue;
                    }
                    if let Some(mid) = self.quote_event(idx, t, kind, ignore_size) {
                        let ev = if kind == TbtKind::MidPoint {
                            Ev::Mid(TickMid {
                                time: t.div_euclid(1000),
                                price: mid,
                                size: 0.0,
                            })
                        } else {
                            Ev::BidAsk(self.bid_ask_tick(idx, t, range))
                        };
                        out.push((t, ev));
                    }
                    t -= QUOTE_GRID_MS;
                }
            }
        }
        out.truncate(limit);
        out.reverse();
        out
    }

    // ------------------------------------------------------------------- tick-by-tick

    #[allow(clippy::too_many_arguments)]
    pub(super) fn req_tick_by_tick(
        &mut self,
        client: ClientId,
        req_id: ReqId,
        contract: &Contract,
        tick_type: &str,
        number_of_ticks: i32,
        ignore_size: bool,
        now: i64,
    ) {
        if self.duplicate_id(client, req_id) {
            return;
        }
        let Some(idx) = self.stream_resolve(client, req_id, contract) else {
            return;
        };
        let Some(kind) = TbtKind::parse(tick_type) else {
            self.stream_error(
                client,
                req_id,
                321,
                &format!("Error validating request.-'cX' : cause - Invalid tick type: {tick_type}. Valid values: Last, AllLast, BidAsk, MidPoint"),
            );
            return;
        };
        if self.needs_live(client, req_id, idx) {
            return;
        }
        let ik = self.uni.get(idx).kind;
        if (ik == AssetKind::Fx && matches!(kind, TbtKind::Last | TbtKind::AllLast))
            || (ik == AssetKind::Index && kind == TbtKind::BidAsk)
        {
            let sym = self.uni.get(idx).contract().local_symbol.clone();
            self.stream_error(
                client,
                req_id,
                10189,
                &format!(
                    "Failed to request tick-by-tick data.{} ticks are not available for {sym}",
                    kind.label()
                ),
            );
            return;
        }
        let max = self.cfg.max_tick_by_tick_subscriptions as usize;
        if self.streams.tbt.len() >= max {
            self.stream_error(
                client,
                req_id,
                errors::MAX_TICK_BY_TICK,
                "Max number of tick-by-tick requests has been reached.",
            );
            return;
        }
        if number_of_ticks > 0 {
            let n = (number_of_ticks as usize).min(MAX_HIST_TICKS);
            let evs = self.events_backward(idx, kind, ignore_size, now, i64::MIN, n);
            for (_, ev) in evs {
                self.send(client, ev.tick_by_tick(req_id, kind));
            }
        }
        self.streams.tbt.push(TbtSub {
            client,
            req_id,
            inst: idx,
            kind,
            ignore_size,
            done_to: now,
        });
    }

    pub(super) fn cancel_tick_by_tick(&mut self, client: ClientId, req_id: ReqId) {
        self.streams
            .tbt
            .retain(|s| !(s.client == client && s.req_id == req_id));
    }

    fn emit_tick_by_tick(&mut self, sim: i64) {
        if self.streams.tbt.is_empty() {
            return;
        }
        let mut subs = std::mem::take(&mut self.streams.tbt);
        for s in subs.iter_mut() {
            if sim <= s.done_to {
                continue;
            }
            if sim - s.done_to > 60_000 {
                s.done_to = sim - 60_000;
            }
            let evs =
                self.events_forward(s.inst, s.kind, s.ignore_size, s.done_to, sim, MAX_TBT_BATCH);
            s.done_to = if evs.len() >= MAX_TBT_BATCH {
                evs.last().map_or(sim, |e| e.0)
            } else {
                sim
            };
            for (_, ev) in evs {
                self.send(s.client, ev.tick_by_tick(s.req_id, s.kind));
            }
        }
        subs.append(&mut self.streams.tbt);
        self.streams.tbt = subs;
    }

    // ------------------------------------------------------------------- historical ticks

    #[allow(clippy::too_many_arguments)]
    pub(super) fn req_historical_ticks(
        &mut self,
        client: ClientId,
        req_id: ReqId,
        contract: &Contract,
        start: &str,
        end: &str,
        number_of_ticks: i32,
        what_to_show: &str,
        ignore_size: bool,
        now: i64,
    ) {
        let Some(idx) = self.stream_resolve(client, req_id, contract) else {
            return;
        };
        let show = match what_to_show.trim().to_ascii_uppercase().as_str() {
            "TRADES" => HtShow::Trades,
            "BID_ASK" => HtShow::BidAsk,
            "MIDPOINT" => HtShow::Midpoint,
            _ => {
                self.stream_error(
                    client,
                    req_id,
                    321,
                    &format!("Error validating request.-'bZ' : cause - Invalid whatToShow: {what_to_show}. Valid values: TRADES, BID_ASK, MIDPOINT"),
                );
                return;
            }
        };
        let parse = |s: &str| -> Result<Option<i64>, ()> {
            if s.trim().is_empty() {
                Ok(None)
            } else {
                clock::parse_tws_datetime(s).map(Some).ok_or(())
            }
        };
        let (Ok(start), Ok(end)) = (parse(start), parse(end)) else {
            self.stream_error(
                client,
                req_id,
                10314,
                "End Date/Time: The date, time, or time-zone entered is invalid. The correct format is yyyymmdd hh:mm:ss xx/xxxx where yyyymmdd and xx/xxxx are optional.",
            );
            return;
        };
        let inst = self.uni.get(idx);
        let kind = inst.kind;
        if (kind == AssetKind::Fx && show == HtShow::Trades)
            || (kind == AssetKind::Index && show == HtShow::BidAsk)
        {
            let desc = format!(
                "{}@{} {}",
                inst.contract().local_symbol,
                inst.contract().exchange,
                what_to_show.trim().to_ascii_uppercase()
            );
            self.stream_error(
                client,
                req_id,
                errors::HISTORICAL_DATA_ERROR,
                &format!("Historical Market Data Service error message:No historical market data for {desc}"),
            );
            return;
        }
        let n = number_of_ticks.clamp(1, MAX_HIST_TICKS as i32) as usize;
        let tk = match show {
            HtShow::Trades => TbtKind::AllLast,
            HtShow::BidAsk => TbtKind::BidAsk,
            HtShow::Midpoint => TbtKind::MidPoint,
        };
        let end_t = end.unwrap_or(now).min(now);
        let evs = match start {
            Some(s) if s <= end_t => {
                let mut v = self.events_forward(idx, tk, ignore_size, s - 1, end_t, n);
                // TWS completes the last second rather than cutting it.
                if v.len() == n
                    && let Some(&(last_t, _)) = v.last()
                {
                    let sec_end = last_t.div_euclid(1000) * 1000 + 999;
                    let more =
                        self.events_forward(idx, tk, ignore_size, last_t, sec_end.min(end_t), 64);
                    v.extend(more);
                }
                v
            }
            Some(_) => Vec::new(),
            None => self.events_backward(idx, tk, ignore_size, end_t, i64::MIN, n),
        };
        let resp = Ev::historical_ticks(req_id, show, evs);
        self.send(client, resp);
    }

    // ------------------------------------------------------------------- market depth

    pub(super) fn req_mkt_depth(
        &mut self,
        client: ClientId,
        req_id: ReqId,
        contract: &Contract,
        num_rows: i32,
        smart: bool,
        now: i64,
    ) {
        if self.duplicate_id(client, req_id) {
            return;
        }
        let Some(idx) = self.stream_resolve(client, req_id, contract) else {
            return;
        };
        if self.needs_live(client, req_id, idx) {
            return;
        }
        if self.uni.get(idx).kind == AssetKind::Index {
            self.stream_error(
                client,
                req_id,
                errors::DEPTH_NOT_SUPPORTED,
                "Deep market data is not supported for this combination of security type/exchange",
            );
            return;
        }
        let max = self.cfg.max_depth_subscriptions as usize;
        if self.streams.depth.len() >= max {
            self.stream_error(
                client,
                req_id,
                errors::MAX_DEPTH_REQUESTS,
                &format!("Max number ({max}) of market depth requests has been reached"),
            );
            return;
        }
        let rows = (num_rows.max(1) as usize).min(MAX_DEPTH_ROWS);
        let mut sub = DepthSub {
            client,
            req_id,
            inst: idx,
            rows,
            smart,
            next_real: self.clock.real_now() + self.cfg.tick_interval_ms.max(1) as i64,
            bids: Vec::new(),
            asks: Vec::new(),
        };
        self.emit_depth(&mut sub, now);
        self.streams.depth.push(sub);
    }

    pub(super) fn cancel_mkt_depth(&mut self, client: ClientId, req_id: ReqId) {
        self.streams
            .depth
            .retain(|s| !(s.client == client && s.req_id == req_id));
    }

    /// The synthetic book at `t`: `rows` (price, size) levels per side, best first.
    fn depth_book(&mut self, idx: usize, rows: usize, t: i64) -> (Levels, Levels) {
        let (bid, ask, bs, as_) = self.top_at(idx, t);
        let inst = self.uni.get(idx);
        let tick = instruments::increment_for(inst.market_rule(), bid.max(ask));
        let sec = t.div_euclid(1000) as u64;
        let key = inst.con_id() as u32 as u64;
        let unit = match inst.kind {
            AssetKind::Fx => 1e6,
            AssetKind::Future | AssetKind::Option => 1.0,
            _ => 100.0,
        };
        let level = |i: usize, side: u64, top: f64| -> f64 {
            if i == 0 {
                return top;
            }
            // Sizes change every few seconds per level, deeper levels are thicker.
            let r = hash3(key ^ side, i as u64, sec / (1 + (i as u64 % 3)));
            unit * (1.0 + (r % 30) as f64 + 2.0 * i as f64)
        };
        let bids = (0..rows)
            .map(|i| {
                let p = round8(bid - i as f64 * tick);
                (p.max(tick), level(i, 0xB1, bs))
            })
            .collect();
        let asks = (0..rows)
            .map(|i| (round8(ask + i as f64 * tick), level(i, 0xA5, as_)))
            .collect();
        (bids, asks)
    }

    fn emit_depth(&mut self, sub: &mut DepthSub, t: i64) {
        let (bids, asks) = self.depth_book(sub.inst, sub.rows, t);
        let Some(c) = self.clients.get(&sub.client) else {
            return;
        };
        let first = sub.bids.is_empty();
        for (side, new, old) in [(1, &bids, &mut sub.bids), (0, &asks, &mut sub.asks)] {
            for (pos, &(price, size)) in new.iter().enumerate() {
                if !first && old.get(pos) == Some(&(price, size)) {
                    continue;
                }
                let mm = sub.smart.then(|| {
                    let r = hash3(sub.req_id as u64, pos as u64, (price * 1e4) as u64 ^ side);
                    DEPTH_MMS[(r % DEPTH_MMS.len() as u64) as usize].to_string()
                });
                c.outbox.send(Response::MarketDepth {
                    req_id: sub.req_id,
                    position: pos as i32,
                    market_maker: mm,
                    operation: if first { 0 } else { 1 },
                    side: side as i32,
                    price,
                    size,
                    is_smart_depth: sub.smart,
                });
            }
            *old = new.clone();
        }
    }

    fn emit_depth_updates(&mut self, real: i64, sim: i64) {
        if self.streams.depth.is_empty() {
            return;
        }
        let interval = self.cfg.tick_interval_ms.max(1) as i64;
        let mut subs = std::mem::take(&mut self.streams.depth);
        for s in subs.iter_mut() {
            if s.next_real > real {
                continue;
            }
            s.next_real = real + interval;
            if !self.tradable_now(s.inst, sim) {
                continue;
            }
            self.emit_depth(s, sim);
        }
        subs.append(&mut self.streams.depth);
        self.streams.depth = subs;
    }

    pub(super) fn req_mkt_depth_exchanges(&self, client: ClientId) {
        let d = |exchange: &str, sec_type: &str, listing: &str, service: &str, agg: i32| {
            DepthExchange {
                exchange: exchange.into(),
                sec_type: sec_type.into(),
                listing_exchange: listing.into(),
                service_data_type: service.into(),
                agg_group: agg,
            }
        };
        let exchanges = vec![
            d("ISLAND", "STK", "NASDAQ", "Deep2", 7),
            d("ARCA", "STK", "NYSE", "Deep", 2),
            d("NYSE", "STK", "NYSE", "Deep", 1),
            d("BATS", "STK", "", "Deep", 2),
            d("IEX", "STK", "", "Deep", 2),
            d("SMART", "STK", "", "Deep", 2147483647),
            d("CME", "FUT", "", "Deep", 2147483647),
            d("IDEALPRO", "CASH", "", "Deep", 4),
            d("CBOE", "OPT", "", "Deep", 2147483647),
        ];
        self.send(client, Response::MktDepthExchanges { exchanges });
    }

    /// Everything streaming that this module emits (called from `advance`).
    pub(super) fn emit_streams(&mut self, real: i64, sim: i64) {
        self.emit_real_time_bars(sim);
        self.emit_tick_by_tick(sim);
        self.emit_depth_updates(real, sim);
    }
}

/// One tape event.
#[derive(Debug, Clone)]
enum Ev {
    Last(TickLast),
    BidAsk(TickBidAsk),
    Mid(TickMid),
}

impl Ev {
    /// The one-message historicalTicks answer for `show` from tape events (of that kind).
    fn historical_ticks(req_id: ReqId, show: HtShow, evs: Vec<(i64, Ev)>) -> Response {
        let (mut last, mut bid_ask, mut mid) = (Vec::new(), Vec::new(), Vec::new());
        for (_, e) in evs {
            match e {
                Ev::Last(t) => last.push(t),
                Ev::BidAsk(t) => bid_ask.push(t),
                Ev::Mid(t) => mid.push(t),
            }
        }
        match show {
            HtShow::Trades => Response::HistoricalTicksLast {
                req_id,
                ticks: last,
                done: true,
            },
            HtShow::BidAsk => Response::HistoricalTicksBidAsk {
                req_id,
                ticks: bid_ask,
                done: true,
            },
            HtShow::Midpoint => Response::HistoricalTicks {
                req_id,
                ticks: mid,
                done: true,
            },
        }
    }

    fn tick_by_tick(self, req_id: ReqId, kind: TbtKind) -> Response {
        match self {
            Ev::Last(tick) => Response::TickByTickLast {
                req_id,
                tick_type: if kind == TbtKind::AllLast { 2 } else { 1 },
                tick,
            },
            Ev::BidAsk(tick) => Response::TickByTickBidAsk { req_id, tick },
            Ev::Mid(m) => Response::TickByTickMidPoint {
                req_id,
                time: m.time,
                mid: m.price,
            },
        }
    }
}
