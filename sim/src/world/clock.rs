//! The simulated clock and calendar helpers (no time-zone database: US/Eastern DST is computed).

use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds per day.
pub const DAY_MS: i64 = 86_400_000;

/// Wall-clock epoch milliseconds.
pub fn system_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The simulated clock: `sim = anchor_sim + (real - anchor_real) * speed`.
///
/// In *manual* mode (tests) real time is not read from the system: it is whatever the last
/// [`Clock::observe_real`] call (i.e. `World::advance(now_ms)`) said, starting at the start instant.
#[derive(Debug, Clone)]
pub struct Clock {
    speed: f64,
    anchor_real_ms: i64,
    anchor_sim_ms: i64,
    manual: bool,
    last_real_ms: i64,
}

impl Clock {
    pub fn new(start_sim_ms: Option<i64>, speed: f64, manual: bool) -> Self {
        let real = if manual {
            start_sim_ms.unwrap_or(0)
        } else {
            system_ms()
        };
        Self {
            speed: speed.max(0.0),
            anchor_real_ms: real,
            anchor_sim_ms: start_sim_ms.unwrap_or(real),
            manual,
            last_real_ms: real,
        }
    }

    /// Current real (wall) time as the clock sees it.
    pub fn real_now(&self) -> i64 {
        if self.manual {
            self.last_real_ms
        } else {
            system_ms()
        }
    }

    /// Simulated epoch millis at real time `real_ms`.
    pub fn sim_at(&self, real_ms: i64) -> i64 {
        self.anchor_sim_ms + ((real_ms - self.anchor_real_ms) as f64 * self.speed) as i64
    }

    /// Simulated epoch millis now.
    pub fn now(&self) -> i64 {
        self.sim_at(self.real_now())
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Change the speed without a jump in simulated time.
    pub fn set_speed(&mut self, speed: f64) {
        let real = self.real_now();
        let sim = self.sim_at(real);
        self.anchor_real_ms = real;
        self.anchor_sim_ms = sim;
        self.speed = speed.max(0.0);
    }

    /// Jump simulated time to `sim_ms` (never backwards), keeping the speed.
    pub fn jump_to(&mut self, sim_ms: i64) {
        let real = self.real_now();
        let cur = self.sim_at(real);
        self.anchor_real_ms = real;
        self.anchor_sim_ms = sim_ms.max(cur);
    }

    /// Record the real time given to `advance` (only matters in manual mode).
    pub fn observe_real(&mut self, real_ms: i64) {
        if self.manual && real_ms > self.last_real_ms {
            self.last_real_ms = real_ms;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Civil calendar (proleptic Gregorian, days since 1970-01-01)
// ---------------------------------------------------------------------------------------------

pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// 0 = Sunday .. 6 = Saturday.
pub fn weekday(day: i64) -> u32 {
    (day + 4).rem_euclid(7) as u32
}

pub fn is_weekend(day: i64) -> bool {
    matches!(weekday(day), 0 | 6)
}

/// Western (Gregorian) Easter Sunday of year `y` (anonymous Gregorian algorithm).
pub fn easter(y: i64) -> i64 {
    let a = y % 19;
    let b = y / 100;
    let c = y % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    days_from_civil(y, month as u32, day as u32)
}

/// NYSE full-day holidays (New Year, MLK, Presidents, Good Friday, Memorial, Juneteenth,
/// Independence, Labor, Thanksgiving, Christmas; Saturday holidays observed on Friday, Sunday
/// ones on Monday, except New Year's Day).
pub fn is_nyse_holiday(day: i64) -> bool {
    let (y, _, _) = civil_from_days(day);
    let observed = |d: i64| match weekday(d) {
        6 => d - 1,
        0 => d + 1,
        _ => d,
    };
    let last_monday_may = {
        let first_june = days_from_civil(y, 6, 1);
        first_june - 1 - ((weekday(first_june - 1) as i64 + 6) % 7)
    };
    // New Year's Day on a Saturday is not observed (the market opens on Dec 31).
    let new_year = match days_from_civil(y, 1, 1) {
        d if weekday(d) == 0 => d + 1,
        d => d,
    };
    let hols = [
        new_year,
        nth_weekday(y, 1, 1, 3),
        nth_weekday(y, 2, 1, 3),
        easter(y) - 2,
        last_monday_may,
        observed(days_from_civil(y, 6, 19)),
        observed(days_from_civil(y, 7, 4)),
        nth_weekday(y, 9, 1, 1),
        nth_weekday(y, 11, 4, 4),
        observed(days_from_civil(y, 12, 25)),
    ];
    hols.contains(&day)
}

/// Day number of the n-th (1-based) given weekday of a month.
pub fn nth_weekday(y: i64, m: u32, wd: u32, n: u32) -> i64 {
    let first = days_from_civil(y, m, 1);
    let delta = (wd as i64 - weekday(first) as i64).rem_euclid(7);
    first + delta + 7 * (n as i64 - 1)
}

/// Whether US daylight saving time is in effect at UTC instant `ms`.
pub fn us_dst(ms: i64) -> bool {
    let day = ms.div_euclid(DAY_MS);
    let (y, _, _) = civil_from_days(day);
    // Second Sunday of March 02:00 EST (07:00 UTC) .. first Sunday of November 02:00 EDT (06:00 UTC).
    let start = nth_weekday(y, 3, 0, 2) * DAY_MS + 7 * 3_600_000;
    let end = nth_weekday(y, 11, 0, 1) * DAY_MS + 6 * 3_600_000;
    ms >= start && ms < end
}

/// Offset of US/Eastern from UTC in ms at UTC instant `ms` (-4h or -5h).
pub fn eastern_offset_ms(ms: i64) -> i64 {
    if us_dst(ms) {
        -4 * 3_600_000
    } else {
        -5 * 3_600_000
    }
}

/// UTC epoch ms of a US/Eastern wall-clock time on civil day `day`.
pub fn eastern_to_utc(day: i64, secs_of_day: i64) -> i64 {
    let local = day * DAY_MS + secs_of_day * 1000;
    // Offset at the approximate instant (DST switches happen at 2am, far from market hours).
    let guess = local + 5 * 3_600_000;
    local - eastern_offset_ms(guess)
}

/// Broken-down time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub y: i64,
    pub mo: u32,
    pub d: u32,
    pub h: u32,
    pub mi: u32,
    pub s: u32,
}

pub fn civil_of_ms(ms: i64) -> Civil {
    let day = ms.div_euclid(DAY_MS);
    let rem = ms.rem_euclid(DAY_MS) / 1000;
    let (y, mo, d) = civil_from_days(day);
    Civil {
        y,
        mo,
        d,
        h: (rem / 3600) as u32,
        mi: ((rem / 60) % 60) as u32,
        s: (rem % 60) as u32,
    }
}

/// "yyyymmdd hh:mm:ss US/Eastern".
pub fn fmt_eastern(ms: i64) -> String {
    let c = civil_of_ms(ms + eastern_offset_ms(ms));
    format!(
        "{:04}{:02}{:02} {:02}:{:02}:{:02} US/Eastern",
        c.y, c.mo, c.d, c.h, c.mi, c.s
    )
}

/// "yyyymmdd-hh:mm:ss" in UTC.
pub fn fmt_utc_dash(ms: i64) -> String {
    let c = civil_of_ms(ms);
    format!(
        "{:04}{:02}{:02}-{:02}:{:02}:{:02}",
        c.y, c.mo, c.d, c.h, c.mi, c.s
    )
}

/// "HH:MM" US/Eastern (account update time).
pub fn fmt_hhmm_eastern(ms: i64) -> String {
    let c = civil_of_ms(ms + eastern_offset_ms(ms));
    format!("{:02}:{:02}", c.h, c.mi)
}

/// "yyyymmdd" of a civil day.
pub fn fmt_day(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}{m:02}{d:02}")
}

/// Parse "yyyymmdd" into a day number.
pub fn parse_day(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.len() < 8 || !s.as_bytes()[..8].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let y: i64 = s[0..4].parse().ok()?;
    let m: u32 = s[4..6].parse().ok()?;
    let d: u32 = s[6..8].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Parse a TWS date-time: "yyyymmdd hh:mm:ss [zone]", "yyyymmdd-hh:mm:ss" (UTC), "yyyymmdd" or
/// epoch seconds. Without a zone, US/Eastern (the simulated TWS's zone) is assumed.
/// Returns UTC epoch ms.
pub fn parse_tws_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if s.len() >= 9 && s.len() <= 11 && s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('2')
    {
        return s.parse::<i64>().ok().map(|v| v * 1000);
    }
    let day = parse_day(s)?;
    let rest = &s[8..];
    let (utc_dash, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest.trim_start()),
    };
    if rest.is_empty() {
        return Some(eastern_to_utc(day, 0));
    }
    let (time, zone) = match rest.find(' ') {
        Some(i) => (&rest[..i], rest[i..].trim()),
        None => (rest, ""),
    };
    let mut parts = time.split(':');
    let h: i64 = parts.next()?.parse().ok()?;
    let mi: i64 = parts.next().unwrap_or("0").parse().ok()?;
    let sec: i64 = parts.next().unwrap_or("0").parse().ok()?;
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let secs = h * 3600 + mi * 60 + sec;
    if utc_dash {
        return Some(day * DAY_MS + secs * 1000);
    }
    match zone.to_ascii_uppercase().as_str() {
        "" | "US/EASTERN" | "AMERICA/NEW_YORK" | "EST" | "EDT" | "EST5EDT" => {
            Some(eastern_to_utc(day, secs))
        }
        "UTC" | "GMT" | "ETC/UTC" | "Z" => Some(day * DAY_MS + secs * 1000),
        "US/CENTRAL" | "AMERICA/CHICAGO" | "CST" | "CDT" => {
            Some(eastern_to_utc(day, secs) + 3_600_000)
        }
        "US/PACIFIC" | "AMERICA/LOS_ANGELES" | "PST" | "PDT" => {
            Some(eastern_to_utc(day, secs) + 3 * 3_600_000)
        }
        "EUROPE/LONDON" => Some(day * DAY_MS + secs * 1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_roundtrip_and_weekday() {
        for z in [-1000, 0, 365, 20_000, 20_454] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(weekday(0), 4); // 1970-01-01 Thursday
        assert_eq!(fmt_day(days_from_civil(2026, 11, 21)), "20261121");
    }

    #[test]
    fn holidays() {
        assert_eq!(easter(2026), days_from_civil(2026, 4, 5));
        for (y, m, d) in [
            (2026, 1, 1),
            (2026, 1, 19),
            (2026, 2, 16),
            (2026, 4, 3),
            (2026, 5, 25),
            (2026, 6, 19),
            (2026, 7, 3),
            (2026, 9, 7),
            (2026, 11, 26),
            (2026, 12, 25),
            (2027, 12, 24),
        ] {
            assert!(is_nyse_holiday(days_from_civil(y, m, d)), "{y}-{m}-{d}");
        }
        assert!(!is_nyse_holiday(days_from_civil(2026, 1, 2)));
        assert!(!is_nyse_holiday(days_from_civil(2026, 7, 6)));
        assert!(!is_nyse_holiday(days_from_civil(2027, 12, 31)));
    }

    #[test]
    fn eastern_dst() {
        let winter = days_from_civil(2026, 1, 15) * DAY_MS + 15 * 3_600_000;
        let summer = days_from_civil(2026, 7, 15) * DAY_MS + 15 * 3_600_000;
        assert_eq!(eastern_offset_ms(winter), -5 * 3_600_000);
        assert_eq!(eastern_offset_ms(summer), -4 * 3_600_000);
        assert_eq!(fmt_eastern(summer), "20260715 11:00:00 US/Eastern");
    }

    #[test]
    fn parse_formats() {
        let d = days_from_civil(2026, 1, 15);
        assert_eq!(
            parse_tws_datetime("20260115 10:00:00 US/Eastern"),
            Some(d * DAY_MS + 15 * 3_600_000)
        );
        assert_eq!(
            parse_tws_datetime("20260115-15:00:00"),
            Some(d * DAY_MS + 15 * 3_600_000)
        );
        assert_eq!(
            parse_tws_datetime("20260115 15:00:00 UTC"),
            Some(d * DAY_MS + 15 * 3_600_000)
        );
        assert_eq!(parse_tws_datetime("garbage"), None);
    }

    #[test]
    fn clock_speed() {
        let mut c = Clock::new(Some(1_000_000), 10.0, true);
        assert_eq!(c.now(), 1_000_000);
        c.observe_real(1_000_100);
        assert_eq!(c.now(), 1_001_000);
        c.set_speed(1.0);
        c.observe_real(1_000_200);
        assert_eq!(c.now(), 1_001_100);
    }
}
