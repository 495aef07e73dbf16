//! World configuration (TOML). Every field has a default; see `sim/world.example.toml`.

use serde::{Deserialize, Serialize};

/// When the simulated market trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum MarketHours {
    /// Always open: prices move 24/7, every calendar day is a trading day whose session ends
    /// ("the close", when MOC/LOC orders fill and DAY orders expire) at `close_time_utc`.
    #[default]
    Always,
    /// US equities: Mon-Fri 09:30-16:00 US/Eastern except NYSE holidays (no half days);
    /// prices are flat outside the session, the close is 16:00 US/Eastern.
    UsEquities,
}

/// Market data permissions of the simulated user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DataPermissions {
    /// Live data for everything (reqMarketDataType 3 still gets live data, as with real TWS).
    #[default]
    Live,
    /// No live subscriptions: live requests get error 10167 and delayed ticks (type + 65).
    Delayed,
}

/// A position of a starting portfolio.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PositionConfig {
    /// Symbol of an instrument of the universe (stocks, ETFs, "EUR" for EUR.USD, "ES" future).
    pub symbol: String,
    /// Security type when the symbol is ambiguous (default: STK, then anything).
    #[serde(default)]
    pub sec_type: Option<String>,
    pub quantity: f64,
    /// Average cost per unit (price, not multiplied). Default: 90% of the start price.
    #[serde(default)]
    pub avg_cost: Option<f64>,
}

/// A paper account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// Account code; paper accounts start with "DU".
    pub id: String,
    /// Starting cash (USD).
    pub cash: f64,
    #[serde(default)]
    pub positions: Vec<PositionConfig>,
}

/// Override or add an instrument. Known symbols (see `instruments.rs`) only need the fields
/// to change; new stocks need at least `symbol` and `price`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct InstrumentConfig {
    pub symbol: String,
    /// STK (default for new ones), CASH, FUT, IND.
    pub sec_type: Option<String>,
    pub con_id: Option<i32>,
    /// Price at the anchor day's close.
    pub price: Option<f64>,
    /// Annualised volatility (0.2 = 20%).
    pub vol: Option<f64>,
    /// Annualised drift.
    pub drift: Option<f64>,
    /// Correlation with the market factor (-1..1).
    pub market_corr: Option<f64>,
    pub long_name: Option<String>,
    pub industry: Option<String>,
    pub category: Option<String>,
    pub primary_exchange: Option<String>,
    /// Average daily volume (shares / contracts).
    pub avg_volume: Option<f64>,
    /// Quoted spread in basis points of the price.
    pub spread_bps: Option<f64>,
    /// Implied volatility level for its options (default: vol * 1.1).
    pub implied_vol: Option<f64>,
}

/// Option chains.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OptionsConfig {
    /// Underlyings with listed options.
    pub underlyings: Vec<String>,
    /// Number of weekly (Friday) expirations.
    pub weekly_expirations: u32,
    /// Number of monthly (3rd Friday) expirations.
    pub monthly_expirations: u32,
    /// Strikes either side of the money.
    pub strikes_each_side: u32,
    /// Risk-free rate used by Black-Scholes.
    pub rate: f64,
}

impl Default for OptionsConfig {
    fn default() -> Self {
        Self {
            underlyings: vec!["SPY".into(), "AAPL".into(), "QQQ".into()],
            weekly_expirations: 4,
            monthly_expirations: 4,
            strikes_each_side: 20,
            rate: 0.045,
        }
    }
}

/// Everything the world needs; deserialised from TOML (`WorldConfig::from_toml_str`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WorldConfig {
    /// Seed of every random path; the same seed (and start/anchor) gives the same world.
    pub seed: u64,
    /// Simulated seconds per real second (1.0 = real time).
    pub clock_speed: f64,
    /// Start instant of the simulated clock (RFC 3339, e.g. "2026-01-05T15:00:00Z").
    /// Default: now.
    pub start_time: Option<String>,
    /// Day ("YYYY-MM-DD") whose close equals each instrument's configured `price`.
    /// Default: the start day.
    pub anchor_date: Option<String>,
    /// Manual clock: real time only moves through `World::advance(now_ms)` (for tests).
    pub manual_clock: bool,
    pub market_hours: MarketHours,
    /// Close of the daily session in "always" mode, "HH:MM" UTC (default 21:00 = 16:00 EST).
    pub close_time_utc: String,
    /// Years of daily history before the anchor.
    pub history_years: u32,
    pub market_data: DataPermissions,
    /// Real ms between streaming tick batches of one market data subscription.
    pub tick_interval_ms: u64,
    /// Max tick batches emitted per subscription per `advance` call when catching up.
    pub max_catch_up_ticks: u32,
    /// Real ms between account value / portfolio pushes (TWS: 3 minutes).
    pub account_update_interval_ms: u64,
    /// Real ms between account summary pushes (TWS: 3 minutes).
    pub account_summary_interval_ms: u64,
    /// Real ms between PnL pushes (TWS: about 1 s).
    pub pnl_interval_ms: u64,
    /// Real ms between keepUpToDate historical bar updates.
    pub bar_update_interval_ms: u64,
    /// Real ms between scanner refreshes.
    pub scanner_interval_ms: u64,
    /// Simulated ms between canned news bulletins (0 = none).
    pub bulletin_interval_ms: u64,
    /// Orders larger than this fill in slices of this size, one slice per `advance` (0 = off;
    /// FX orders are never sliced).
    pub partial_fill_size: f64,
    /// First order id handed out by nextValidId.
    pub first_order_id: i32,
    /// Simultaneous market depth subscriptions (all clients) before error 309 (TWS: 3).
    pub max_depth_subscriptions: u32,
    /// Simultaneous tick-by-tick subscriptions (all clients) before error 10190.
    pub max_tick_by_tick_subscriptions: u32,
    pub accounts: Vec<AccountConfig>,
    pub instruments: Vec<InstrumentConfig>,
    pub options: OptionsConfig,
}

impl Default for WorldConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            clock_speed: 1.0,
            start_time: None,
            anchor_date: None,
            manual_clock: false,
            market_hours: MarketHours::Always,
            close_time_utc: "21:00".into(),
            history_years: 10,
            market_data: DataPermissions::Live,
            tick_interval_ms: 250,
            max_catch_up_ticks: 64,
            account_update_interval_ms: 3_000,
            account_summary_interval_ms: 3_000,
            pnl_interval_ms: 1_000,
            bar_update_interval_ms: 1_000,
            scanner_interval_ms: 5_000,
            bulletin_interval_ms: 1_800_000,
            partial_fill_size: 10_000.0,
            first_order_id: 1,
            max_depth_subscriptions: 3,
            max_tick_by_tick_subscriptions: 5,
            accounts: vec![default_account()],
            instruments: Vec::new(),
            options: OptionsConfig::default(),
        }
    }
}

/// DU1234567: about $1,000,000 net liquidation, a drifted VTI/TLT/SPY/AAPL/BND portfolio.
pub fn default_account() -> AccountConfig {
    let p = |s: &str, q: f64, c: f64| PositionConfig {
        symbol: s.into(),
        sec_type: None,
        quantity: q,
        avg_cost: Some(c),
    };
    AccountConfig {
        id: "DU1234567".into(),
        cash: 61_250.0,
        positions: vec![
            p("VTI", 1_300.0, 248.10),
            p("TLT", 1_500.0, 97.35),
            p("SPY", 300.0, 512.40),
            p("AAPL", 450.0, 181.25),
            p("BND", 1_200.0, 72.10),
        ],
    }
}

/// Configuration errors.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading world config {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("parsing world config: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("invalid world config: {0}")]
    Invalid(String),
}

impl WorldConfig {
    pub fn from_toml_str(s: &str) -> Result<Self, ConfigError> {
        let cfg: WorldConfig = toml::from_str(s)?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, ConfigError> {
        let p = path.as_ref();
        let s = std::fs::read_to_string(p).map_err(|source| ConfigError::Io {
            path: p.display().to_string(),
            source,
        })?;
        Self::from_toml_str(&s)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.accounts.is_empty() {
            return Err(ConfigError::Invalid(
                "at least one account is required".into(),
            ));
        }
        if self.clock_speed.is_nan() || self.clock_speed < 0.0 {
            return Err(ConfigError::Invalid("clock_speed must be >= 0".into()));
        }
        self.start_ms()?;
        self.anchor_day()?;
        if self.close_offset_ms().is_none() {
            return Err(ConfigError::Invalid("close_time_utc must be HH:MM".into()));
        }
        if self.first_order_id < 1 || self.first_order_id >= 1_000_000_000 {
            return Err(ConfigError::Invalid("first_order_id out of range".into()));
        }
        Ok(())
    }

    /// Start instant in epoch ms, if configured.
    pub fn start_ms(&self) -> Result<Option<i64>, ConfigError> {
        match &self.start_time {
            None => Ok(None),
            Some(s) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| Some(d.timestamp_millis()))
                .map_err(|_| ConfigError::Invalid(format!("start_time {s:?} is not RFC 3339"))),
        }
    }

    /// Anchor day (days since epoch), if configured.
    pub fn anchor_day(&self) -> Result<Option<i64>, ConfigError> {
        match &self.anchor_date {
            None => Ok(None),
            Some(s) => {
                let bad = || ConfigError::Invalid(format!("anchor_date {s:?} is not YYYY-MM-DD"));
                let mut it = s.trim().split('-');
                let y = it
                    .next()
                    .and_then(|v| v.parse::<i64>().ok())
                    .ok_or_else(bad)?;
                let m = it
                    .next()
                    .and_then(|v| v.parse::<u32>().ok())
                    .ok_or_else(bad)?;
                let d = it
                    .next()
                    .and_then(|v| v.parse::<u32>().ok())
                    .ok_or_else(bad)?;
                if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
                    return Err(bad());
                }
                Ok(Some(super::clock::days_from_civil(y, m, d)))
            }
        }
    }

    /// Offset of the "always" session close within the UTC day.
    pub fn close_offset_ms(&self) -> Option<i64> {
        let (h, m) = self.close_time_utc.split_once(':')?;
        let h: i64 = h.trim().parse().ok()?;
        let m: i64 = m.trim().parse().ok()?;
        ((0..24).contains(&h) && (0..60).contains(&m)).then_some((h * 3600 + m * 60) * 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_parses() {
        let s = include_str!("../../world.example.toml");
        let cfg = WorldConfig::from_toml_str(s).expect("example config");
        assert_eq!(cfg.accounts[0].id, "DU1234567");
    }

    #[test]
    fn overrides_and_additions_apply() {
        let s = include_str!("../../world.example.toml");
        let cfg = WorldConfig::from_toml_str(s).unwrap();
        let uni = super::super::instruments::Universe::build(&cfg, 20_460);
        let acme = uni.by_symbol("ACME", None).expect("added stock");
        assert_eq!(uni.get(acme).price, 42.5);
        assert_eq!(uni.get(acme).details.long_name, "ACME CORP");
        assert!(WorldConfig::from_toml_str("seed = 1\nbogus = 2").is_err());
        assert!(WorldConfig::from_toml_str("start_time = \"yesterday\"").is_err());
        assert!(WorldConfig::from_toml_str("market_hours = \"us_equities\"").is_ok());
    }

    #[test]
    fn empty_is_default() {
        assert_eq!(
            WorldConfig::from_toml_str("").unwrap(),
            WorldConfig::default()
        );
    }
}
