//! Plugin configuration: directory, cache, default limits and per-plugin grants.
//!
//! ```toml
//! [plugins]
//! dir = "plugins-dir"            # scanned at start, watched for changes
//! cache_dir = ".cache/plugins"   # precompiled components
//! hot_reload = true
//! bundled_grants = true          # default grants for the bundled plugins
//!
//! [plugins.limits]               # defaults for every plugin
//! memory_mib = 64
//! timeout_ms = 30000
//!
//! [plugins.plugin.my_strategy]   # per plugin, keyed by file stem
//! grant = ["market-data", "account"]
//! limits = { timeout_ms = 60000, confirm_timeout_ms = 120000 }
//! config = { benchmark = "SPY" }
//! manage_all_orders = false      # true: may modify/cancel orders it did not place
//! ```
//!
//! Grants are deny-by-default and are only ever read from this configuration; nothing on the
//! MCP surface can change them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::limits::Limits;

/// A capability an operator grants to a plugin; each maps to one WIT interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// `ibkr:plugin/market-data`: quotes, bars, contract details, option chains.
    MarketData,
    /// `ibkr:plugin/account`: account summary, positions, PnL.
    Account,
    /// `ibkr:plugin/orders`: preview, place, bracket, modify, cancel, open orders, executions.
    Orders,
}

impl Capability {
    /// All capabilities.
    pub const ALL: [Capability; 3] = [
        Capability::MarketData,
        Capability::Account,
        Capability::Orders,
    ];

    /// Configuration name (also the WIT interface name).
    pub fn name(self) -> &'static str {
        match self {
            Capability::MarketData => "market-data",
            Capability::Account => "account",
            Capability::Orders => "orders",
        }
    }

    /// The capability guarding a WIT interface of package `ibkr:plugin`, if any.
    pub fn for_interface(interface: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.name() == interface)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Capability {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Capability::ALL
            .into_iter()
            .find(|c| c.name() == s.trim())
            .ok_or_else(|| {
                format!("unknown capability `{s}` (known: market-data, account, orders)")
            })
    }
}

/// A set of granted capabilities.
pub type Grant = BTreeSet<Capability>;

/// Parse a comma-separated list such as `market-data,account`.
pub fn parse_grant(list: &str) -> Result<Grant, String> {
    list.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(Capability::from_str)
        .collect()
}

/// Settings of one plugin.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginSettings {
    /// Load this plugin at all (default true).
    pub enabled: Option<bool>,
    /// Capabilities granted; replaces the bundled default when set.
    pub grant: Option<Vec<Capability>>,
    /// Per-plugin limits (unset fields take the `[plugins.limits]` defaults).
    pub limits: Option<PartialLimits>,
    /// Configuration values the plugin reads with `host::config(key)`.
    pub config: BTreeMap<String, String>,
    /// Let the plugin modify and cancel orders it did not place itself (orders of MCP tools,
    /// other plugins, other clients of the connection). Default
    /// false: a plugin manages only its own orders.
    pub manage_all_orders: Option<bool>,
}

/// Limits with every field optional, merged over the defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PartialLimits {
    /// See [`Limits::memory_mib`].
    pub memory_mib: Option<u32>,
    /// See [`Limits::timeout_ms`].
    pub timeout_ms: Option<u64>,
    /// See [`Limits::max_output_kib`].
    pub max_output_kib: Option<u32>,
    /// See [`Limits::max_host_calls`].
    pub max_host_calls: Option<u32>,
    /// See [`Limits::max_stdio_kib`].
    pub max_stdio_kib: Option<u32>,
    /// See [`Limits::confirm_timeout_ms`].
    pub confirm_timeout_ms: Option<u64>,
}

impl PartialLimits {
    /// Overlay onto `base`.
    pub fn apply(&self, base: Limits) -> Limits {
        Limits {
            memory_mib: self.memory_mib.unwrap_or(base.memory_mib),
            timeout_ms: self.timeout_ms.unwrap_or(base.timeout_ms),
            max_output_kib: self.max_output_kib.unwrap_or(base.max_output_kib),
            max_host_calls: self.max_host_calls.unwrap_or(base.max_host_calls),
            max_stdio_kib: self.max_stdio_kib.unwrap_or(base.max_stdio_kib),
            confirm_timeout_ms: self.confirm_timeout_ms.unwrap_or(base.confirm_timeout_ms),
        }
    }
}

/// Default plugin directory (where `scripts/build-plugins.sh` puts the bundled plugins),
/// relative to the working directory; a missing directory simply means no plugins.
pub const DEFAULT_DIR: &str = "target/plugins";

/// The `[plugins]` section of the host configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PluginsConfig {
    /// Load plugins at all.
    pub enabled: bool,
    /// Directory scanned for `*.wasm` plugins (default `target/plugins`); none = no plugins.
    pub dir: Option<PathBuf>,
    /// Directory for precompiled components; none = `<dir>/.cache`.
    pub cache_dir: Option<PathBuf>,
    /// Reload plugins when files in `dir` change or appear.
    pub hot_reload: bool,
    /// Poll interval of the hot-reload watcher, in milliseconds.
    pub poll_ms: u64,
    /// Apply the default grants of the bundled plugins (read-only plugins get read-only
    /// grants; only the trading plugins get `orders`).
    pub bundled_grants: bool,
    /// Use wasmtime's pooling instance allocator.
    pub pooling: bool,
    /// Default limits of every plugin.
    pub limits: Limits,
    /// Per-plugin settings, keyed by plugin name (the file stem).
    pub plugin: BTreeMap<String, PluginSettings>,
}

impl Default for PluginsConfig {
    fn default() -> Self {
        PluginsConfig {
            enabled: true,
            dir: Some(PathBuf::from(DEFAULT_DIR)),
            cache_dir: None,
            hot_reload: true,
            poll_ms: 500,
            bundled_grants: true,
            pooling: true,
            limits: Limits::default(),
            plugin: BTreeMap::new(),
        }
    }
}

/// Default grants of the bundled plugins.
pub fn bundled_grant(name: &str) -> Option<Grant> {
    use Capability::*;
    let caps: &[Capability] = match name {
        "rebalance_portfolio" | "execute_options_strategy" => &[MarketData, Account, Orders],
        "execute_bracket_order" => &[MarketData, Account, Orders],
        "assess_portfolio_risk" | "setup_trading_workspace" => &[MarketData, Account],
        "analyze_market_conditions" | "py_market_snapshot" => &[MarketData],
        _ => return None,
    };
    Some(caps.iter().copied().collect())
}

/// Effective settings of one plugin after merging defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectiveSettings {
    /// Capabilities granted.
    pub grant: Grant,
    /// Limits of each call.
    pub limits: Limits,
    /// Configuration values.
    pub config: BTreeMap<String, String>,
    /// Whether the plugin loads.
    pub enabled: bool,
    /// May modify/cancel orders it did not place (see [`PluginSettings::manage_all_orders`]).
    pub manage_all_orders: bool,
}

impl PluginsConfig {
    /// Validate; messages name the setting.
    pub fn validate(&self) -> Result<(), String> {
        self.limits
            .validate()
            .map_err(|e| format!("plugins.limits.{e}"))?;
        if self.poll_ms == 0 {
            return Err("plugins.poll_ms must be at least 1".into());
        }
        for (name, s) in &self.plugin {
            validate_plugin_name(name).map_err(|e| format!("plugins.plugin.{name}: {e}"))?;
            if let Some(p) = &s.limits {
                p.apply(self.limits)
                    .validate()
                    .map_err(|e| format!("plugins.plugin.{name}.limits.{e}"))?;
            }
        }
        Ok(())
    }

    /// Settings of the plugin `name` (deny by default).
    pub fn settings_for(&self, name: &str) -> EffectiveSettings {
        let s = self.plugin.get(name);
        let grant = match s.and_then(|s| s.grant.as_ref()) {
            Some(g) => g.iter().copied().collect(),
            None if self.bundled_grants => bundled_grant(name).unwrap_or_default(),
            None => Grant::new(),
        };
        EffectiveSettings {
            grant,
            limits: s
                .and_then(|s| s.limits)
                .map(|p| p.apply(self.limits))
                .unwrap_or(self.limits),
            config: s.map(|s| s.config.clone()).unwrap_or_default(),
            enabled: s.and_then(|s| s.enabled).unwrap_or(true),
            manage_all_orders: s.and_then(|s| s.manage_all_orders).unwrap_or(false),
        }
    }

    /// The cache directory in effect.
    pub fn effective_cache_dir(&self) -> Option<PathBuf> {
        self.cache_dir
            .clone()
            .or_else(|| self.dir.as_ref().map(|d| d.join(".cache")))
    }
}

/// Maximum length of a plugin or workflow name (so `<plugin>__<tool>` stays within the
/// MCP limit of 64 characters).
pub const MAX_NAME_LEN: usize = 30;

/// Plugin and workflow names: `[a-z0-9_-]`, starting with a letter, no `__`, at most
/// [`MAX_NAME_LEN`] characters. The `__` ban keeps `<plugin>__<tool>` collision-free.
pub fn validate_plugin_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(format!(
            "name `{name}` must be 1..={MAX_NAME_LEN} characters"
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err(format!("name `{name}` must start with a lowercase letter"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
    {
        return Err(format!(
            "name `{name}` may only contain a-z, 0-9, `_` and `-`"
        ));
    }
    if name.contains("__") || name.ends_with('_') {
        return Err(format!(
            "name `{name}` must not contain `__` or end with `_` (reserved as separator)"
        ));
    }
    Ok(())
}

/// The MCP name of a plugin workflow or prompt.
pub fn qualified_name(plugin: &str, item: &str) -> String {
    format!("{plugin}__{item}")
}

/// Split a qualified name into (plugin, item).
pub fn split_qualified(name: &str) -> Option<(&str, &str)> {
    name.split_once("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_are_deny_by_default() {
        let c = PluginsConfig::default();
        assert!(c.settings_for("unknown_plugin").grant.is_empty());
        let c = PluginsConfig {
            bundled_grants: false,
            ..PluginsConfig::default()
        };
        assert!(c.settings_for("rebalance_portfolio").grant.is_empty());
    }

    #[test]
    fn bundled_defaults_only_give_orders_to_trading_plugins() {
        let c = PluginsConfig::default();
        for name in [
            "rebalance_portfolio",
            "execute_bracket_order",
            "execute_options_strategy",
        ] {
            assert!(
                c.settings_for(name).grant.contains(&Capability::Orders),
                "{name}"
            );
        }
        for name in [
            "assess_portfolio_risk",
            "analyze_market_conditions",
            "setup_trading_workspace",
        ] {
            let g = c.settings_for(name).grant;
            assert!(!g.contains(&Capability::Orders), "{name}");
            assert!(g.contains(&Capability::MarketData), "{name}");
        }
    }

    #[test]
    fn config_parses_grants_limits_and_values() {
        let toml = r#"
            dir = "/tmp/p"
            [limits]
            memory_mib = 32
            [plugin.my_strategy]
            grant = ["market-data", "account"]
            limits = { timeout_ms = 1500 }
            config = { benchmark = "SPY" }
        "#;
        let c: PluginsConfig = toml::from_str(toml).unwrap();
        c.validate().unwrap();
        let s = c.settings_for("my_strategy");
        assert_eq!(
            s.grant,
            [Capability::MarketData, Capability::Account]
                .into_iter()
                .collect()
        );
        assert_eq!(s.limits.memory_mib, 32);
        assert_eq!(s.limits.timeout_ms, 1500);
        assert_eq!(s.config["benchmark"], "SPY");
        assert!(!s.manage_all_orders, "own orders only by default");
        let c: PluginsConfig = toml::from_str(
            "[plugin.ops]\nmanage_all_orders = true\nlimits = { confirm_timeout_ms = 5000 }",
        )
        .unwrap();
        c.validate().unwrap();
        assert!(c.settings_for("ops").manage_all_orders);
        assert_eq!(c.settings_for("ops").limits.confirm_timeout_ms, 5000);
        assert!(toml::from_str::<PluginsConfig>("[plugin.x]\ngrant = [\"shell\"]").is_err());
    }

    #[test]
    fn invalid_limits_name_the_setting() {
        let toml = "[plugin.bad]\nlimits = { memory_mib = 0 }";
        let c: PluginsConfig = toml::from_str(toml).unwrap();
        assert!(
            c.validate()
                .unwrap_err()
                .contains("plugins.plugin.bad.limits.memory_mib")
        );
    }

    #[test]
    fn parse_grant_lists() {
        assert_eq!(parse_grant("").unwrap(), Grant::new());
        assert_eq!(parse_grant("orders, account").unwrap().len(), 2);
        assert!(
            parse_grant("orders,network")
                .unwrap_err()
                .contains("network")
        );
    }

    #[test]
    fn names_are_validated_for_collision_free_mcp_names() {
        validate_plugin_name("rebalance_portfolio").unwrap();
        validate_plugin_name("my-plugin2").unwrap();
        for bad in ["", "Upper", "a__b", "trailing_", "1abc", "has space", "a.b"] {
            assert!(validate_plugin_name(bad).is_err(), "{bad}");
        }
        assert!(validate_plugin_name(&"a".repeat(31)).is_err());
        let q = qualified_name("rebalance_portfolio", "plan_trades");
        assert_eq!(
            split_qualified(&q),
            Some(("rebalance_portfolio", "plan_trades"))
        );
        assert!(q.len() <= 64);
    }
}
