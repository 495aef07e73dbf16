//! The single configuration model of the host.
//!
//! Sources, lowest to highest precedence:
//! 1. built-in defaults (safe: loopback only, guardrails on, read-write paper trading);
//! 2. an optional TOML file (`--config FILE` or `IBKR_MCP_CONFIG`) for everything;
//! 3. a `.env` file in the working directory (loaded into the process environment, never
//!    overriding variables that are already set);
//! 4. the predecessor's environment variables `TWS_HOST`, `TWS_PORT`, `TWS_CLIENT_ID`,
//!    `SERVER_HOST`, `SERVER_PORT`, `API_PREFIX`, `LOG_LEVEL`, plus comma-separated
//!    `MCP_BEARER_TOKENS`, `CORS_ORIGINS`, `ALLOWED_HOSTS`, `ALLOWED_ORIGINS`;
//! 5. command-line flags.
//!
//! [`Config::validate`] rejects invalid values with an error naming the setting.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// An invalid setting: names the setting and says why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid configuration `{setting}`: {reason}")]
    Invalid { setting: String, reason: String },
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot parse config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
}

fn invalid(setting: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting: setting.to_string(),
        reason: reason.into(),
    }
}

/// Complete host configuration.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub tws: TwsConfig,
    pub server: ServerConfig,
    pub log: LogConfig,
    pub guardrails: GuardrailsConfig,
    pub audit: AuditConfig,
    /// Plugin runtime settings. The plugin engineer owns this section.
    #[serde(default)]
    pub plugins: crate::plugins::PluginsConfig,
}

/// Connection to TWS / IB Gateway.
///
/// Ports: TWS 7496 live / 7497 paper; IB Gateway 4001 live / 4002 paper.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwsConfig {
    /// `TWS_HOST`.
    pub host: String,
    /// `TWS_PORT`. TWS 7496 live / 7497 paper; IB Gateway 4001 live / 4002 paper.
    pub port: u16,
    /// `TWS_CLIENT_ID`.
    pub client_id: i32,
    /// Connect when the host starts (and keep reconnecting). When false, only `ibkr_connect` connects.
    pub connect_on_start: bool,
    /// Timeout of one connection attempt (handshake included), in milliseconds.
    pub connect_timeout_ms: u64,
    /// Timeout of every broker request, in milliseconds.
    pub request_timeout_ms: u64,
    /// First reconnect delay, in milliseconds (doubles per attempt).
    pub reconnect_initial_ms: u64,
    /// Maximum reconnect delay, in milliseconds.
    pub reconnect_max_ms: u64,
    /// Give up after this many consecutive failed attempts (0 = retry forever).
    pub reconnect_max_attempts: u32,
    /// On error 326 (client id in use) retry with the next client id.
    pub client_id_retry: bool,
}

impl Default for TwsConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 7497,
            client_id: 1,
            connect_on_start: true,
            connect_timeout_ms: 5_000,
            request_timeout_ms: 15_000,
            reconnect_initial_ms: 250,
            reconnect_max_ms: 30_000,
            reconnect_max_attempts: 0,
            client_id_retry: true,
        }
    }
}

impl TwsConfig {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }
}

/// The HTTP server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// `SERVER_HOST`.
    pub host: String,
    /// `SERVER_PORT`.
    pub port: u16,
    /// `API_PREFIX`; MCP is served at `{api_prefix}/mcp`.
    pub api_prefix: String,
    /// CORS allowed origins (exact, e.g. `http://localhost:6274`). Empty = no CORS headers.
    pub cors_origins: Vec<String>,
    /// Allowed `Host` header values (hostnames or host:port). Empty = loopback names only.
    pub allowed_hosts: Vec<String>,
    /// Allowed `Origin` values for MCP requests (scheme://host[:port], `:*` for any port).
    /// Requests with any other Origin are rejected with 403. Requests without Origin pass.
    pub allowed_origins: Vec<String>,
    /// Bearer tokens accepted on the MCP endpoint. Empty = no authentication. `MCP_BEARER_TOKENS`
    /// (comma separated) adds tokens.
    pub bearer_tokens: Vec<String>,
    /// Keep 2025-11-25 sessions (Mcp-Session-Id). 2026-07-28 requests are always stateless.
    pub legacy_sessions: bool,
    /// SSE keep-alive interval in seconds (0 = off).
    pub sse_keep_alive_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8000,
            api_prefix: "/api/v1".into(),
            cors_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            bearer_tokens: Vec::new(),
            legacy_sessions: true,
            sse_keep_alive_secs: 15,
        }
    }
}

impl ServerConfig {
    /// Path of the MCP endpoint, e.g. `/api/v1/mcp`.
    pub fn mcp_path(&self) -> String {
        format!("{}/mcp", self.api_prefix.trim_end_matches('/'))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `LOG_LEVEL`: error, warn, info, debug, trace, or a tracing filter directive.
    pub level: String,
    /// Emit JSON log lines.
    pub json: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            json: false,
        }
    }
}

/// Order guardrails, applied to every order whatever its origin (MCP tool or plugin).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuardrailsConfig {
    /// Refuse every order placement and cancellation.
    pub read_only: bool,
    /// Maximum quantity of one order.
    pub max_order_quantity: f64,
    /// Maximum notional (quantity x price x multiplier) of one order; the price is the limit
    /// price, or for market orders the last / close / mid price of a quote snapshot.
    pub max_order_notional: f64,
    /// Security types that may be traded.
    pub allowed_sec_types: Vec<String>,
    /// Order types that may be placed.
    pub allowed_order_types: Vec<String>,
}

impl Default for GuardrailsConfig {
    fn default() -> Self {
        Self {
            read_only: false,
            max_order_quantity: 10_000.0,
            max_order_notional: 250_000.0,
            allowed_sec_types: vec!["STK".into(), "OPT".into(), "FUT".into(), "CASH".into()],
            allowed_order_types: vec!["MKT".into(), "LMT".into(), "STP".into(), "STP LMT".into()],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// JSONL audit log of every order action (hash-chained). Empty = keep in memory only.
    pub path: String,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            path: "ibkr-mcp-audit.jsonl".into(),
        }
    }
}

/// Values that override the file/environment (typically from CLI flags).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub tws_host: Option<String>,
    pub tws_port: Option<u16>,
    pub tws_client_id: Option<i32>,
    pub server_host: Option<String>,
    pub server_port: Option<u16>,
    pub api_prefix: Option<String>,
    pub log_level: Option<String>,
    pub read_only: Option<bool>,
    pub connect_on_start: Option<bool>,
    pub audit_path: Option<String>,
}

impl Config {
    /// Parse a TOML document.
    pub fn from_toml_str(text: &str, path: &std::path::Path) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Load: defaults <- TOML file <- environment <- overrides, then validate.
    /// `env` is a lookup function so tests need not touch the process environment.
    pub fn load(
        file: Option<&std::path::Path>,
        env: impl Fn(&str) -> Option<String>,
        overrides: &Overrides,
    ) -> Result<Self, ConfigError> {
        let mut cfg = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                Self::from_toml_str(&text, path)?
            }
            None => Config::default(),
        };
        cfg.apply_env(env)?;
        cfg.apply_overrides(overrides);
        cfg.validate()?;
        Ok(cfg)
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, ConfigError> {
            v.trim()
                .parse()
                .map_err(|_| invalid(name, format!("cannot parse {v:?}")))
        }
        if let Some(v) = env("TWS_HOST") {
            self.tws.host = v;
        }
        if let Some(v) = env("TWS_PORT") {
            self.tws.port = parse("TWS_PORT", &v)?;
        }
        if let Some(v) = env("TWS_CLIENT_ID") {
            self.tws.client_id = parse("TWS_CLIENT_ID", &v)?;
        }
        if let Some(v) = env("SERVER_HOST") {
            self.server.host = v;
        }
        if let Some(v) = env("SERVER_PORT") {
            self.server.port = parse("SERVER_PORT", &v)?;
        }
        if let Some(v) = env("API_PREFIX") {
            self.server.api_prefix = v;
        }
        if let Some(v) = env("LOG_LEVEL") {
            self.log.level = v;
        }
        let list = |v: String| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(String::from)
                .collect()
        };
        if let Some(v) = env("CORS_ORIGINS") {
            self.server.cors_origins = list(v);
        }
        if let Some(v) = env("ALLOWED_HOSTS") {
            self.server.allowed_hosts = list(v);
        }
        if let Some(v) = env("ALLOWED_ORIGINS") {
            self.server.allowed_origins = list(v);
        }
        if let Some(v) = env("MCP_BEARER_TOKENS") {
            self.server.bearer_tokens.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(String::from),
            );
        }
        Ok(())
    }

    /// Apply CLI-style overrides.
    pub fn apply_overrides(&mut self, o: &Overrides) {
        if let Some(v) = &o.tws_host {
            self.tws.host = v.clone();
        }
        if let Some(v) = o.tws_port {
            self.tws.port = v;
        }
        if let Some(v) = o.tws_client_id {
            self.tws.client_id = v;
        }
        if let Some(v) = &o.server_host {
            self.server.host = v.clone();
        }
        if let Some(v) = o.server_port {
            self.server.port = v;
        }
        if let Some(v) = &o.api_prefix {
            self.server.api_prefix = v.clone();
        }
        if let Some(v) = &o.log_level {
            self.log.level = v.clone();
        }
        if let Some(v) = o.read_only {
            self.guardrails.read_only = v;
        }
        if let Some(v) = o.connect_on_start {
            self.tws.connect_on_start = v;
        }
        if let Some(v) = &o.audit_path {
            self.audit.path = v.clone();
        }
    }

    /// Check every setting; the error names the first invalid one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.tws.host.trim().is_empty() {
            return Err(invalid("tws.host (TWS_HOST)", "must not be empty"));
        }
        if self.tws.port == 0 {
            return Err(invalid(
                "tws.port (TWS_PORT)",
                "must be 1-65535 (TWS 7496 live / 7497 paper, IB Gateway 4001 live / 4002 paper)",
            ));
        }
        if self.tws.client_id < 0 {
            return Err(invalid("tws.client_id (TWS_CLIENT_ID)", "must be >= 0"));
        }
        if self.tws.connect_timeout_ms == 0 {
            return Err(invalid("tws.connect_timeout_ms", "must be > 0"));
        }
        if self.tws.request_timeout_ms == 0 {
            return Err(invalid("tws.request_timeout_ms", "must be > 0"));
        }
        if self.tws.reconnect_initial_ms == 0 {
            return Err(invalid("tws.reconnect_initial_ms", "must be > 0"));
        }
        if self.tws.reconnect_max_ms < self.tws.reconnect_initial_ms {
            return Err(invalid(
                "tws.reconnect_max_ms",
                "must be >= tws.reconnect_initial_ms",
            ));
        }
        if self.server.host.parse::<IpAddr>().is_err() && self.server.host != "localhost" {
            return Err(invalid(
                "server.host (SERVER_HOST)",
                format!("{:?} is not an IP address", self.server.host),
            ));
        }
        let p = &self.server.api_prefix;
        if !(p.is_empty() || (p.starts_with('/') && !p.ends_with('/'))) {
            return Err(invalid(
                "server.api_prefix (API_PREFIX)",
                "must be empty or start with '/' and not end with '/', e.g. /api/v1",
            ));
        }
        for o in &self.server.cors_origins {
            if o == "*" {
                return Err(invalid(
                    "server.cors_origins",
                    "\"*\" is not allowed; list the exact origins",
                ));
            }
            if !(o.starts_with("http://") || o.starts_with("https://")) {
                return Err(invalid(
                    "server.cors_origins",
                    format!("{o:?} must start with http:// or https://"),
                ));
            }
        }
        for o in &self.server.allowed_origins {
            if o != "null" && !o.contains("://") {
                return Err(invalid(
                    "server.allowed_origins",
                    format!("{o:?} must include a scheme, e.g. http://localhost:*"),
                ));
            }
        }
        for t in &self.server.bearer_tokens {
            if t.len() < 16 {
                return Err(invalid(
                    "server.bearer_tokens",
                    "every token must be at least 16 characters",
                ));
            }
        }
        tracing_subscriber::EnvFilter::try_new(&self.log.level)
            .map_err(|e| invalid("log.level (LOG_LEVEL)", e.to_string()))?;
        let g = &self.guardrails;
        if g.max_order_quantity.is_nan() || g.max_order_quantity <= 0.0 {
            return Err(invalid("guardrails.max_order_quantity", "must be > 0"));
        }
        if g.max_order_notional.is_nan() || g.max_order_notional <= 0.0 {
            return Err(invalid("guardrails.max_order_notional", "must be > 0"));
        }
        Ok(())
    }

    /// The effective configuration as TOML with secrets redacted.
    pub fn to_redacted_toml(&self) -> String {
        let mut c = self.clone();
        c.server.bearer_tokens = c
            .server
            .bearer_tokens
            .iter()
            .map(|_| "<redacted>".to_string())
            .collect();
        toml::to_string_pretty(&c).unwrap_or_else(|e| format!("# cannot render: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn defaults_are_valid() {
        Config::load(None, |_| None, &Overrides::default()).unwrap();
    }

    #[test]
    fn env_then_flags() {
        let env = env_of(&[
            ("TWS_PORT", "4002"),
            ("SERVER_PORT", "9000"),
            ("API_PREFIX", "/x"),
        ]);
        let o = Overrides {
            server_port: Some(9100),
            ..Default::default()
        };
        let c = Config::load(None, env, &o).unwrap();
        assert_eq!(c.tws.port, 4002);
        assert_eq!(c.server.port, 9100);
        assert_eq!(c.server.mcp_path(), "/x/mcp");
    }

    #[test]
    fn list_env_vars() {
        let env = env_of(&[
            ("ALLOWED_HOSTS", "mcp.example.com, localhost"),
            ("CORS_ORIGINS", "https://a.example"),
        ]);
        let c = Config::load(None, env, &Overrides::default()).unwrap();
        assert_eq!(c.server.allowed_hosts, vec!["mcp.example.com", "localhost"]);
        assert_eq!(c.server.cors_origins, vec!["https://a.example"]);
    }

    #[test]
    fn invalid_env_names_setting() {
        let e = Config::load(None, env_of(&[("TWS_PORT", "abc")]), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("TWS_PORT"), "{e}");
    }

    #[test]
    fn invalid_toml_names_setting() {
        let e = Config::from_toml_str("[server]\ncors_origins=[\"*\"]\n", "x.toml".as_ref())
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("server.cors_origins"), "{e}");
        let e = Config::from_toml_str("[tws]\nprot=1\n", "x.toml".as_ref())
            .unwrap_err()
            .to_string();
        assert!(e.contains("prot"), "{e}");
    }

    #[test]
    fn redacts_tokens() {
        let mut c = Config::default();
        c.server.bearer_tokens = vec!["supersecrettoken-123".into()];
        let s = c.to_redacted_toml();
        assert!(!s.contains("supersecret"));
        assert!(s.contains("<redacted>"));
    }
}
