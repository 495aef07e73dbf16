//! Shared harness for end-to-end tests: start the paper gateway (simulator) and the host on
//! loopback ports, connect real MCP clients (rmcp over Streamable HTTP), inspect the simulator.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let env = e2e::TestEnv::start().await?;          // sim + host, TWS connected
//! let client = env.client().await?;                 // rmcp client, 2025-11-25 session
//! let r = e2e::call(&client, "ibkr_get_positions", serde_json::json!({})).await?;
//! env.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Tests that only read (quotes, positions, tool listings; no orders, no fault injection, no
//! counting of simulator-wide state) use [`TestEnv::shared`] instead: their own host on the
//! simulator shared by every test of the binary, under a TWS client id of its own.

// MCP logging is deprecated by SEP-2577 (2026-07-28) but still part of 2025-11-25.
#![allow(deprecated)]

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use ibkr_mcp::app::HostHandle;
use ibkr_mcp::broker::ConnectionState;
use ibkr_mcp::config::Config;
use parking_lot::Mutex;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
    LoggingMessageNotificationParam, ProgressNotificationParam, ProtocolVersion,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::Value;
use tws_sim::{SimHandle, SimOptions};

pub use ibkr_mcp;
pub use tws_sim;

/// Install a test tracing subscriber once (RUST_LOG controls it).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// A configuration for tests: ephemeral HTTP port, in-memory audit log, fast reconnects.
pub fn test_config() -> Config {
    let mut cfg = Config::default();
    cfg.server.host = "127.0.0.1".into();
    cfg.server.port = 0;
    cfg.audit.path = String::new();
    cfg.tws.connect_timeout_ms = 3_000;
    cfg.tws.request_timeout_ms = 10_000;
    cfg.tws.reconnect_initial_ms = 100;
    cfg.tws.reconnect_max_ms = 1_000;
    cfg
}

/// The host-facing methods shared by [`TestEnv`] and [`SharedEnv`] (both hold `host: HostHandle`).
macro_rules! host_env_methods {
    () => {
        pub fn mcp_url(&self) -> String {
            self.host.mcp_url()
        }

        pub fn base_url(&self) -> String {
            self.host.base_url()
        }

        /// Wait until the host's broker reports `connected`.
        pub async fn wait_connected(&self, timeout: Duration) -> Result<()> {
            wait_state(&self.host, ConnectionState::Connected, timeout).await
        }

        /// An rmcp client on a 2025-11-25 session (initialize handshake).
        pub async fn client(&self) -> Result<Client> {
            connect_client(&self.mcp_url(), None).await
        }

        /// An rmcp client with a bearer token.
        pub async fn client_with_token(&self, token: &str) -> Result<Client> {
            connect_client(&self.mcp_url(), Some(token)).await
        }
    };
}

/// A running simulator + host.
pub struct TestEnv {
    pub sim: SimHandle,
    pub host: HostHandle,
    pub config: Config,
}

impl TestEnv {
    /// Simulator + host with [`test_config`], waiting until TWS is connected.
    pub async fn start() -> Result<Self> {
        Self::start_with(|_| {}).await
    }

    /// Like [`TestEnv::start`] with a config tweak (applied after the simulator address is set).
    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Result<Self> {
        init_tracing();
        let mut config = test_config();
        let sim = ibkr_mcp::app::start_sim(&mut config, SimOptions::default()).await?;
        tweak(&mut config);
        let host = ibkr_mcp::app::start_http(&config).await?;
        let env = TestEnv { sim, host, config };
        if env.config.tws.connect_on_start {
            env.wait_connected(Duration::from_secs(10)).await?;
        }
        Ok(env)
    }

    host_env_methods!();

    /// Stop the host (disconnecting from TWS) and then the simulator.
    pub async fn shutdown(self) {
        self.host.shutdown().await;
        self.sim.shutdown().await;
    }
}

/// The simulator shared by every test of this test binary, started on first use.
///
/// Each `#[tokio::test]` has a runtime of its own that ends with the test, so the shared
/// simulator runs on a runtime owned by a thread of its own, alive until the process exits.
/// Only for tests that leave its state as they found it (see [`TestEnv::shared`]).
pub fn shared_sim() -> &'static SimHandle {
    static SIM: OnceLock<SimHandle> = OnceLock::new();
    SIM.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("shared-tws-sim".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("shared-tws-sim")
                    .enable_all()
                    .build()
                    .expect("runtime for the shared simulator");
                rt.block_on(async move {
                    match tws_sim::Simulator::start(SimOptions::default()).await {
                        Ok(sim) => {
                            let _ = tx.send(Ok(sim));
                            // Serve until the process exits.
                            std::future::pending::<()>().await
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e.to_string()));
                        }
                    }
                })
            })
            .expect("spawn the shared simulator thread");
        rx.recv()
            .expect("shared simulator thread ended before reporting")
            .unwrap_or_else(|e| panic!("shared simulator failed to start: {e}"))
    })
}

/// A TWS client id no other host of this process uses (the simulator refuses a duplicate
/// client id with error 326). Ids start at 1000, above the ones tests pick by hand.
pub fn unique_client_id() -> i32 {
    static NEXT: AtomicI32 = AtomicI32::new(1000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// [`test_config`] pointed at the shared simulator ([`shared_sim`]) with a unique client id.
pub fn shared_config() -> Config {
    let sim = shared_sim();
    let mut cfg = test_config();
    cfg.tws.host = sim.addr().ip().to_string();
    cfg.tws.port = sim.addr().port();
    cfg.tws.connect_on_start = true;
    cfg.tws.client_id = unique_client_id();
    cfg
}

/// A host of its own on the shared simulator (see [`TestEnv::shared`]).
pub struct SharedEnv {
    pub sim: &'static SimHandle,
    pub host: HostHandle,
    pub config: Config,
}

impl TestEnv {
    /// A host of its own (its own HTTP port, audit log, TWS client id) on the simulator
    /// shared by the test binary, waiting until TWS is connected. For tests that only read:
    /// no orders, no fault injection, no assertions on simulator-wide counts (other tests'
    /// hosts are connected to the same simulator).
    pub async fn shared() -> Result<SharedEnv> {
        Self::shared_with(|_| {}).await
    }

    /// Like [`TestEnv::shared`] with a config tweak (applied after the simulator address and
    /// client id are set).
    pub async fn shared_with(tweak: impl FnOnce(&mut Config)) -> Result<SharedEnv> {
        init_tracing();
        let mut config = shared_config();
        tweak(&mut config);
        let host = ibkr_mcp::app::start_http(&config).await?;
        let env = SharedEnv {
            sim: shared_sim(),
            host,
            config,
        };
        if env.config.tws.connect_on_start {
            env.wait_connected(Duration::from_secs(10)).await?;
        }
        Ok(env)
    }
}

impl SharedEnv {
    host_env_methods!();

    /// Stop the host (disconnecting from TWS); the shared simulator keeps running.
    pub async fn shutdown(self) {
        self.host.shutdown().await;
    }
}

/// Wait until `host`'s broker reaches `state`.
pub async fn wait_state(
    host: &HostHandle,
    state: ConnectionState,
    timeout: Duration,
) -> Result<()> {
    let mut rx = host.broker.watch_status();
    tokio::time::timeout(timeout, rx.wait_for(|s| s.state == state))
        .await
        .map_err(|_| {
            anyhow!(
                "timed out waiting for {state:?}; status {:?}",
                host.broker.status()
            )
        })?
        .map_err(|e| anyhow!("{e}"))?;
    Ok(())
}

/// Notifications a client received.
#[derive(Debug, Default)]
pub struct Received {
    pub progress: Vec<ProgressNotificationParam>,
    pub logs: Vec<LoggingMessageNotificationParam>,
    pub tool_list_changed: usize,
    pub prompt_list_changed: usize,
}

/// A client handler that records notifications.
#[derive(Clone)]
pub struct Recorder {
    pub received: Arc<Mutex<Received>>,
    info: ClientConfig,
}

impl Recorder {
    pub fn new(protocol: ProtocolVersion) -> Self {
        let mut info = ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("e2e-test-client", "0.1.0"),
        );
        info.protocol_version = protocol;
        Recorder {
            received: Arc::new(Mutex::new(Received::default())),
            info,
        }
    }
}

impl ClientHandler for Recorder {
    fn get_info(&self) -> ClientConfig {
        self.info.clone()
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _ctx: NotificationContext<RoleClient>,
    ) {
        self.received.lock().progress.push(params);
    }

    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _ctx: NotificationContext<RoleClient>,
    ) {
        self.received.lock().logs.push(params);
    }

    async fn on_tool_list_changed(&self, _ctx: NotificationContext<RoleClient>) {
        self.received.lock().tool_list_changed += 1;
    }

    async fn on_prompt_list_changed(&self, _ctx: NotificationContext<RoleClient>) {
        self.received.lock().prompt_list_changed += 1;
    }
}

/// A running rmcp client.
pub type Client = RunningService<RoleClient, Recorder>;

/// Connect an rmcp client over Streamable HTTP with the legacy initialize handshake
/// (protocol 2025-11-25, session id).
pub async fn connect_client(url: &str, token: Option<&str>) -> Result<Client> {
    let mut cfg =
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
            url.to_string(),
        );
    if let Some(t) = token {
        cfg = cfg.auth_header(t.to_string());
    }
    let transport = StreamableHttpClientTransport::from_config(cfg);
    Recorder::new(ProtocolVersion::V_2025_11_25)
        .serve(transport)
        .await
        .context("MCP initialize failed")
}

/// Connect an rmcp client with `server/discover` (protocol 2026-07-28, stateless).
pub async fn connect_client_stateless(url: &str) -> Result<Client> {
    use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
    let transport = StreamableHttpClientTransport::from_uri(url.to_string());
    Recorder::new(ProtocolVersion::V_2026_07_28)
        .serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        )
        .await
        .context("MCP discover failed")
}

fn params(name: &str, args: Value) -> CallToolRequestParams {
    let mut p = CallToolRequestParams::new(name.to_string());
    p.arguments = match args {
        Value::Object(m) => Some(m),
        Value::Null => None,
        other => panic!("tool arguments must be an object, got {other}"),
    };
    p
}

/// Call a tool; returns the raw result (which may be a tool error).
pub async fn call_raw(client: &Client, name: &str, args: Value) -> Result<CallToolResult> {
    Ok(client.call_tool(params(name, args)).await?)
}

/// Call a tool that must succeed; returns its structured content.
pub async fn call(client: &Client, name: &str, args: Value) -> Result<Value> {
    let r = call_raw(client, name, args).await?;
    if r.is_error == Some(true) {
        return Err(anyhow!("{name} failed: {}", text_of(&r)));
    }
    r.structured_content
        .clone()
        .ok_or_else(|| anyhow!("{name} returned no structured content: {}", text_of(&r)))
}

/// Call a tool that must fail; returns the error text.
pub async fn call_err(client: &Client, name: &str, args: Value) -> Result<String> {
    let r = call_raw(client, name, args).await?;
    if r.is_error != Some(true) {
        return Err(anyhow!(
            "{name} unexpectedly succeeded: {:?}",
            r.structured_content
        ));
    }
    Ok(text_of(&r))
}

/// All text content of a result, joined.
pub fn text_of(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// How often [`wait_until`] / [`wait_for`] / [`wait_for_async`] poll.
const POLL: Duration = Duration::from_millis(20);

/// Poll `cond` until it holds; fail (naming `what`) when `timeout` passes first. For state with no
/// change notification (the simulator's admin view, a recorder's notifications): a deadline on an
/// observable condition, never a sleep standing in for one.
pub async fn wait_until(
    timeout: Duration,
    what: &str,
    mut cond: impl FnMut() -> bool,
) -> Result<()> {
    wait_for(timeout, what, || cond().then_some(())).await
}

/// Poll `probe` until it returns `Some`; that value, or an error naming `what` after `timeout`.
pub async fn wait_for<T>(
    timeout: Duration,
    what: &str,
    mut probe: impl FnMut() -> Option<T>,
) -> Result<T> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = probe() {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(anyhow!("timed out after {timeout:?} waiting for {what}"));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Like [`wait_for`] with an async probe (e.g. a tool call); a probe error ends the wait.
pub async fn wait_for_async<T, F, Fut>(timeout: Duration, what: &str, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await? {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(anyhow!("timed out after {timeout:?} waiting for {what}"));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The simulator's active subscriptions of `kind` (e.g. `market_data`) whose detail (the local
/// symbol for market data) is `detail`.
pub fn sim_subscriptions(sim: &SimHandle, kind: &str, detail: &str) -> usize {
    sim.admin()
        .subscriptions()
        .iter()
        .filter(|s| s.kind == kind && s.detail == detail)
        .count()
}
