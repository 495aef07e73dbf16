//! Assembling a running host: broker adapter + registry + HTTP app (+ optional in-process
//! simulator). Used by `main.rs`, the e2e test harness and benchmarks, so they all run the
//! same code path.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, audit::AuditLog};
use crate::config::Config;
use crate::mcp::Registry;

/// Why the host could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot start the simulator: {0}")]
    Sim(#[from] tws_sim::SimError),
    #[error("cannot open the audit log {path}: {source}")]
    Audit {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// Start the in-process paper gateway (simulator) and point `cfg.tws` at it.
pub async fn start_sim(
    cfg: &mut Config,
    opts: tws_sim::SimOptions,
) -> Result<tws_sim::SimHandle, StartError> {
    let sim = tws_sim::Simulator::start(opts).await?;
    cfg.tws.host = sim.addr().ip().to_string();
    cfg.tws.port = sim.addr().port();
    cfg.tws.connect_on_start = true;
    tracing::info!(addr = %sim.addr(), "paper gateway (simulator) started");
    Ok(sim)
}

/// Open the audit log configured in `cfg` (in memory when the path is empty).
pub fn open_audit(cfg: &Config) -> Result<AuditLog, StartError> {
    if cfg.audit.path.trim().is_empty() {
        return Ok(AuditLog::in_memory());
    }
    AuditLog::open(&cfg.audit.path).map_err(|source| StartError::Audit {
        path: cfg.audit.path.clone(),
        source,
    })
}

/// Broker + registry without any transport (stdio mode, tests).
pub fn core(cfg: &Config) -> Result<(Broker, Arc<Registry>), StartError> {
    let audit = open_audit(cfg)?;
    let broker = Broker::new(cfg.tws.clone(), cfg.guardrails.clone(), audit);
    let registry = Arc::new(Registry::new(broker.clone()));
    Ok((broker, registry))
}

/// A running HTTP host.
pub struct HostHandle {
    addr: SocketAddr,
    mcp_path: String,
    pub broker: Broker,
    pub registry: Arc<Registry>,
    cancel: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
}

impl HostHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
    /// `http://addr`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// `http://addr{API_PREFIX}/mcp`.
    pub fn mcp_url(&self) -> String {
        format!("http://{}{}", self.addr, self.mcp_path)
    }
    /// Token that stops the server when cancelled.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }
    /// Stop serving, disconnect from TWS (before dropping the client), wait for the server.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.broker.shutdown().await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), self.server).await;
    }
    /// Wait until the server stops (after the cancel token fires).
    pub async fn wait(self) -> std::io::Result<()> {
        let r = match self.server.await {
            Ok(r) => r,
            Err(e) => Err(std::io::Error::other(e)),
        };
        self.broker.shutdown().await;
        r
    }
}

/// Start the HTTP host for `cfg` on `cfg.server.host:cfg.server.port` (port 0 = ephemeral).
pub async fn start_http(cfg: &Config) -> Result<HostHandle, StartError> {
    let (broker, registry) = core(cfg)?;
    start_http_with(cfg, broker, registry).await
}

/// Start the HTTP host with an existing broker and registry (e.g. after plugins were added).
pub async fn start_http_with(
    cfg: &Config,
    broker: Broker,
    registry: Arc<Registry>,
) -> Result<HostHandle, StartError> {
    let addr = format!("{}:{}", cfg.server.host, cfg.server.port);
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: addr.clone(),
            source,
        })?;
    let local = listener
        .local_addr()
        .map_err(|source| StartError::Bind { addr, source })?;
    let cancel = CancellationToken::new();
    let app = crate::http::router(&cfg.server, registry.clone(), cancel.clone());
    let server = tokio::spawn(crate::http::serve(listener, app, cancel.clone()));
    tracing::info!(url = %format!("http://{local}{}", cfg.server.mcp_path()), "MCP endpoint listening");
    Ok(HostHandle {
        addr: local,
        mcp_path: cfg.server.mcp_path(),
        broker,
        registry,
        cancel,
        server,
    })
}
