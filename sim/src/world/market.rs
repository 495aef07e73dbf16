//! Price paths: deterministic, seeded geometric Brownian motion per instrument.
//!
//! Construction (all random numbers come from hashes of `(seed, con_id, time index)`, so any
//! point of the path can be computed on demand and is the same whenever it is computed):
//! - **Daily closes**: one knot per calendar day at the session close ("knot"). The log return
//!   of a trading day is `(mu - sigma^2/2) dt + sigma sqrt(dt) (rho m_d + sqrt(1-rho^2) e_d)`
//!   with a market factor `m_d` shared by all instruments (so `rho` gives beta). Non-trading
//!   days (weekends in `us_equities` mode) have zero return. The close of the anchor day equals
//!   the instrument's configured price; history runs backwards from it.
//! - **Minutes**: inside a session, a Brownian bridge seeded by `(seed, con_id, day)` between the
//!   previous and the current daily close, one point per minute.
//! - **Seconds**: a Brownian bridge between consecutive minute points, seeded by the minute.
//! - Between second points prices are interpolated linearly (in log space).
//!
//! Historical bars are built from exactly these points, so the latest bar's close equals the
//! live price and daily bars agree with intraday bars (highs/lows at minute resolution).
//! Options have no path of their own: they are priced by Black-Scholes off the underlying.

use std::collections::HashMap;

use super::clock::{self, DAY_MS};
use super::config::MarketHours;
use super::instruments::{self, AssetKind, Universe};

// ---------------------------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------------------------

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[inline]
pub fn hash3(a: u64, b: u64, c: u64) -> u64 {
    mix64(a.wrapping_add(GOLDEN) ^ mix64(b.wrapping_add(GOLDEN.rotate_left(17)) ^ mix64(c)))
}

/// SplitMix64 generator with Box-Muller normals.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
    spare: Option<f64>,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self {
            state: seed,
            spare: None,
        }
    }
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix64(self.state)
    }
    /// Uniform in (0, 1).
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    #[inline]
    pub fn normal(&mut self) -> f64 {
        if let Some(v) = self.spare.take() {
            return v;
        }
        let u1 = self.uniform();
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let (s, c) = (std::f64::consts::TAU * u2).sin_cos();
        self.spare = Some(r * s);
        r * c
    }
}

/// A standard normal determined by a hash.
fn hash_normal(h: u64) -> f64 {
    let mut r = Rng::new(h);
    r.normal()
}

const MARKET_KEY: u64 = 0x4D4B_5446;

// ---------------------------------------------------------------------------------------------
// Black-Scholes
// ---------------------------------------------------------------------------------------------

fn norm_cdf(x: f64) -> f64 {
    // Abramowitz & Stegun 7.1.26 on erf, |error| < 1.5e-7.
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-z * z).exp();
    if x >= 0.0 {
        0.5 * (1.0 + y)
    } else {
        0.5 * (1.0 - y)
    }
}

fn norm_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// Black-Scholes value and greeks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Greeks {
    pub price: f64,
    pub delta: f64,
    pub gamma: f64,
    /// Per 1 vol point (0.01).
    pub vega: f64,
    /// Per calendar day.
    pub theta: f64,
    pub iv: f64,
}

/// Black-Scholes for a European option (no dividends). `t` in years.
pub fn black_scholes(call: bool, s: f64, k: f64, t: f64, r: f64, sigma: f64) -> Greeks {
    let t = t.max(1e-7);
    let sq = sigma * t.sqrt();
    let d1 = ((s / k).ln() + (r + 0.5 * sigma * sigma) * t) / sq;
    let d2 = d1 - sq;
    let disc = (-r * t).exp();
    let (price, delta, theta_y) = if call {
        (
            s * norm_cdf(d1) - k * disc * norm_cdf(d2),
            norm_cdf(d1),
            -s * norm_pdf(d1) * sigma / (2.0 * t.sqrt()) - r * k * disc * norm_cdf(d2),
        )
    } else {
        (
            k * disc * norm_cdf(-d2) - s * norm_cdf(-d1),
            norm_cdf(d1) - 1.0,
            -s * norm_pdf(d1) * sigma / (2.0 * t.sqrt()) + r * k * disc * norm_cdf(-d2),
        )
    };
    Greeks {
        price: price.max(0.0),
        delta,
        gamma: norm_pdf(d1) / (s * sq),
        vega: s * norm_pdf(d1) * t.sqrt() / 100.0,
        theta: theta_y / 365.0,
        iv: sigma,
    }
}

/// Implied volatility with a simple smile/skew around the underlying's level.
pub fn smile_iv(base: f64, s: f64, k: f64) -> f64 {
    let m = (k / s).ln();
    (base * (1.0 - 0.6 * m + 2.5 * m * m)).clamp(0.05, 3.0)
}

// ---------------------------------------------------------------------------------------------
// Paths
// ---------------------------------------------------------------------------------------------

/// Minute points of one session.
#[derive(Debug, Clone)]
struct DayData {
    day: i64,
    n: usize,
    /// Log prices at minute boundaries, `n + 1` values.
    knots: Vec<f64>,
    /// How far the per-second path of minute `i` rises above the higher of its two knots
    /// (`n` values, >= 0): its high is exactly `max(knots[i], knots[i + 1]) + ext_hi[i]`.
    ext_hi: Vec<f64>,
    /// How far it falls below the lower knot: its low is `min(..) - ext_lo[i]`.
    ext_lo: Vec<f64>,
    /// Cumulative volume at minute boundaries, `n + 1` values.
    cumvol: Vec<f64>,
}

impl DayData {
    /// Highest and lowest log price over the whole minutes `i0..i1` of the session.
    fn minutes_range(&self, i0: usize, i1: usize) -> (f64, f64) {
        let (mut hi, mut lo) = (self.knots[i0], self.knots[i0]);
        for i in i0..i1.min(self.n) {
            let (a, b) = (self.knots[i], self.knots[i + 1]);
            hi = hi.max(a.max(b) + self.ext_hi[i]);
            lo = lo.min(a.min(b) - self.ext_lo[i]);
        }
        (hi, lo)
    }
}

/// Shape a minute's per-second path (`sec[0]` and `sec[60]` are the knots) so that its
/// maximum is exactly `max(knots) + up` and its minimum exactly `min(knots) - down`: the
/// parts beyond the knots are scaled (a monotone map, so the shape is kept); a side that
/// never leaves the knots' range gets its extreme at second `spikes.0` / `spikes.1`.
fn fit_extremes(sec: &mut [f64; 61], up: f64, down: f64, spikes: (usize, usize)) {
    let (top, bottom) = (sec[0].max(sec[60]), sec[0].min(sec[60]));
    let max = sec.iter().copied().fold(f64::MIN, f64::max);
    let min = sec.iter().copied().fold(f64::MAX, f64::min);
    for v in sec.iter_mut() {
        if *v > top {
            *v = top + (*v - top) * (up / (max - top));
        } else if *v < bottom {
            *v = bottom - (bottom - *v) * (down / (bottom - min));
        }
    }
    // The interior second holding the extreme of one side is not overwritten by the other's.
    let arg = |sec: &[f64; 61], better: fn(f64, f64) -> bool| {
        (1..60).fold(1, |k, j| if better(sec[j], sec[k]) { j } else { k })
    };
    let away = |k: usize, taken: usize| if k == taken { k % 59 + 1 } else { k };
    if max <= top && up > 0.0 {
        let k = away(spikes.0, arg(sec, |a, b| a < b));
        sec[k] = top + up;
    }
    if min >= bottom && down > 0.0 {
        let k = away(spikes.1, arg(sec, |a, b| a > b));
        sec[k] = bottom - down;
    }
}

/// Open/high/low/close (log prices) and volume of one session.
#[derive(Debug, Clone, Copy)]
struct DailyAgg {
    open: f64,
    high: f64,
    low: f64,
    close: f64,
    volume: f64,
}

#[derive(Debug, Clone)]
struct Path {
    key: u64,
    drift_dt: f64,
    sig_dt: f64,
    rho: f64,
    avg_volume: f64,
    logc: Vec<f64>,
    day: Option<DayData>,
    sec_minute: i64,
    sec: [f64; 61],
    daily: HashMap<i64, DailyAgg>,
    /// Admin price shocks: (effective minute, log shift), sorted by time.
    shocks: Vec<(i64, f64)>,
}

/// A quote at an instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quote {
    pub mid: f64,
    pub bid: f64,
    pub ask: f64,
    pub last: f64,
}

/// Session statistics up to an instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayStats {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub prev_close: f64,
    pub volume: f64,
}

/// What a historical request shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    Trades,
    Midpoint,
    Bid,
    Ask,
    BidAsk,
}

/// A historical bar with prices already transformed.
pub use crate::api::Bar;

/// All price paths.
#[derive(Debug, Clone)]
pub struct Market {
    seed: u64,
    hours: MarketHours,
    close_off_ms: i64,
    anchor_day: i64,
    lo_day: i64,
    rate: f64,
    paths: Vec<Option<Path>>,
}

impl Market {
    pub fn new(
        seed: u64,
        hours: MarketHours,
        close_off_ms: i64,
        anchor_day: i64,
        history_days: i64,
        rate: f64,
        uni: &Universe,
    ) -> Self {
        let dt = match hours {
            MarketHours::Always => 1.0 / 365.0,
            MarketHours::UsEquities => 1.0 / 252.0,
        };
        let lo_day = anchor_day - history_days;
        let mut m = Market {
            seed,
            hours,
            close_off_ms,
            anchor_day,
            lo_day,
            rate,
            paths: Vec::with_capacity(uni.len()),
        };
        for inst in &uni.instruments {
            if inst.kind == AssetKind::Option {
                m.paths.push(None);
                continue;
            }
            let mut p = Path {
                key: inst.con_id() as u32 as u64,
                drift_dt: (inst.drift - 0.5 * inst.vol * inst.vol) * dt,
                sig_dt: inst.vol * dt.sqrt(),
                rho: inst.market_corr.clamp(-1.0, 1.0),
                avg_volume: inst.avg_volume,
                logc: vec![0.0; (anchor_day - lo_day + 1) as usize],
                day: None,
                sec_minute: i64::MIN,
                sec: [0.0; 61],
                daily: HashMap::new(),
                shocks: Vec::new(),
            };
            let ai = (anchor_day - lo_day) as usize;
            p.logc[ai] = inst.price.max(1e-9).ln();
            for i in (0..ai).rev() {
                let r = m.day_return(&p, lo_day + i as i64 + 1);
                p.logc[i] = p.logc[i + 1] - r;
            }
            m.paths.push(Some(p));
        }
        m
    }

    pub fn hours(&self) -> MarketHours {
        self.hours
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// First day with history.
    pub fn first_day(&self) -> i64 {
        self.lo_day
    }

    pub fn anchor_day(&self) -> i64 {
        self.anchor_day
    }

    /// Close instant ("knot") of day `d`.
    pub fn knot_ms(&self, d: i64) -> i64 {
        match self.hours {
            MarketHours::Always => d * DAY_MS + self.close_off_ms,
            MarketHours::UsEquities => clock::eastern_to_utc(d, 16 * 3600),
        }
    }

    /// Trading session `(start, end)` of day `d`, if it trades.
    pub fn session(&self, d: i64) -> Option<(i64, i64)> {
        match self.hours {
            MarketHours::Always => Some((self.knot_ms(d - 1), self.knot_ms(d))),
            MarketHours::UsEquities => {
                if clock::is_weekend(d) || clock::is_nyse_holiday(d) {
                    None
                } else {
                    Some((clock::eastern_to_utc(d, 9 * 3600 + 1800), self.knot_ms(d)))
                }
            }
        }
    }

    /// The trading day an instant belongs to: `knot(d-1) < t <= knot(d)`.
    pub fn day_of(&self, t: i64) -> i64 {
        let d0 = t.div_euclid(DAY_MS);
        if t <= self.knot_ms(d0) { d0 } else { d0 + 1 }
    }

    /// Whether the market is in session at `t`.
    pub fn is_open(&self, t: i64) -> bool {
        self.session(self.day_of(t))
            .is_some_and(|(s, e)| t > s && t <= e)
    }

    fn day_return(&self, p: &Path, d: i64) -> f64 {
        if self.session(d).is_none() {
            return 0.0;
        }
        let m = hash_normal(hash3(self.seed, MARKET_KEY, d as u64));
        let e = hash_normal(hash3(self.seed, p.key, d as u64));
        p.drift_dt + p.sig_dt * (p.rho * m + (1.0 - p.rho * p.rho).max(0.0).sqrt() * e)
    }

    fn path_of(&self, uni: &Universe, idx: usize) -> usize {
        match &uni.get(idx).option {
            Some(o) => o.underlying,
            None => idx,
        }
    }

    /// Log close of day `d` for path `pi` (extends the path forward as needed).
    fn logc(&mut self, pi: usize, d: i64) -> f64 {
        let lo = self.lo_day;
        // At most a century past the anchor (admin clock jumps): bounded memory.
        let d = d.clamp(lo, self.anchor_day + 36_600);
        let need = (d - lo) as usize;
        let len = self.paths[pi].as_ref().map_or(0, |p| p.logc.len());
        if need >= len {
            let mut p = self.paths[pi].take().expect("path");
            for i in len..=need {
                let r = self.day_return(&p, lo + i as i64);
                let prev = p.logc[i - 1];
                p.logc.push(prev + r);
            }
            self.paths[pi] = Some(p);
        }
        self.paths[pi].as_ref().expect("path").logc[need]
    }

    fn gen_day(&mut self, pi: usize, d: i64) -> Option<DayData> {
        let (start, end) = self.session(d)?;
        let a = self.logc(pi, d - 1);
        let b = self.logc(pi, d);
        let p = self.paths[pi].as_ref().expect("path");
        let n = ((end - start) / 60_000).max(1) as usize;
        let mut rng = Rng::new(hash3(self.seed, p.key ^ 0xDA7A, d as u64));
        let step = p.sig_dt / (n as f64).sqrt();
        let mut w = Vec::with_capacity(n + 1);
        w.push(0.0);
        let mut acc = 0.0;
        for _ in 0..n {
            acc += step * rng.normal();
            w.push(acc);
        }
        let wn = w[n];
        let mut knots = Vec::with_capacity(n + 1);
        for (i, wi) in w.iter().enumerate() {
            let f = i as f64 / n as f64;
            knots.push(a + f * (b - a) + wi - f * wn);
        }
        knots[n] = b;
        if !p.shocks.is_empty() {
            for (i, k) in knots.iter_mut().enumerate() {
                *k += Self::shift_of(p, start + i as i64 * 60_000);
            }
        }
        // Intra-minute excursions beyond the knots, drawn from the distribution of a Brownian
        // bridge's maximum (P(excess > y) = exp(-2y(y + |d|) / sigma^2)); `log_mid` shapes each
        // minute's per-second path to reach exactly these extremes, so bars of any size know
        // their high and low without generating the seconds.
        let sig_min = p.sig_dt / (n as f64).sqrt();
        let mut xrng = Rng::new(hash3(self.seed, p.key ^ 0xE87E, d as u64));
        let excess = |d: f64, u: f64| -> f64 {
            let v = d * d - 2.0 * sig_min * sig_min * u.ln();
            ((v.sqrt() - d.abs()) / 2.0).max(0.0)
        };
        let (mut ext_hi, mut ext_lo) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for i in 0..n {
            let d = knots[i + 1] - knots[i];
            ext_hi.push(excess(d, xrng.uniform()));
            ext_lo.push(excess(d, xrng.uniform()));
        }
        let per_min = p.avg_volume / n as f64;
        let mut cumvol = Vec::with_capacity(n + 1);
        cumvol.push(0.0);
        let mut v = 0.0;
        for _ in 0..n {
            let z = rng.normal();
            v += (per_min * (0.6 * z - 0.18).exp()).round();
            cumvol.push(v);
        }
        Some(DayData {
            day: d,
            n,
            knots,
            ext_hi,
            ext_lo,
            cumvol,
        })
    }

    fn ensure_day(&mut self, pi: usize, d: i64) -> bool {
        if self.paths[pi]
            .as_ref()
            .expect("path")
            .day
            .as_ref()
            .is_some_and(|dd| dd.day == d)
        {
            return true;
        }
        match self.gen_day(pi, d) {
            Some(dd) => {
                self.paths[pi].as_mut().expect("path").day = Some(dd);
                true
            }
            None => false,
        }
    }

    fn shift_of(p: &Path, t: i64) -> f64 {
        p.shocks
            .iter()
            .take_while(|(ts, _)| *ts <= t)
            .map(|(_, s)| s)
            .sum()
    }

    fn shift(&self, pi: usize, t: i64) -> f64 {
        match &self.paths[pi] {
            Some(p) if !p.shocks.is_empty() => Self::shift_of(p, t),
            _ => 0.0,
        }
    }

    /// Move an instrument's price (and its options') by `pct` (0.05 = +5%) from the minute of
    /// `t` on. History before that minute is unchanged. Returns false for options (shock the
    /// underlying instead).
    pub fn shock(&mut self, uni: &Universe, idx: usize, t: i64, pct: f64) -> bool {
        if uni.get(idx).option.is_some() || pct <= -1.0 || !pct.is_finite() {
            return false;
        }
        let eff = t.div_euclid(60_000) * 60_000;
        let day = self.day_of(eff);
        let Some(p) = self.paths[idx].as_mut() else {
            return false;
        };
        p.shocks.push((eff, (1.0 + pct).ln()));
        p.shocks.sort_by_key(|s| s.0);
        p.day = None;
        p.sec_minute = i64::MIN;
        p.daily.retain(|d, _| *d < day);
        true
    }

    /// Log mid price of path `pi` at `t`.
    fn log_mid(&mut self, pi: usize, t: i64) -> f64 {
        let d = self.day_of(t);
        let Some((s, e)) = self.session(d) else {
            return self.logc(pi, d) + self.shift(pi, t);
        };
        if t <= s {
            return self.logc(pi, d - 1) + self.shift(pi, t);
        }
        if t >= e {
            return self.logc(pi, d) + self.shift(pi, t);
        }
        if d < self.lo_day + 1 {
            return self.logc(pi, self.lo_day);
        }
        self.ensure_day(pi, d);
        let seed = self.seed;
        let p = self.paths[pi].as_mut().expect("path");
        let dd = p.day.as_ref().expect("day");
        let off = t - s;
        let i = ((off / 60_000) as usize).min(dd.n - 1);
        let within = off - i as i64 * 60_000;
        if within == 0 {
            return dd.knots[i];
        }
        let minute_abs = (s + i as i64 * 60_000) / 60_000;
        if p.sec_minute != minute_abs {
            let (a, b) = (dd.knots[i], dd.knots[i + 1]);
            let mut rng = Rng::new(hash3(seed, p.key ^ 0x5EC, minute_abs as u64));
            let step = p.sig_dt / (dd.n as f64).sqrt() / (60f64).sqrt();
            let mut acc = 0.0;
            p.sec[0] = 0.0;
            for j in 1..=60 {
                acc += step * rng.normal();
                p.sec[j] = acc;
            }
            let wn = p.sec[60];
            for j in 0..=60 {
                let f = j as f64 / 60.0;
                p.sec[j] = a + f * (b - a) + p.sec[j] - f * wn;
            }
            p.sec[0] = a;
            p.sec[60] = b;
            let spikes = (
                1 + (rng.next_u64() % 59) as usize,
                1 + (rng.next_u64() % 59) as usize,
            );
            fit_extremes(&mut p.sec, dd.ext_hi[i], dd.ext_lo[i], spikes);
            p.sec_minute = minute_abs;
        }
        let j = (within / 1000) as usize;
        let frac = (within % 1000) as f64 / 1000.0;
        p.sec[j] + frac * (p.sec[(j + 1).min(60)] - p.sec[j])
    }

    /// Opening log price of path `pi` in the session of day `d` (none without a session).
    fn session_open(&mut self, pi: usize, d: i64) -> Option<f64> {
        if !self.ensure_day(pi, d) {
            return None;
        }
        let dd = self.paths[pi].as_ref().expect("path").day.as_ref();
        Some(dd.expect("day").knots[0])
    }

    /// Highest and lowest log price of path `pi` over `[a, b]`, exact including the per-second
    /// path inside each minute: whole session minutes from their extremes ([`DayData`]),
    /// partial minutes second by second, time outside sessions (flat) at its ends.
    fn log_range(&mut self, pi: usize, a: i64, b: i64) -> (f64, f64) {
        let v = self.log_mid(pi, a);
        let (mut hi, mut lo) = (v, v);
        let mut m = a.div_euclid(60_000) * 60_000;
        while m < b {
            let (s0, s1) = (m.max(a), (m + 60_000).min(b));
            let d = self.day_of(m);
            let sess = self.session(d).filter(|(s, e)| *s <= m && m + 60_000 <= *e);
            if let Some((s, _)) = sess
                && s0 == m
                && s1 == m + 60_000
                && self.ensure_day(pi, d)
            {
                let dd = self.paths[pi].as_ref().expect("path").day.as_ref();
                let i = ((m - s) / 60_000) as usize;
                let (h, l) = dd.expect("day").minutes_range(i, i + 1);
                hi = hi.max(h);
                lo = lo.min(l);
            } else {
                // A partial session minute second by second (the path is linear between
                // seconds); outside sessions the path is flat, so its ends suffice.
                let step = if sess.is_some() { 1000 } else { 60_000 };
                let mut t = s0;
                while t < s1 {
                    let v = self.log_mid(pi, t);
                    hi = hi.max(v);
                    lo = lo.min(v);
                    t = (t.div_euclid(step) + 1) * step;
                }
                let v = self.log_mid(pi, s1);
                hi = hi.max(v);
                lo = lo.min(v);
            }
            m += 60_000;
        }
        (hi, lo)
    }

    /// Cumulative session volume of path `pi` at `t` (within day_of(t)).
    fn cum_volume(&mut self, pi: usize, t: i64) -> f64 {
        let d = self.day_of(t);
        let Some((s, e)) = self.session(d) else {
            return 0.0;
        };
        if t <= s || d < self.lo_day + 1 {
            return 0.0;
        }
        self.ensure_day(pi, d);
        let dd = self.paths[pi]
            .as_ref()
            .expect("path")
            .day
            .as_ref()
            .expect("day");
        if t >= e {
            return dd.cumvol[dd.n];
        }
        let off = (t - s) as f64 / 60_000.0;
        let i = (off.floor() as usize).min(dd.n - 1);
        let f = off - i as f64;
        (dd.cumvol[i] + f * (dd.cumvol[i + 1] - dd.cumvol[i])).round()
    }

    fn daily_agg(&mut self, pi: usize, d: i64) -> Option<DailyAgg> {
        if let Some(a) = self.paths[pi].as_ref().expect("path").daily.get(&d) {
            return Some(*a);
        }
        let dd = self.gen_day(pi, d)?;
        let (hi, lo) = dd.minutes_range(0, dd.n);
        let agg = DailyAgg {
            open: dd.knots[0],
            high: hi,
            low: lo,
            close: dd.knots[dd.n],
            volume: dd.cumvol[dd.n],
        };
        self.paths[pi].as_mut().expect("path").daily.insert(d, agg);
        Some(agg)
    }

    /// Mid price of an instrument at `t`.
    pub fn mid(&mut self, uni: &Universe, idx: usize, t: i64) -> f64 {
        let inst = uni.get(idx);
        match &inst.option {
            None => self.log_mid(idx, t).exp(),
            Some(o) => {
                let s = self.log_mid(o.underlying, t).exp();
                self.option_greeks_at(uni, idx, s, t).price
            }
        }
    }

    /// Greeks of option `idx` for underlying price `s` at `t`.
    pub fn option_greeks_at(&self, uni: &Universe, idx: usize, s: f64, t: i64) -> Greeks {
        let inst = uni.get(idx);
        let o = inst.option.expect("option");
        let ty = ((o.expiry_ms - t) as f64 / (365.0 * DAY_MS as f64)).max(0.0);
        let iv = smile_iv(uni.get(o.underlying).implied_vol, s, o.strike);
        if ty <= 0.0 {
            let intrinsic = if o.call {
                (s - o.strike).max(0.0)
            } else {
                (o.strike - s).max(0.0)
            };
            return Greeks {
                price: intrinsic,
                delta: if intrinsic > 0.0 {
                    if o.call { 1.0 } else { -1.0 }
                } else {
                    0.0
                },
                gamma: 0.0,
                vega: 0.0,
                theta: 0.0,
                iv,
            };
        }
        black_scholes(o.call, s, o.strike, ty, self.rate, iv)
    }

    /// Greeks and underlying price of option `idx` at `t`.
    pub fn option_greeks(&mut self, uni: &Universe, idx: usize, t: i64) -> (Greeks, f64) {
        let o = uni.get(idx).option.expect("option");
        let s = self.log_mid(o.underlying, t).exp();
        (self.option_greeks_at(uni, idx, s, t), s)
    }

    /// Half spread around `mid`.
    fn half_spread(uni: &Universe, idx: usize, mid: f64) -> f64 {
        let inst = uni.get(idx);
        let tick = instruments::increment_for(inst.market_rule(), mid);
        match inst.kind {
            AssetKind::Option => (mid * 0.0075).max(tick / 2.0),
            AssetKind::Index => 0.0,
            _ => (mid * inst.spread_bps / 2e4).max(tick / 2.0),
        }
    }

    /// Transform a mid into what a historical request shows (rounded to the tick).
    pub fn show_price(uni: &Universe, idx: usize, mid: f64, show: Show) -> f64 {
        let rule = uni.get(idx).market_rule();
        let tick = instruments::increment_for(rule, mid);
        let clean = |v: f64| (v * 1e8).round() / 1e8;
        let hs = Self::half_spread(uni, idx, mid);
        match show {
            Show::Trades | Show::Midpoint | Show::BidAsk => {
                clean((mid / tick).round() * tick).max(tick)
            }
            Show::Bid => clean(((mid - hs) / tick).floor() * tick).max(tick),
            Show::Ask => clean(((mid + hs) / tick).ceil() * tick).max(tick),
        }
    }

    /// Quote of an instrument at `t`.
    pub fn quote(&mut self, uni: &Universe, idx: usize, t: i64) -> Quote {
        let mid = self.mid(uni, idx, t);
        let last = Self::show_price(uni, idx, mid, Show::Trades);
        if uni.get(idx).kind == AssetKind::Index {
            return Quote {
                mid,
                bid: last,
                ask: last,
                last,
            };
        }
        let mut bid = Self::show_price(uni, idx, mid, Show::Bid);
        let mut ask = Self::show_price(uni, idx, mid, Show::Ask);
        let tick = instruments::increment_for(uni.get(idx).market_rule(), mid);
        if ask <= bid {
            ask = bid + tick;
        }
        if bid <= 0.0 {
            bid = tick;
            ask = ask.max(2.0 * tick);
        }
        Quote {
            mid,
            bid,
            ask,
            last: last.clamp(bid, ask),
        }
    }

    /// Previous session close (rounded like a last price) as of `t`.
    pub fn prev_close(&mut self, uni: &Universe, idx: usize, t: i64) -> f64 {
        let d = self.day_of(t);
        let mut pd = d - 1;
        while self.session(pd).is_none() && pd > d - 10 {
            pd -= 1;
        }
        let k = self.knot_ms(pd);
        let mid = self.mid(uni, idx, k);
        Self::show_price(uni, idx, mid, Show::Trades)
    }

    /// Lowest and highest daily close over the last `days` days before `t`.
    pub fn close_extremes(&mut self, uni: &Universe, idx: usize, days: i64, t: i64) -> (f64, f64) {
        let pi = self.path_of(uni, idx);
        let d = self.day_of(t);
        let (mut lo, mut hi) = (f64::MAX, f64::MIN);
        for k in (d - days).max(self.lo_day)..d {
            let l = self.logc(pi, k) + self.shift(pi, self.knot_ms(k));
            lo = lo.min(l);
            hi = hi.max(l);
        }
        let cur = self.log_mid(pi, t);
        let conv = |m: &Self, l: f64| {
            let mid = match uni.get(idx).option {
                None => l.exp(),
                Some(_) => m.option_greeks_at(uni, idx, l.exp(), t).price,
            };
            Self::show_price(uni, idx, mid, Show::Trades)
        };
        let (a, b) = (conv(self, lo.min(cur)), conv(self, hi.max(cur)));
        (a.min(b), a.max(b))
    }

    /// Cumulative session volume of an instrument at `t` (cheap; used per tick).
    pub fn day_stats_volume(&mut self, uni: &Universe, idx: usize, t: i64) -> f64 {
        let pi = self.path_of(uni, idx);
        let v = self.cum_volume(pi, t);
        if uni.get(idx).option.is_some() {
            (v / 5_000.0).round()
        } else {
            v
        }
    }

    /// Session statistics of an instrument up to `t`.
    pub fn day_stats(&mut self, uni: &Universe, idx: usize, t: i64) -> DayStats {
        let prev_close = self.prev_close(uni, idx, t);
        let inst = uni.get(idx);
        let pi = self.path_of(uni, idx);
        let d = self.day_of(t);
        let sess = self.session(d);
        let mut stats = DayStats {
            open: prev_close,
            high: prev_close,
            low: prev_close,
            prev_close,
            volume: 0.0,
        };
        let Some((s, _)) = sess else {
            return stats;
        };
        if t <= s {
            return stats;
        }
        let Some(open_l) = self.session_open(pi, d) else {
            return stats;
        };
        let (mut hi, mut lo) = self.log_range(pi, s, t);
        let vol = self.cum_volume(pi, t);
        let map = |m: &mut Self, l: f64| -> f64 {
            let mid = match &inst.option {
                None => l.exp(),
                Some(_) => m.option_greeks_at(uni, idx, l.exp(), t).price,
            };
            Self::show_price(uni, idx, mid, Show::Trades)
        };
        if let Some(o) = &inst.option
            && !o.call
        {
            std::mem::swap(&mut hi, &mut lo);
        }
        stats.open = map(self, open_l);
        stats.high = map(self, hi);
        stats.low = map(self, lo);
        stats.volume = if inst.option.is_some() {
            (vol / 5_000.0).round()
        } else {
            vol
        };
        stats
    }

    /// Bars of `bar_ms` covering `[start, end)`, clipped at `now`. Intraday bars are aligned to
    /// multiples of the bar size (UTC); bars of a day or more are per trading day (`1 day`),
    /// per week starting Monday (`1 week`) or per month (`1 month`), dated 00:00 UTC of their
    /// first day. Only bars overlapping a session are returned.
    #[allow(clippy::too_many_arguments)]
    pub fn bars(
        &mut self,
        uni: &Universe,
        idx: usize,
        start: i64,
        end: i64,
        bar: BarSpan,
        show: Show,
        now: i64,
    ) -> Vec<Bar> {
        let end = end.min(now);
        let pi = self.path_of(uni, idx);
        let mut raw: Vec<(i64, f64, f64, f64, f64, f64, i64)> = Vec::new();
        match bar {
            BarSpan::Intraday(bms) => {
                let mut b = start.div_euclid(bms) * bms;
                while b < end {
                    let be = (b + bms).min(now);
                    if !self.overlaps_session(b, b + bms) {
                        b += bms;
                        continue;
                    }
                    let o = self.log_mid(pi, b);
                    let c = self.log_mid(pi, be);
                    let (hi, lo) = self.log_range(pi, b, be);
                    let vol = self.volume_between(pi, b, be);
                    raw.push((b / 1000, o, hi, lo, c, vol, be));
                    b += bms;
                }
            }
            BarSpan::Days(kind) => {
                let d0 = self.day_of(start).max(self.lo_day + 1);
                let d1 = self.day_of(end.max(start));
                let cur_day = self.day_of(now);
                let mut groups: Vec<(i64, Vec<i64>)> = Vec::new();
                for d in d0..=d1 {
                    if self.session(d).is_none() || self.knot_ms(d - 1) >= end {
                        continue;
                    }
                    let key = match kind {
                        DayKind::Day => d,
                        DayKind::Week => d - (clock::weekday(d) as i64 + 6) % 7,
                        DayKind::Month => {
                            let (y, m, _) = clock::civil_from_days(d);
                            clock::days_from_civil(y, m, 1)
                        }
                    };
                    match groups.last_mut() {
                        Some((k, v)) if *k == key => v.push(d),
                        _ => groups.push((key, vec![d])),
                    }
                }
                for (key, days) in groups {
                    let mut agg: Option<(f64, f64, f64, f64, f64)> = None;
                    let mut last_t = 0;
                    for d in days {
                        let (o, h, l, c, v, t_end) = if d == cur_day {
                            let (s, _) = self.session(d).expect("session");
                            if now <= s {
                                continue;
                            }
                            let Some(o) = self.session_open(pi, d) else {
                                continue;
                            };
                            let c = self.log_mid(pi, now);
                            let (h, l) = self.log_range(pi, s, now);
                            let v = self.cum_volume(pi, now);
                            (o, h, l, c, v, now)
                        } else if d > cur_day {
                            continue;
                        } else {
                            let Some(a) = self.daily_agg(pi, d) else {
                                continue;
                            };
                            (a.open, a.high, a.low, a.close, a.volume, self.knot_ms(d))
                        };
                        last_t = t_end;
                        agg = Some(match agg {
                            None => (o, h, l, c, v),
                            Some((o0, h0, l0, _, v0)) => (o0, h0.max(h), l0.min(l), c, v0 + v),
                        });
                    }
                    if let Some((o, h, l, c, v)) = agg {
                        raw.push((key * 86_400, o, h, l, c, v, last_t));
                    }
                }
            }
        }
        let inst = uni.get(idx);
        raw.into_iter()
            .map(|(time, o, h, l, c, v, t_close)| {
                let conv = |m: &Self, lp: f64, t: i64| -> f64 {
                    let mid = match &inst.option {
                        None => lp.exp(),
                        Some(_) => m.option_greeks_at(uni, idx, lp.exp(), t).price,
                    };
                    Self::show_price(uni, idx, mid, show)
                };
                let t_open = time * 1000;
                let mut high = conv(self, h, t_close);
                let mut low = conv(self, l, t_close);
                if let Some(op) = &inst.option
                    && !op.call
                {
                    std::mem::swap(&mut high, &mut low);
                }
                let open = conv(self, o, t_open.max(t_close - 1));
                let close = conv(self, c, t_close);
                let high = high.max(open).max(close);
                let low = low.min(open).min(close);
                let volume = match (show, &inst.option) {
                    (Show::Trades, None) => v,
                    (Show::Trades, Some(_)) => (v / 5_000.0).round(),
                    _ => -1.0,
                };
                let wap = if volume >= 0.0 {
                    ((open + high + low + close) / 4.0 * 1e4).round() / 1e4
                } else {
                    -1.0
                };
                Bar {
                    time,
                    open,
                    high,
                    low,
                    close,
                    volume,
                    wap,
                    count: if volume > 0.0 {
                        (volume / 100.0).ceil() as i32
                    } else if volume == 0.0 {
                        0
                    } else {
                        -1
                    },
                }
            })
            .collect()
    }

    fn overlaps_session(&self, a: i64, b: i64) -> bool {
        match self.hours {
            MarketHours::Always => true,
            MarketHours::UsEquities => {
                let (d0, d1) = (self.day_of(a), self.day_of(b));
                (d0..=d1).any(|d| self.session(d).is_some_and(|(s, e)| s < b && e > a))
            }
        }
    }

    fn volume_between(&mut self, pi: usize, a: i64, b: i64) -> f64 {
        let (da, db) = (self.day_of(a), self.day_of(b));
        if da == db {
            return (self.cum_volume(pi, b) - self.cum_volume(pi, a)).max(0.0);
        }
        let mut v = 0.0;
        let end_a = self.knot_ms(da);
        v += (self.cum_volume(pi, end_a) - self.cum_volume(pi, a)).max(0.0);
        for d in da + 1..db {
            v += self.cum_volume(pi, self.knot_ms(d));
        }
        v + self.cum_volume(pi, b)
    }
}

/// Kind of a multi-day bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    Day,
    Week,
    Month,
}

/// Bar span: intraday milliseconds or daily/weekly/monthly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarSpan {
    Intraday(i64),
    Days(DayKind),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::config::WorldConfig;

    fn setup(hours: MarketHours) -> (Universe, Market, i64) {
        let day = clock::days_from_civil(2026, 1, 7);
        let cfg = WorldConfig {
            market_hours: hours,
            ..Default::default()
        };
        let uni = Universe::build(&cfg, day);
        let m = Market::new(7, hours, 21 * 3_600_000, day, 800, 0.045, &uni);
        (uni, m, day)
    }

    #[test]
    fn anchored_and_deterministic() {
        let (uni, mut m, day) = setup(MarketHours::Always);
        let spy = uni.by_symbol("SPY", None).unwrap();
        let k = m.knot_ms(day);
        assert!((m.mid(&uni, spy, k) - 660.0).abs() < 1e-6);
        let (uni2, mut m2, _) = setup(MarketHours::Always);
        for t in [k - 3_600_123, k + 12_345_678, k + 86_400_000 * 3 + 17] {
            assert_eq!(m.mid(&uni, spy, t), m2.mid(&uni2, spy, t));
        }
        // Path continuity: second-level interpolation stays near neighbours.
        let a = m.mid(&uni, spy, k + 1_000_000);
        let b = m.mid(&uni, spy, k + 1_000_250);
        assert!((a / b - 1.0).abs() < 0.002);
    }

    #[test]
    fn bars_agree_with_live() {
        let (uni, mut m, day) = setup(MarketHours::Always);
        let aapl = uni.by_symbol("AAPL", None).unwrap();
        let now = m.knot_ms(day) + 5 * 3_600_000 + 1_234;
        let live = m.quote(&uni, aapl, now).last;
        for bar in [
            BarSpan::Intraday(1_000),
            BarSpan::Intraday(60_000),
            BarSpan::Intraday(3_600_000),
            BarSpan::Days(DayKind::Day),
            BarSpan::Days(DayKind::Week),
            BarSpan::Days(DayKind::Month),
        ] {
            let span = match bar {
                BarSpan::Intraday(ms) => ms * 50,
                _ => 90 * DAY_MS,
            };
            let bars = m.bars(&uni, aapl, now - span, now, bar, Show::Trades, now);
            assert!(!bars.is_empty(), "{bar:?}");
            let last = bars.last().unwrap();
            assert_eq!(last.close, live, "{bar:?}");
            for b in &bars {
                assert!(
                    b.high >= b.open && b.high >= b.close && b.low <= b.open && b.low <= b.close
                );
            }
        }
        // Daily bars: close of day d == open of day d+1, and == intraday close at the knot.
        let days = m.bars(
            &uni,
            aapl,
            now - 10 * DAY_MS,
            now,
            BarSpan::Days(DayKind::Day),
            Show::Trades,
            now,
        );
        for w in days.windows(2) {
            assert_eq!(w[0].close, w[1].open);
        }
        let mins = m.bars(
            &uni,
            aapl,
            m.knot_ms(day) - 3_600_000,
            m.knot_ms(day),
            BarSpan::Intraday(60_000),
            Show::Trades,
            now,
        );
        let dbar = days.iter().find(|b| b.time == day * 86_400).unwrap();
        assert_eq!(mins.last().unwrap().close, dbar.close);
        assert!(
            mins.iter()
                .all(|b| b.high <= dbar.high + 1e-9 && b.low >= dbar.low - 1e-9)
        );
    }

    /// Bars know the intra-minute path: every per-second price (what trades print at) lies
    /// within its 1-minute bar, each minute's high and low are reached by some second, and
    /// 1-minute bars nest in the hour's and the day's bars, also for the running minute.
    #[test]
    fn bars_contain_the_per_second_path() {
        let (uni, mut m, day) = setup(MarketHours::UsEquities);
        let aapl = uni.by_symbol("AAPL", None).unwrap();
        let (s, _) = m.session(day).unwrap();
        let now = s + 2 * 3_600_000 + 17_500;
        let mins = m.bars(
            &uni,
            aapl,
            s,
            now,
            BarSpan::Intraday(60_000),
            Show::Trades,
            now,
        );
        assert_eq!(mins.len(), 121);
        let (mut reached_hi, mut reached_lo) = (0, 0);
        for b in &mins {
            let t0 = b.time * 1000;
            let (mut hi, mut lo) = (f64::MIN, f64::MAX);
            for t in (t0..=(t0 + 60_000).min(now)).step_by(250) {
                let p = Market::show_price(&uni, aapl, m.mid(&uni, aapl, t), Show::Trades);
                assert!(
                    p <= b.high + 1e-9 && p >= b.low - 1e-9,
                    "{p} at {t} outside {b:?}"
                );
                hi = hi.max(p);
                lo = lo.min(p);
            }
            reached_hi += usize::from((hi - b.high).abs() < 1e-9);
            reached_lo += usize::from((lo - b.low).abs() < 1e-9);
        }
        assert_eq!((reached_hi, reached_lo), (mins.len(), mins.len()));
        for (span, bar) in [
            (3_600_000, BarSpan::Intraday(3_600_000)),
            (DAY_MS, BarSpan::Days(DayKind::Day)),
        ] {
            let big = m.bars(&uni, aapl, s - span, now, bar, Show::Trades, now);
            for b in &mins {
                let t = b.time * 1000;
                let outer = big
                    .iter()
                    .rev()
                    .find(|x| x.time * 1000 <= t)
                    .unwrap_or_else(|| panic!("no {bar:?} bar for {t}"));
                assert!(
                    b.high <= outer.high + 1e-9 && b.low >= outer.low - 1e-9,
                    "{b:?} not within {outer:?}"
                );
            }
        }
        // The day's statistics (ticks high/low) agree with the daily bar.
        let st = m.day_stats(&uni, aapl, now);
        let dbar = m.bars(
            &uni,
            aapl,
            s,
            now,
            BarSpan::Days(DayKind::Day),
            Show::Trades,
            now,
        );
        let dbar = dbar.last().unwrap();
        assert_eq!((st.high, st.low), (dbar.high, dbar.low));
    }

    #[test]
    fn fit_extremes_reaches_both_targets_and_keeps_the_ends() {
        let mut r = Rng::new(3);
        for case in 0..2_000 {
            let mut sec = [0.0; 61];
            let mut acc = 0.0;
            for v in sec.iter_mut().skip(1) {
                acc += r.normal() * if case % 3 == 0 { 0.0 } else { 0.01 };
                *v = acc;
            }
            let (a, b) = (sec[0], sec[60]);
            let (up, down) = (r.uniform() * 0.02, r.uniform() * 0.02);
            let spikes = (
                1 + (r.next_u64() % 59) as usize,
                1 + (r.next_u64() % 59) as usize,
            );
            fit_extremes(&mut sec, up, down, spikes);
            let max = sec.iter().copied().fold(f64::MIN, f64::max);
            let min = sec.iter().copied().fold(f64::MAX, f64::min);
            assert_eq!((sec[0], sec[60]), (a, b));
            assert!((max - (a.max(b) + up)).abs() < 1e-12, "case {case}");
            assert!((min - (a.min(b) - down)).abs() < 1e-12, "case {case}");
        }
    }

    #[test]
    fn us_hours_are_flat_outside_session() {
        let (uni, mut m, day) = setup(MarketHours::UsEquities);
        let spy = uni.by_symbol("SPY", None).unwrap();
        // Saturday 2026-01-10 and Sunday are flat.
        let sat = clock::days_from_civil(2026, 1, 10);
        let a = m.mid(&uni, spy, sat * DAY_MS + 15 * 3_600_000);
        let b = m.mid(&uni, spy, (sat + 1) * DAY_MS + 15 * 3_600_000);
        assert_eq!(a, b);
        assert!(!m.is_open(sat * DAY_MS + 15 * 3_600_000));
        assert!(m.is_open(day * DAY_MS + 16 * 3_600_000));
        let mins = m.bars(
            &uni,
            spy,
            day * DAY_MS,
            (day + 1) * DAY_MS,
            BarSpan::Intraday(60_000),
            Show::Trades,
            (day + 1) * DAY_MS,
        );
        assert_eq!(mins.len(), 390);
    }

    #[test]
    fn black_scholes_sane() {
        let c = black_scholes(true, 100.0, 100.0, 1.0, 0.05, 0.2);
        assert!((c.price - 10.4506).abs() < 1e-3, "{}", c.price);
        let p = black_scholes(false, 100.0, 100.0, 1.0, 0.05, 0.2);
        assert!((p.price - 5.5735).abs() < 1e-3, "{}", p.price);
        assert!((c.delta - 0.6368).abs() < 1e-3);
        assert!(c.gamma > 0.0 && c.vega > 0.0 && c.theta < 0.0);
    }
}
