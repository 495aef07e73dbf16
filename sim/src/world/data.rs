//! Market data: streaming ticks, snapshots and historical bars.

use super::clock::{self, DAY_MS};
use super::config::DataPermissions;
use super::instruments::AssetKind;
use super::market::{BarSpan, DayKind, Show, mix64};
use super::{HistSub, MktSub, World};
use crate::api::{ClientId, Contract, ReqId, Response, tick};

/// A decoded reqHistoricalData.
pub(super) struct HistReq {
    pub req_id: ReqId,
    pub contract: Contract,
    pub end_date_time: String,
    pub bar_size: String,
    pub duration: String,
    pub use_rth: bool,
    pub what_to_show: String,
    pub format_date: i32,
    pub keep_up_to_date: bool,
}

impl HistReq {
    /// `use_rth` has no effect: in `always` mode every hour is regular trading hours, in
    /// `us_equities` mode prices only move (and bars only exist) inside the regular session.
    fn regular_hours_only(&self) -> bool {
        self.use_rth
    }
}

/// Legal bar sizes and their spans.
pub const BAR_SIZES: &[(&str, BarSpan)] = &[
    ("1 secs", BarSpan::Intraday(1_000)),
    ("5 secs", BarSpan::Intraday(5_000)),
    ("10 secs", BarSpan::Intraday(10_000)),
    ("15 secs", BarSpan::Intraday(15_000)),
    ("30 secs", BarSpan::Intraday(30_000)),
    ("1 min", BarSpan::Intraday(60_000)),
    ("2 mins", BarSpan::Intraday(120_000)),
    ("3 mins", BarSpan::Intraday(180_000)),
    ("5 mins", BarSpan::Intraday(300_000)),
    ("10 mins", BarSpan::Intraday(600_000)),
    ("15 mins", BarSpan::Intraday(900_000)),
    ("20 mins", BarSpan::Intraday(1_200_000)),
    ("30 mins", BarSpan::Intraday(1_800_000)),
    ("1 hour", BarSpan::Intraday(3_600_000)),
    ("2 hours", BarSpan::Intraday(7_200_000)),
    ("3 hours", BarSpan::Intraday(10_800_000)),
    ("4 hours", BarSpan::Intraday(14_400_000)),
    ("8 hours", BarSpan::Intraday(28_800_000)),
    ("1 day", BarSpan::Days(DayKind::Day)),
    ("1W", BarSpan::Days(DayKind::Week)),
    ("1M", BarSpan::Days(DayKind::Month)),
];

const LEGAL_BAR_SIZES: &str = "1 secs, 5 secs, 10 secs, 15 secs, 30 secs, 1 min, 2 mins, 3 mins, 5 mins, 10 mins, 15 mins, 20 mins, 30 mins, 1 hour, 2 hours, 3 hours, 4 hours, 8 hours, 1 day, 1W, 1M";

/// Parse a bar size setting (also accepts "1 sec", "1 mins", "1 hours", "1 week", "1 month").
pub fn parse_bar_size(s: &str) -> Option<BarSpan> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    let alias = match t.as_str() {
        "1 sec" => "1 secs",
        "1 mins" => "1 min",
        "1 hours" => "1 hour",
        "1 days" => "1 day",
        "1w" | "1 w" | "1 week" | "1 weeks" => "1W",
        "1m" | "1 m" | "1 month" | "1 months" => "1M",
        other => other,
    };
    BAR_SIZES.iter().find(|(n, _)| *n == alias).map(|(_, b)| *b)
}

/// Duration unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurUnit {
    S,
    D,
    W,
    M,
    Y,
}

/// Parse "N S|D|W|M|Y".
pub fn parse_duration(s: &str) -> Option<(i64, DurUnit)> {
    let mut it = s.split_whitespace();
    let n: i64 = it.next()?.parse().ok()?;
    let u = match it.next()?.to_ascii_uppercase().as_str() {
        "S" => DurUnit::S,
        "D" => DurUnit::D,
        "W" => DurUnit::W,
        "M" => DurUnit::M,
        "Y" => DurUnit::Y,
        _ => return None,
    };
    if it.next().is_some() || n <= 0 {
        return None;
    }
    Some((n, u))
}

/// Approximate length of a duration in seconds.
pub fn duration_secs(n: i64, u: DurUnit) -> i64 {
    n.saturating_mul(match u {
        DurUnit::S => 1,
        DurUnit::D => 86_400,
        DurUnit::W => 7 * 86_400,
        DurUnit::M => 31 * 86_400,
        DurUnit::Y => 366 * 86_400,
    })
}

/// TWS-like validation of a bar size / duration combination; Err = message of error 162.
pub fn check_combo(bar: BarSpan, n: i64, u: DurUnit) -> Result<(), String> {
    let secs = duration_secs(n, u);
    if (u == DurUnit::S && n > 86_400) || secs > 30 * 366 * 86_400 {
        return Err("Historical Market Data Service error message:Time length exceed max.".into());
    }
    if u == DurUnit::Y && n > 30 {
        return Err("Historical Market Data Service error message:Time length exceed max.".into());
    }
    let min_bar_ms: i64 = if secs <= 2_000 {
        1_000
    } else if secs <= 7_200 {
        5_000
    } else if secs <= 14_400 {
        10_000
    } else if secs <= 28_800 {
        30_000
    } else if secs <= 31 * 86_400 {
        60_000
    } else if secs <= 366 * 86_400 {
        1_800_000
    } else {
        86_400_000
    };
    let bar_ms = match bar {
        BarSpan::Intraday(ms) => ms,
        BarSpan::Days(_) => 86_400_000,
    };
    if bar_ms < min_bar_ms {
        return Err(
            "Historical Market Data Service error message:Time length exceed max.".to_string(),
        );
    }
    Ok(())
}

/// Volatility series a historical request may ask for instead of prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum VolShow {
    Historical,
    Implied,
}

fn parse_vol_show(s: &str) -> Option<VolShow> {
    match s.trim().to_ascii_uppercase().as_str() {
        "HISTORICAL_VOLATILITY" => Some(VolShow::Historical),
        "OPTION_IMPLIED_VOLATILITY" => Some(VolShow::Implied),
        _ => None,
    }
}

/// Turn price bars into volatility bars: realized volatility of the last 20 closes
/// (annualised by the bar length) or the implied volatility level with a smooth wobble.
fn vol_bars(
    bars: &mut [crate::api::Bar],
    kind: VolShow,
    base_vol: f64,
    base_iv: f64,
    bar_secs: f64,
) {
    let per_year = (365.0 * 86_400.0 / bar_secs.max(1.0)).sqrt();
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    for (i, b) in bars.iter_mut().enumerate() {
        let v = match kind {
            VolShow::Historical => {
                let lo = i.saturating_sub(20);
                let rets: Vec<f64> = closes[lo..=i]
                    .windows(2)
                    .map(|w| (w[1] / w[0]).ln())
                    .collect();
                if rets.len() < 5 {
                    base_vol
                } else {
                    let m = rets.iter().sum::<f64>() / rets.len() as f64;
                    let var = rets.iter().map(|r| (r - m) * (r - m)).sum::<f64>()
                        / (rets.len() - 1) as f64;
                    var.sqrt() * per_year
                }
            }
            VolShow::Implied => {
                let ph = (b.time as f64 / 86_400.0 / 9.0).sin();
                base_iv * (1.0 + 0.08 * ph)
            }
        };
        let v = (v * 1e6).round() / 1e6;
        *b = crate::api::Bar {
            time: b.time,
            open: v,
            high: v,
            low: v,
            close: v,
            volume: -1.0,
            wap: -1.0,
            count: -1,
        };
    }
}

fn parse_show(s: &str) -> Option<Show> {
    Some(match s.trim().to_ascii_uppercase().as_str() {
        "TRADES" | "ADJUSTED_LAST" => Show::Trades,
        "MIDPOINT" => Show::Midpoint,
        "BID" => Show::Bid,
        "ASK" => Show::Ask,
        "BID_ASK" => Show::BidAsk,
        _ => return None,
    })
}

/// Delayed counterpart of a live tick type.
pub fn delayed_tick(tt: i32) -> i32 {
    match tt {
        tick::BID => 66,
        tick::ASK => 67,
        tick::LAST => 68,
        tick::BID_SIZE => 69,
        tick::ASK_SIZE => 70,
        tick::LAST_SIZE => 71,
        tick::HIGH => 72,
        tick::LOW => 73,
        tick::VOLUME => 74,
        tick::CLOSE => 75,
        tick::OPEN => 76,
        tick::LAST_TIMESTAMP => 88,
        10..=13 => tt + 70,
        other => other,
    }
}

/// Delay of delayed market data.
const DELAY_MS: i64 = 15 * 60_000;

#[inline]
fn sizes(kind: AssetKind, r: u64) -> (f64, f64, f64) {
    let a = (r & 0xFF) as f64;
    let b = ((r >> 8) & 0xFF) as f64;
    let c = ((r >> 16) & 0xFF) as f64;
    match kind {
        AssetKind::Fx => ((1.0 + a % 20.0) * 1e6, (1.0 + b % 20.0) * 1e6, 0.0),
        AssetKind::Future => (1.0 + a % 60.0, 1.0 + b % 60.0, 1.0 + c % 10.0),
        AssetKind::Option => (1.0 + a % 150.0, 1.0 + b % 150.0, 1.0 + c % 20.0),
        _ => (
            100.0 * (1.0 + a % 40.0),
            100.0 * (1.0 + b % 40.0),
            100.0 * (1.0 + c % 10.0),
        ),
    }
}

impl World {
    pub(super) fn req_mkt_data(
        &mut self,
        client: ClientId,
        req_id: ReqId,
        contract: &Contract,
        generic: &str,
        snapshot: bool,
        now: i64,
    ) {
        if self
            .mkt_subs
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
        let idx = match self.uni.resolve(contract) {
            Ok(i) => i,
            Err(msg) => {
                self.error(client, req_id, 200, &msg);
                return;
            }
        };
        let generics: Vec<&str> = generic
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .collect();
        if snapshot && !generics.is_empty() {
            self.error(
                client,
                req_id,
                321,
                "Error validating request.-'bW' : cause - Snapshot market data subscription is not applicable to generic ticks",
            );
            return;
        }
        let md_type = self.clients.get(&client).map_or(1, |c| c.md_type);
        let (delayed, served) = match self.cfg.market_data {
            DataPermissions::Live => {
                // Live permissions: live data whatever was asked; frozen when asked for
                // (delayed-)frozen data while the market is closed.
                let closed = !self.tradable_now(idx, now);
                (
                    false,
                    if (md_type == 2 || md_type == 4) && closed {
                        2
                    } else {
                        1
                    },
                )
            }
            DataPermissions::Delayed => {
                if md_type == 1 || md_type == 2 {
                    let sym = &self.uni.get(idx).contract().symbol;
                    self.error(
                        client,
                        req_id,
                        10167,
                        &format!("Requested market data is not subscribed. Displaying delayed market data for {sym}."),
                    );
                }
                (true, if md_type == 4 || md_type == 2 { 4 } else { 3 })
            }
        };
        let inst = self.uni.get(idx);
        self.send(
            client,
            Response::TickReqParams {
                req_id,
                min_tick: inst.min_tick(),
                bbo_exchange: "9c0001".into(),
                snapshot_permissions: 3,
            },
        );
        self.send(
            client,
            Response::MarketDataType {
                req_id,
                market_data_type: served,
            },
        );
        let t = if delayed { now - DELAY_MS } else { now };
        let stats = self.mkt.day_stats(&self.uni, idx, t);
        let rng = mix64(((client as u64) << 32) ^ req_id as u32 as u64 ^ self.cfg.seed);
        let mut sub = MktSub {
            client,
            req_id,
            inst: idx,
            next_real: self.clock.real_now() + self.cfg.tick_interval_ms.max(1) as i64,
            delayed,
            high: stats.high,
            low: stats.low,
            last_ts_sec: 0,
            rng,
            rt_volume: generics.contains(&"233"),
        };
        self.emit_tick_batch(&mut sub, t, true);
        let tt = |v: i32| if delayed { delayed_tick(v) } else { v };
        let kind = self.uni.get(idx).kind;
        for (ty, v) in [(tick::OPEN, stats.open), (tick::CLOSE, stats.prev_close)] {
            if kind == AssetKind::Fx && ty == tick::OPEN {
                continue;
            }
            self.send(
                client,
                Response::TickPrice {
                    req_id,
                    tick_type: tt(ty),
                    price: v,
                    size: None,
                    attr_mask: 0,
                },
            );
        }
        if snapshot {
            self.send(client, Response::TickSnapshotEnd { req_id });
            return;
        }
        self.send_generic_ticks(client, req_id, idx, &generics, t);
        self.mkt_subs.push(sub);
    }

    /// One-off values of requested generic ticks (100, 101, 104, 106, 165, 221, 236, 588).
    fn send_generic_ticks(
        &mut self,
        client: ClientId,
        req_id: ReqId,
        idx: usize,
        generics: &[&str],
        t: i64,
    ) {
        let inst = self.uni.get(idx);
        let (kind, vol, iv, avg_volume) = (inst.kind, inst.vol, inst.implied_vol, inst.avg_volume);
        let h = mix64(inst.con_id() as u64 ^ (t / 86_400_000) as u64);
        let size = |tick_type: i32, size: f64| Response::TickSize {
            req_id,
            tick_type,
            size,
        };
        let generic = |tick_type: i32, value: f64| Response::TickGeneric {
            req_id,
            tick_type,
            value,
        };
        let price = |tick_type: i32, price: f64| Response::TickPrice {
            req_id,
            tick_type,
            price,
            size: None,
            attr_mask: 0,
        };
        let mut out = Vec::new();
        if matches!(kind, AssetKind::Stock | AssetKind::Etf) {
            out.push(generic(tick::HALTED, 0.0));
        }
        for g in generics {
            match *g {
                "100" => {
                    out.push(size(29, (5_000 + h % 50_000) as f64));
                    out.push(size(30, (4_000 + (h >> 16) % 50_000) as f64));
                }
                "101" => {
                    out.push(size(27, (100_000 + (h >> 8) % 900_000) as f64));
                    out.push(size(28, (100_000 + (h >> 24) % 900_000) as f64));
                }
                "104" => out.push(generic(23, vol)),
                "106" => out.push(generic(24, iv)),
                "165" => {
                    for (days, lo_t, hi_t) in [(91, 15, 16), (182, 17, 18), (365, 19, 20)] {
                        let (lo, hi) = self.mkt.close_extremes(&self.uni, idx, days, t);
                        out.push(price(lo_t, lo));
                        out.push(price(hi_t, hi));
                    }
                    out.push(size(21, avg_volume.round()));
                }
                "221" => {
                    let q = self.mkt.quote(&self.uni, idx, t);
                    out.push(price(37, q.last));
                }
                "236" => {
                    out.push(generic(46, 3.0));
                    out.push(size(89, (1_000_000 + h % 50_000_000) as f64));
                }
                "588" if kind == AssetKind::Future => {
                    out.push(size(86, (2_000_000 + h % 200_000) as f64))
                }
                _ => {}
            }
        }
        for r in out {
            self.send(client, r);
        }
    }

    /// Emit one batch of ticks for a subscription at simulated time `t`.
    fn emit_tick_batch(&mut self, sub: &mut MktSub, t: i64, full: bool) {
        let idx = sub.inst;
        let kind = self.uni.get(idx).kind;
        let q = self.mkt.quote(&self.uni, idx, t);
        sub.rng = mix64(sub.rng.wrapping_add(0x9E37_79B9_7F4A_7C15));
        let (bs, as_, ls) = sizes(kind, sub.rng);
        let Some(c) = self.clients.get(&sub.client) else {
            return;
        };
        let out = &c.outbox;
        let req_id = sub.req_id;
        let d = sub.delayed;
        let tt = |v: i32| if d { delayed_tick(v) } else { v };
        if kind != AssetKind::Index {
            out.send(Response::TickPrice {
                req_id,
                tick_type: tt(tick::BID),
                price: q.bid,
                size: Some(bs),
                attr_mask: 0,
            });
            out.send(Response::TickPrice {
                req_id,
                tick_type: tt(tick::ASK),
                price: q.ask,
                size: Some(as_),
                attr_mask: 0,
            });
        }
        if kind != AssetKind::Fx {
            out.send(Response::TickPrice {
                req_id,
                tick_type: tt(tick::LAST),
                price: q.last,
                size: if kind == AssetKind::Index {
                    None
                } else {
                    Some(ls)
                },
                attr_mask: 0,
            });
        }
        let high_changed = q.last > sub.high;
        let low_changed = q.last < sub.low;
        if high_changed {
            sub.high = q.last;
        }
        if low_changed {
            sub.low = q.last;
        }
        if full || high_changed {
            out.send(Response::TickPrice {
                req_id,
                tick_type: tt(tick::HIGH),
                price: sub.high,
                size: None,
                attr_mask: 0,
            });
        }
        if full || low_changed {
            out.send(Response::TickPrice {
                req_id,
                tick_type: tt(tick::LOW),
                price: sub.low,
                size: None,
                attr_mask: 0,
            });
        }
        if sub.rt_volume && kind != AssetKind::Fx {
            let vol = self.mkt.day_stats_volume(&self.uni, idx, t);
            out.send(Response::TickString {
                req_id,
                tick_type: 48,
                value: format!("{};{};{};{};{};false", q.last, ls, t, vol, q.mid),
            });
        }
        let secs = t.div_euclid(1000);
        let ts_due = full || secs != sub.last_ts_sec;
        if matches!(
            kind,
            AssetKind::Stock | AssetKind::Etf | AssetKind::Future | AssetKind::Option
        ) && ts_due
        {
            let vol = self.mkt.day_stats_volume(&self.uni, idx, t);
            out.send(Response::TickSize {
                req_id,
                tick_type: tt(tick::VOLUME),
                size: vol,
            });
            out.send(Response::TickString {
                req_id,
                tick_type: tt(tick::LAST_TIMESTAMP),
                value: secs.to_string(),
            });
        }
        sub.last_ts_sec = secs;
        if kind == AssetKind::Option && (full || ts_due) {
            let (g, s) = self.mkt.option_greeks(&self.uni, idx, t);
            let tys: &[i32] = if full {
                &[
                    tick::BID_OPTION,
                    tick::ASK_OPTION,
                    tick::LAST_OPTION,
                    tick::MODEL_OPTION,
                ]
            } else {
                &[tick::MODEL_OPTION]
            };
            for &ty in tys {
                let px = match ty {
                    tick::BID_OPTION => q.bid,
                    tick::ASK_OPTION => q.ask,
                    tick::LAST_OPTION => q.last,
                    _ => g.price,
                };
                out.send(Response::TickOptionComputation {
                    req_id,
                    tick_type: tt(ty),
                    tick_attrib: 1,
                    implied_vol: Some(g.iv),
                    delta: Some(g.delta),
                    opt_price: Some(px),
                    pv_dividend: Some(0.0),
                    gamma: Some(g.gamma),
                    vega: Some(g.vega),
                    theta: Some(g.theta),
                    und_price: Some(s),
                });
            }
        }
    }

    /// Emit due streaming ticks (real-time cadence).
    pub(super) fn emit_ticks(&mut self, real: i64) {
        if self.mkt_subs.is_empty() {
            return;
        }
        let interval = self.cfg.tick_interval_ms.max(1) as i64;
        let max_batches = self.cfg.max_catch_up_ticks.max(1) as i64;
        // In `us_equities` mode nothing trades outside the session: no ticks (prices are flat).
        let us_closed = self.mkt.hours() == super::config::MarketHours::UsEquities
            && !self.mkt.is_open(self.sim_ms);
        let mut subs = std::mem::take(&mut self.mkt_subs);
        for sub in subs.iter_mut() {
            if sub.next_real > real {
                continue;
            }
            if us_closed && !self.tradable_now(sub.inst, self.sim_ms) {
                sub.next_real = real + interval;
                continue;
            }
            let behind = (real - sub.next_real) / interval + 1;
            if behind > max_batches {
                sub.next_real = real - (max_batches - 1) * interval;
            }
            while sub.next_real <= real {
                let mut t = self.clock.sim_at(sub.next_real).min(self.sim_ms);
                if sub.delayed {
                    t -= DELAY_MS;
                }
                self.emit_tick_batch(sub, t, false);
                sub.next_real += interval;
            }
        }
        // Keep subscriptions added meanwhile (none: handlers do not run during advance).
        subs.append(&mut self.mkt_subs);
        self.mkt_subs = subs;
    }

    pub(super) fn req_historical(&mut self, client: ClientId, r: HistReq, now: i64) {
        let req_id = r.req_id;
        let _ = r.regular_hours_only();
        let idx = match self.uni.resolve(&r.contract) {
            Ok(i) => i,
            Err(msg) => {
                self.error(client, req_id, 200, &msg);
                return;
            }
        };
        let Some(bar) = parse_bar_size(&r.bar_size) else {
            self.error(
                client,
                req_id,
                321,
                &format!("Error validating request.-'bI' : cause - Historical data bar size setting is invalid. Legal ones are: {LEGAL_BAR_SIZES}"),
            );
            return;
        };
        let Some((n, unit)) = parse_duration(&r.duration) else {
            self.error(
                client,
                req_id,
                321,
                &format!("Error validating request.-'bI' : cause - Invalid duration format: {}. Valid formats: <integer> {{S|D|W|M|Y}}", r.duration),
            );
            return;
        };
        if r.what_to_show.trim().eq_ignore_ascii_case("SCHEDULE") {
            // reqHistoricalSchedule: not simulated; fail at once (321 would leave ib_async
            // waiting, as it treats 321 as a warning).
            self.error(
                client,
                req_id,
                crate::api::errors::NOT_SIMULATED,
                "Unsupported request: historical schedule (whatToShow SCHEDULE) is not simulated by this paper gateway",
            );
            return;
        }
        let vol_show = parse_vol_show(&r.what_to_show);
        let Some(show) = parse_show(&r.what_to_show).or(vol_show.map(|_| Show::Trades)) else {
            self.error(
                client,
                req_id,
                321,
                &format!(
                    "Error validating request.-'bI' : cause - Invalid whatToShow: {}",
                    r.what_to_show
                ),
            );
            return;
        };
        if r.keep_up_to_date && !r.end_date_time.trim().is_empty() {
            self.error(
                client,
                req_id,
                321,
                "Error validating request.-'bI' : cause - End date not supported with live updates",
            );
            return;
        }
        if let Err(msg) = check_combo(bar, n, unit) {
            self.error(client, req_id, 162, &msg);
            return;
        }
        let inst = self.uni.get(idx);
        let desc = format!(
            "{}@{} {}",
            inst.contract().local_symbol,
            inst.contract().exchange,
            match show {
                Show::Trades => "Trades",
                Show::Midpoint => "Midpoint",
                Show::Bid => "Bid",
                Show::Ask => "Ask",
                Show::BidAsk => "Bid_Ask",
            }
        );
        if (inst.kind == AssetKind::Fx && show == Show::Trades)
            || (inst.kind == AssetKind::Index && show != Show::Trades)
        {
            self.error(
                client,
                req_id,
                162,
                &format!("Historical Market Data Service error message:No historical market data for {desc} {}", r.bar_size),
            );
            return;
        }
        let end = if r.end_date_time.trim().is_empty() {
            now
        } else {
            match clock::parse_tws_datetime(&r.end_date_time) {
                Some(t) => t.min(now),
                None => {
                    self.error(client, req_id, 10314, "End Date/Time: The date, time, or time-zone entered is invalid. The correct format is yyyymmdd hh:mm:ss xx/xxxx where yyyymmdd and xx/xxxx are optional. E.g.: 20031126 15:59:00 US/Eastern  Note that there is a space between the date and time, and between the time and time-zone.  If no date is specified, current date is assumed. If no time-zone is specified, local time-zone is assumed(deprecated).  You can also provide yyyymmddd-hh:mm:ss time is in UTC. Note that there is a dash between the date and time in UTC notation.");
                    return;
                }
            }
        };
        let start = self.duration_start(end, n, unit, bar);
        let mut bars = self.mkt.bars(&self.uni, idx, start, end, bar, show, now);
        if let Some(vs) = vol_show {
            let inst = self.uni.get(idx);
            let secs = match bar {
                BarSpan::Intraday(ms) => ms as f64 / 1000.0,
                BarSpan::Days(DayKind::Day) => 86_400.0,
                BarSpan::Days(DayKind::Week) => 7.0 * 86_400.0,
                BarSpan::Days(DayKind::Month) => 30.0 * 86_400.0,
            };
            vol_bars(&mut bars, vs, inst.vol, inst.implied_vol, secs);
        }
        if bars.is_empty() {
            self.error(
                client,
                req_id,
                162,
                &format!("Historical Market Data Service error message:HMDS query returned no data: {desc}"),
            );
            return;
        }
        self.send(
            client,
            Response::HistoricalData {
                req_id,
                bars,
                format_date: r.format_date,
            },
        );
        self.send(
            client,
            Response::HistoricalDataEnd {
                req_id,
                start: clock::fmt_eastern(start),
                end: clock::fmt_eastern(end),
            },
        );
        if r.keep_up_to_date {
            let bar_ms = match bar {
                BarSpan::Intraday(ms) => ms,
                BarSpan::Days(_) => DAY_MS,
            };
            self.hist_subs
                .retain(|s| !(s.client == client && s.req_id == req_id));
            self.hist_subs.push(HistSub {
                client,
                req_id,
                inst: idx,
                bar,
                bar_ms,
                show,
                format_date: r.format_date,
                next_real: self.clock.real_now() + self.cfg.bar_update_interval_ms as i64,
                cur_start: now.div_euclid(bar_ms) * bar_ms,
            });
        }
    }

    /// Start of a historical window of `n unit` ending at `end`.
    fn duration_start(&self, end: i64, n: i64, unit: DurUnit, bar: BarSpan) -> i64 {
        match unit {
            DurUnit::S => end - n * 1000,
            DurUnit::D => {
                // N trading sessions back (inclusive of the current one).
                let mut d = self.mkt.day_of(end);
                let mut left = n;
                let mut guard = 0;
                loop {
                    if self.mkt.session(d).is_some() {
                        left -= 1;
                        if left == 0 {
                            break;
                        }
                    }
                    d -= 1;
                    guard += 1;
                    if guard > 4000 {
                        break;
                    }
                }
                let s = self.mkt.knot_ms(d - 1);
                if matches!(bar, BarSpan::Days(_)) {
                    s + 1
                } else {
                    s
                }
            }
            DurUnit::W => end - n * 7 * DAY_MS,
            DurUnit::M => {
                let c = clock::civil_of_ms(end);
                let total = c.y * 12 + (c.mo as i64 - 1) - n;
                let (y, m) = (total.div_euclid(12), total.rem_euclid(12) as u32 + 1);
                let day = clock::days_from_civil(y, m, c.d.min(28));
                day * DAY_MS + end.rem_euclid(DAY_MS)
            }
            DurUnit::Y => {
                let c = clock::civil_of_ms(end);
                let day = clock::days_from_civil(c.y - n, c.mo, c.d.min(28));
                day * DAY_MS + end.rem_euclid(DAY_MS)
            }
        }
    }

    pub(super) fn req_head_timestamp(
        &mut self,
        client: ClientId,
        req_id: ReqId,
        contract: &Contract,
        format_date: i32,
    ) {
        if let Err(msg) = self.uni.resolve(contract) {
            self.error(client, req_id, 200, &msg);
            return;
        }
        let mut d = self.mkt.first_day() + 1;
        while self.mkt.session(d).is_none() {
            d += 1;
        }
        let (s, _) = self.mkt.session(d).expect("session");
        let head_timestamp = if format_date == 2 {
            (s / 1000).to_string()
        } else {
            clock::fmt_utc_dash(s)
        };
        self.send(
            client,
            Response::HeadTimestamp {
                req_id,
                head_timestamp,
            },
        );
    }

    /// keepUpToDate updates.
    pub(super) fn emit_bar_updates(&mut self, real: i64, sim: i64) {
        if self.hist_subs.is_empty() {
            return;
        }
        let interval = self.cfg.bar_update_interval_ms.max(1) as i64;
        let mut subs = std::mem::take(&mut self.hist_subs);
        for s in subs.iter_mut() {
            if s.next_real > real {
                continue;
            }
            s.next_real = real + interval;
            let cur = sim.div_euclid(s.bar_ms) * s.bar_ms;
            let mut starts = Vec::new();
            if cur != s.cur_start {
                starts.push(s.cur_start);
            }
            starts.push(cur);
            s.cur_start = cur;
            for st in starts {
                let (a, b) = match s.bar {
                    BarSpan::Intraday(ms) => (st, st + ms),
                    BarSpan::Days(_) => (sim - 1, sim),
                };
                let bars = self.mkt.bars(&self.uni, s.inst, a, b, s.bar, s.show, sim);
                if let Some(bar) = bars.last() {
                    self.send(
                        s.client,
                        Response::HistoricalDataUpdate {
                            req_id: s.req_id,
                            bar: *bar,
                            format_date: s.format_date,
                        },
                    );
                }
            }
        }
        subs.append(&mut self.hist_subs);
        self.hist_subs = subs;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_sizes_and_durations() {
        assert_eq!(parse_bar_size("1 day"), Some(BarSpan::Days(DayKind::Day)));
        assert_eq!(parse_bar_size("5 mins"), Some(BarSpan::Intraday(300_000)));
        assert_eq!(parse_bar_size("1 week"), Some(BarSpan::Days(DayKind::Week)));
        assert_eq!(parse_bar_size("7 mins"), None);
        assert_eq!(parse_duration("30 D"), Some((30, DurUnit::D)));
        assert_eq!(parse_duration("1 Y"), Some((1, DurUnit::Y)));
        assert_eq!(parse_duration("10"), None);
        assert_eq!(parse_duration("3 X"), None);
        assert!(check_combo(BarSpan::Intraday(1_000), 1800, DurUnit::S).is_ok());
        assert!(check_combo(BarSpan::Intraday(1_000), 1, DurUnit::D).is_err());
        assert!(check_combo(BarSpan::Intraday(60_000), 1, DurUnit::W).is_ok());
        assert!(check_combo(BarSpan::Intraday(60_000), 1, DurUnit::Y).is_err());
        assert!(check_combo(BarSpan::Intraday(3_600_000), 1, DurUnit::Y).is_ok());
        assert!(check_combo(BarSpan::Days(DayKind::Day), 5, DurUnit::Y).is_ok());
        assert_eq!(delayed_tick(tick::BID), 66);
        assert_eq!(delayed_tick(tick::LAST_TIMESTAMP), 88);
    }
}
