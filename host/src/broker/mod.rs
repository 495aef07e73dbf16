//! THE broker adapter: every caller (MCP tools, WASM plugins, streams) goes through [`Broker`].
//!
//! It owns the `ibapi::Client` behind a connection supervisor (connect at start when configured,
//! reconnect with exponential backoff when the connection drops, client-id conflict handling),
//! fails fast with [`BrokerError::NotConnected`] while not connected, bounds every request by a
//! timeout, and converts everything to the typed records in [`types`].
//!
//! Operations are grouped by concern: [`contracts`], [`market_data`], [`account`], [`orders`]
//! (the single order path with guardrails and the audit log in [`audit`]).

pub mod account;
pub mod audit;
mod coalesce;
pub mod contracts;
mod convert;
pub mod error;
pub mod market_data;
pub mod orders;
pub mod types;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use ibapi::Client;
use parking_lot::RwLock;
use tokio::sync::{Mutex, watch};
use tokio_util::sync::CancellationToken;

pub use error::{
    BrokerError, BrokerResult, CLIENT_ID_IN_USE, CONNECTIVITY_LOST,
    CONNECTIVITY_RESTORED_DATA_KEPT, CONNECTIVITY_RESTORED_DATA_LOST, PORT_HINT,
};
pub use types::*;

use crate::config::{GuardrailsConfig, TwsConfig};

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub client_id: i32,
}

impl Target {
    pub fn address(&self) -> String {
        if self.host.contains(':') && !self.host.starts_with('[') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

struct Inner {
    cfg: TwsConfig,
    guardrails: GuardrailsConfig,
    audit: audit::AuditLog,
    client: RwLock<Option<Arc<Client>>>,
    status_tx: watch::Sender<ConnectionStatus>,
    /// Desired connection: `None` = stay disconnected. Changing it wakes the supervisor.
    desired_tx: watch::Sender<Option<Target>>,
    /// Counts finished connection attempts (success or failure); lets `connect` wait for one.
    attempts_tx: watch::Sender<u64>,
    shutdown: CancellationToken,
    /// Serialises `connect` / `disconnect` requests.
    control: Mutex<()>,
    /// Concurrent `positions` calls share one reqPositions round trip (see [`coalesce`]).
    positions_flight: coalesce::Coalescer<(), Vec<Position>>,
    /// Concurrent snapshots of the same contract share one reqMktData snapshot.
    quote_flight: coalesce::Coalescer<String, Quote>,
}

/// The broker adapter. Cheap to clone; all clones share one connection.
#[derive(Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Broker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Broker")
            .field("status", &self.status())
            .finish()
    }
}

fn initial_status(cfg: &TwsConfig) -> ConnectionStatus {
    ConnectionStatus {
        state: ConnectionState::Disconnected,
        is_connected: false,
        host: cfg.host.clone(),
        port: cfg.port,
        client_id: cfg.client_id,
        server_version: None,
        accounts: Vec::new(),
        attempt: 0,
        last_error: None,
        last_error_code: None,
        connected_since: None,
        ib_connectivity_lost: false,
    }
}

impl Broker {
    /// Create the adapter and start its supervisor task (needs a Tokio runtime). When
    /// `cfg.connect_on_start` is set it starts connecting to `cfg.host:cfg.port` at once.
    pub fn new(cfg: TwsConfig, guardrails: GuardrailsConfig, audit: audit::AuditLog) -> Self {
        let (status_tx, _) = watch::channel(initial_status(&cfg));
        let desired = cfg.connect_on_start.then(|| Target {
            host: cfg.host.clone(),
            port: cfg.port,
            client_id: cfg.client_id,
        });
        let (desired_tx, _) = watch::channel(desired);
        let (attempts_tx, _) = watch::channel(0u64);
        let inner = Arc::new(Inner {
            cfg,
            guardrails,
            audit,
            client: RwLock::new(None),
            status_tx,
            desired_tx,
            attempts_tx,
            shutdown: CancellationToken::new(),
            control: Mutex::new(()),
            positions_flight: Default::default(),
            quote_flight: Default::default(),
        });
        tokio::spawn(supervise(inner.clone()));
        Broker { inner }
    }

    /// Current connection status.
    pub fn status(&self) -> ConnectionStatus {
        self.inner.status_tx.borrow().clone()
    }

    /// Watch connection status changes.
    pub fn watch_status(&self) -> watch::Receiver<ConnectionStatus> {
        self.inner.status_tx.subscribe()
    }

    /// The connection settings this adapter was created with.
    pub fn config(&self) -> &TwsConfig {
        &self.inner.cfg
    }

    /// The guardrails applied to every order.
    pub fn guardrails(&self) -> &GuardrailsConfig {
        &self.inner.guardrails
    }

    /// The order audit log.
    pub fn audit(&self) -> &audit::AuditLog {
        &self.inner.audit
    }

    /// Managed accounts of the live connection.
    pub fn accounts(&self) -> BrokerResult<Vec<String>> {
        self.client()?;
        Ok(self.status().accounts)
    }

    /// The default account (first managed account).
    pub fn default_account(&self) -> BrokerResult<String> {
        self.accounts()?
            .into_iter()
            .next()
            .ok_or_else(|| BrokerError::NotFound("TWS reported no managed account".into()))
    }

    /// Connect to `target` (or the configured gateway), replacing any current connection.
    /// Waits for the first attempt: returns the status when connected, or that attempt's error
    /// (e.g. TWS error 326 for a client id in use, or connection refused with a port hint).
    /// The supervisor keeps retrying in the background after a failure only when the
    /// connection was configured to connect on start; an explicit connect that fails is not retried.
    pub async fn connect(&self, target: Option<Target>) -> BrokerResult<ConnectionStatus> {
        let _g = self.inner.control.lock().await;
        let target = target.unwrap_or_else(|| {
            let s = self.status();
            Target {
                host: s.host,
                port: s.port,
                client_id: self.inner.cfg.client_id,
            }
        });
        {
            let s = self.status();
            if s.state == ConnectionState::Connected
                && s.host == target.host
                && s.port == target.port
                && self.live_client().is_some()
            {
                return Ok(s);
            }
        }
        let mut attempts = self.inner.attempts_tx.subscribe();
        attempts.borrow_and_update();
        self.inner.desired_tx.send_replace(Some(target.clone()));
        let deadline = self.inner.cfg.connect_timeout() + Duration::from_secs(2);
        let waited = tokio::time::timeout(deadline, attempts.changed()).await;
        let status = self.status();
        if status.state == ConnectionState::Connected {
            return Ok(status);
        }
        // The explicit attempt failed: stop retrying and report it.
        self.inner.desired_tx.send_replace(None);
        if waited.is_err() {
            return Err(BrokerError::Timeout {
                operation: format!("connect to {}", target.address()),
                seconds: deadline.as_secs_f64(),
            });
        }
        Err(match status.last_error_code {
            Some(code) => BrokerError::Tws {
                code,
                message: status.last_error.unwrap_or_default(),
            },
            None => {
                let reason = status
                    .last_error
                    .unwrap_or_else(|| "connection failed".into());
                // The status text already ends with the hint; the error adds it once.
                let reason = match reason.strip_suffix(&format!(". {PORT_HINT}")) {
                    Some(r) => r.to_string(),
                    None => reason,
                };
                BrokerError::ConnectFailed {
                    address: target.address(),
                    reason,
                    hint: PORT_HINT.into(),
                }
            }
        })
    }

    /// Disconnect and stay disconnected until [`Broker::connect`] is called.
    pub async fn disconnect(&self) -> ConnectionStatus {
        let _g = self.inner.control.lock().await;
        self.inner.desired_tx.send_replace(None);
        let client = self.inner.client.write().take();
        if let Some(c) = client {
            c.disconnect().await;
        }
        let mut st = self.inner.status_tx.subscribe();
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            st.wait_for(|s| s.state == ConnectionState::Disconnected),
        )
        .await;
        self.status()
    }

    /// Stop the supervisor and disconnect (graceful shutdown).
    pub async fn shutdown(&self) {
        self.inner.shutdown.cancel();
        self.inner.desired_tx.send_replace(None);
        let client = self.inner.client.write().take();
        if let Some(c) = client {
            c.disconnect().await;
        }
    }

    /// The client of the live socket, if any (whatever TWS says about its link to IB).
    fn live_client(&self) -> Option<Arc<Client>> {
        self.inner
            .client
            .read()
            .as_ref()
            .filter(|c| c.is_connected())
            .cloned()
    }

    /// The live client, or at once `NotConnected` (no socket to TWS) or TWS error 1100 (TWS
    /// has lost its link to IB).
    pub(crate) fn client(&self) -> BrokerResult<Arc<Client>> {
        match self.live_client() {
            Some(c) => {
                let s = self.inner.status_tx.borrow();
                if s.ib_connectivity_lost {
                    return Err(BrokerError::Tws {
                        code: CONNECTIVITY_LOST,
                        message: s.last_error.clone().unwrap_or_default(),
                    });
                }
                Ok(c)
            }
            None => {
                let s = self.status();
                let state = match s.state {
                    ConnectionState::Connecting => format!(
                        "reconnecting to {}:{}, attempt {}{}",
                        s.host,
                        s.port,
                        s.attempt + 1,
                        s.last_error
                            .map(|e| format!(", last error: {e}"))
                            .unwrap_or_default()
                    ),
                    _ => "disconnected".to_string(),
                };
                Err(BrokerError::not_connected(state))
            }
        }
    }

    /// Run one broker request with the configured timeout.
    pub(crate) async fn call<T, F, Fut>(&self, operation: &str, f: F) -> BrokerResult<T>
    where
        F: FnOnce(Arc<Client>) -> Fut,
        Fut: Future<Output = BrokerResult<T>>,
    {
        let client = self.client()?;
        let timeout = self.inner.cfg.request_timeout();
        match tokio::time::timeout(timeout, f(client)).await {
            Ok(r) => r,
            Err(_) => Err(BrokerError::Timeout {
                operation: operation.to_string(),
                seconds: timeout.as_secs_f64(),
            }),
        }
    }
}

/// What a request-less TWS notice says about TWS's link to IB's servers: `Some(true)` lost
/// (1100), `Some(false)` restored (1101 / 1102), `None` unrelated.
fn connectivity_lost(code: i32) -> Option<bool> {
    match code {
        CONNECTIVITY_LOST => Some(true),
        CONNECTIVITY_RESTORED_DATA_LOST | CONNECTIVITY_RESTORED_DATA_KEPT => Some(false),
        _ => None,
    }
}

/// The delay before the retry that follows failed attempt number `attempt` (0-based):
/// `reconnect_initial_ms` doubled per attempt, capped at `reconnect_max_ms`.
fn backoff(cfg: &TwsConfig, attempt: u32) -> Duration {
    let ms = cfg
        .reconnect_initial_ms
        .saturating_mul(1u64 << attempt.min(16))
        .min(cfg.reconnect_max_ms);
    Duration::from_millis(ms)
}

fn update(inner: &Inner, f: impl FnOnce(&mut ConnectionStatus)) {
    inner.status_tx.send_modify(|s| {
        f(s);
        s.is_connected = s.state == ConnectionState::Connected;
    });
}

fn describe_connect_error(e: &ibapi::Error) -> (String, Option<i32>) {
    match e {
        ibapi::Error::ClientIdInUse { client_id } => (
            format!(
                "client id {client_id} is already in use by another connection (TWS error 326)"
            ),
            Some(CLIENT_ID_IN_USE),
        ),
        ibapi::Error::Notice(n) => (n.message.clone(), Some(n.code)),
        ibapi::Error::Io(io) => (format!("{io}. {PORT_HINT}"), None),
        other => (other.to_string(), None),
    }
}

/// Apply a request-less TWS notice to the status: 1100 marks TWS's link to IB lost (requests
/// then fail fast with error 1100), 1101 / 1102 mark it restored.
fn on_notice(inner: &Inner, code: i32, message: &str) {
    match connectivity_lost(code) {
        Some(true) => {
            tracing::warn!(code, "TWS lost its connection to IB: {message}");
            update(inner, |s| {
                s.ib_connectivity_lost = true;
                s.last_error = Some(message.to_string());
                s.last_error_code = Some(code);
            });
        }
        Some(false) => {
            if code == CONNECTIVITY_RESTORED_DATA_LOST {
                tracing::warn!(
                    code,
                    "TWS connection to IB restored, market data lost: {message}"
                );
            } else {
                tracing::info!(code, "TWS connection to IB restored: {message}");
            }
            update(inner, |s| {
                s.ib_connectivity_lost = false;
                if s.last_error_code == Some(CONNECTIVITY_LOST) {
                    s.last_error = None;
                    s.last_error_code = None;
                }
            });
        }
        None => tracing::debug!(code, "TWS notice: {message}"),
    }
}

/// The connection supervisor: drives the connection toward `desired`.
async fn supervise(inner: Arc<Inner>) {
    let mut desired_rx = inner.desired_tx.subscribe();
    'outer: loop {
        if inner.shutdown.is_cancelled() {
            break;
        }
        let Some(target) = desired_rx.borrow_and_update().clone() else {
            update(&inner, |s| {
                s.state = ConnectionState::Disconnected;
                s.server_version = None;
                s.accounts.clear();
                s.connected_since = None;
                s.attempt = 0;
                s.ib_connectivity_lost = false;
            });
            tokio::select! {
                _ = inner.shutdown.cancelled() => break,
                r = desired_rx.changed() => if r.is_err() { break } else { continue },
            }
        };
        let mut client_id = target.client_id;
        let mut attempt: u32 = 0;
        loop {
            update(&inner, |s| {
                s.state = ConnectionState::Connecting;
                s.host = target.host.clone();
                s.port = target.port;
                s.client_id = client_id;
                s.attempt = attempt;
            });
            let address = target.address();
            tracing::info!(%address, client_id, attempt, "connecting to TWS");
            let connect = Client::builder()
                .address(address.as_str())
                .client_id(client_id)
                .tcp_no_delay(true)
                .max_reconnect_attempts(0)
                .connect();
            let result = tokio::select! {
                _ = inner.shutdown.cancelled() => break 'outer,
                r = tokio::time::timeout(inner.cfg.connect_timeout(), connect) => r,
            };
            match result {
                Ok(Ok(client)) => {
                    let client = Arc::new(client);
                    let accounts = client.handshake_managed_accounts().to_vec();
                    let server_version = client.server_version();
                    tracing::info!(%address, client_id, server_version, ?accounts, "connected to TWS");
                    *inner.client.write() = Some(client.clone());
                    update(&inner, |s| {
                        s.state = ConnectionState::Connected;
                        s.client_id = client_id;
                        s.server_version = Some(server_version);
                        s.accounts = accounts;
                        s.attempt = 0;
                        s.last_error = None;
                        s.last_error_code = None;
                        s.connected_since = Some(chrono::Utc::now().to_rfc3339());
                        s.ib_connectivity_lost = false;
                    });
                    inner.attempts_tx.send_modify(|n| *n += 1);
                    // Request-less notices: TWS's link to IB (1100 / 1101 / 1102).
                    let mut notices = client.notice_stream().ok();
                    // Monitor the live connection.
                    let lost = loop {
                        let notice = async {
                            match notices.as_mut() {
                                Some(n) => n.next().await,
                                None => std::future::pending().await,
                            }
                        };
                        tokio::select! {
                            _ = inner.shutdown.cancelled() => break false,
                            r = desired_rx.changed() => {
                                if r.is_err() { break false; }
                                let d = desired_rx.borrow_and_update().clone();
                                if d.as_ref() != Some(&target) { break false; }
                            }
                            n = notice => match n {
                                Some(n) => on_notice(&inner, n.code, &n.message),
                                None => notices = None,
                            },
                            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                                if !client.is_connected() { break true; }
                            }
                        }
                    };
                    let taken = {
                        let mut g = inner.client.write();
                        match g.as_ref() {
                            Some(c) if Arc::ptr_eq(c, &client) => g.take(),
                            _ => None,
                        }
                    };
                    if taken.is_some() {
                        client.disconnect().await;
                    }
                    drop(client);
                    if !lost {
                        continue 'outer;
                    }
                    tracing::warn!(%address, "TWS connection lost; reconnecting");
                    update(&inner, |s| {
                        s.state = ConnectionState::Connecting;
                        s.server_version = None;
                        s.connected_since = None;
                        s.last_error = Some("connection lost".into());
                        s.last_error_code = None;
                        s.ib_connectivity_lost = false;
                    });
                    attempt = 0;
                    continue;
                }
                Ok(Err(e)) => {
                    let (msg, code) = describe_connect_error(&e);
                    tracing::warn!(%address, client_id, attempt, error = %msg, "TWS connect failed");
                    update(&inner, |s| {
                        s.last_error = Some(msg);
                        s.last_error_code = code;
                    });
                    if code == Some(CLIENT_ID_IN_USE) && inner.cfg.client_id_retry {
                        client_id += 1;
                    }
                }
                Err(_) => {
                    let msg = format!(
                        "connect timed out after {:?}. {PORT_HINT}",
                        inner.cfg.connect_timeout()
                    );
                    tracing::warn!(%address, attempt, "{msg}");
                    update(&inner, |s| {
                        s.last_error = Some(msg);
                        s.last_error_code = None;
                    });
                }
            }
            inner.attempts_tx.send_modify(|n| *n += 1);
            attempt += 1;
            update(&inner, |s| s.attempt = attempt);
            if inner.cfg.reconnect_max_attempts > 0 && attempt >= inner.cfg.reconnect_max_attempts {
                tracing::error!("giving up connecting after {attempt} attempts");
                inner.desired_tx.send_replace(None);
                continue 'outer;
            }
            let delay = backoff(&inner.cfg, attempt - 1);
            tokio::select! {
                _ = inner.shutdown.cancelled() => break 'outer,
                _ = tokio::time::sleep(delay) => {}
                r = desired_rx.changed() => {
                    if r.is_err() { break 'outer; }
                    continue 'outer;
                }
            }
            if desired_rx.borrow().as_ref() != Some(&target) {
                continue 'outer;
            }
        }
    }
    update(&inner, |s| s.state = ConnectionState::Disconnected);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(initial: u64, max: u64) -> TwsConfig {
        TwsConfig {
            reconnect_initial_ms: initial,
            reconnect_max_ms: max,
            ..TwsConfig::default()
        }
    }

    fn ms(d: Duration) -> u64 {
        d.as_millis() as u64
    }

    #[test]
    fn backoff_doubles_from_the_initial_delay_up_to_the_max() {
        let c = cfg(100, 1_000);
        let schedule: Vec<u64> = (0..8).map(|a| ms(backoff(&c, a))).collect();
        assert_eq!(schedule, [100, 200, 400, 800, 1_000, 1_000, 1_000, 1_000]);
        // The defaults: 250 ms doubling to 30 s.
        let d = TwsConfig::default();
        let schedule: Vec<u64> = (0..9).map(|a| ms(backoff(&d, a))).collect();
        assert_eq!(
            schedule,
            [250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]
        );
    }

    #[test]
    fn backoff_never_overflows() {
        let c = cfg(u64::MAX / 2 + 1, u64::MAX);
        assert_eq!(ms(backoff(&c, 1)), u64::MAX);
        let c = cfg(100, 1_000);
        assert_eq!(ms(backoff(&c, u32::MAX)), 1_000);
        // A max below the initial delay wins.
        assert_eq!(ms(backoff(&cfg(500, 200), 0)), 200);
    }

    #[test]
    fn connectivity_codes_are_classified() {
        assert_eq!(connectivity_lost(1100), Some(true));
        assert_eq!(connectivity_lost(1101), Some(false));
        assert_eq!(connectivity_lost(1102), Some(false));
        for code in [1300, 2103, 2104, 2105, 2106, 2158, 162, 326, 504] {
            assert_eq!(connectivity_lost(code), None, "code {code}");
        }
    }

    #[test]
    fn connect_errors_are_described_with_code_or_port_hint() {
        let (msg, code) = describe_connect_error(&ibapi::Error::ClientIdInUse { client_id: 7 });
        assert_eq!(
            msg,
            "client id 7 is already in use by another connection (TWS error 326)"
        );
        assert_eq!(code, Some(CLIENT_ID_IN_USE));

        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let (msg, code) = describe_connect_error(&ibapi::Error::Io(refused));
        assert_eq!(msg, format!("connection refused. {PORT_HINT}"));
        assert_eq!(code, None);

        let notice = ibapi::Error::Notice(ibapi::Notice {
            request_id: None,
            code: 502,
            message: "Couldn't connect to TWS.".into(),
            error_time: None,
            advanced_order_reject_json: String::new(),
        });
        assert_eq!(
            describe_connect_error(&notice),
            ("Couldn't connect to TWS.".to_string(), Some(502))
        );

        let (msg, code) = describe_connect_error(&ibapi::Error::ConnectionReset);
        assert_eq!((msg.as_str(), code), ("ConnectionReset", None));
    }

    #[test]
    fn target_address_brackets_ipv6() {
        let t = |host: &str| Target {
            host: host.into(),
            port: 4002,
            client_id: 1,
        };
        assert_eq!(t("127.0.0.1").address(), "127.0.0.1:4002");
        assert_eq!(t("gw.example").address(), "gw.example:4002");
        assert_eq!(t("::1").address(), "[::1]:4002");
        assert_eq!(t("[::1]").address(), "[::1]:4002");
    }

    #[tokio::test]
    async fn calls_fail_fast_while_disconnected() {
        let broker = Broker::new(
            TwsConfig {
                connect_on_start: false,
                ..TwsConfig::default()
            },
            GuardrailsConfig::default(),
            audit::AuditLog::in_memory(),
        );
        let status = broker.status();
        assert_eq!(status.state, ConnectionState::Disconnected);
        assert!(!status.ib_connectivity_lost);
        let t = std::time::Instant::now();
        let r: BrokerResult<()> = broker
            .call("positions", |_c| async { panic!("must not run") })
            .await;
        assert_eq!(
            r.unwrap_err().to_string(),
            "not connected to TWS/IB Gateway (disconnected); call ibkr_connect or wait for the \
             automatic reconnect"
        );
        // Fails fast instead of waiting for the 15 s request timeout.
        assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
        assert_eq!(
            broker.default_account().unwrap_err().kind(),
            "not_connected"
        );
        broker.shutdown().await;
    }
}
