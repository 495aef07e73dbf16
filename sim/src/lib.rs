//! `tws-sim` — the paper gateway: a TWS API simulator that speaks the real socket protocol.
//!
//! Module map:
//! - [`api`]: the protocol-neutral request/response model shared by both codecs and the world.
//! - `proto`: protobuf codec (server versions 213..=226, for `ibapi` 5.x).
//! - `text`: classic text codec (server versions up to 178, for `ib_async`).
//! - [`wire`]: framing, handshake and version negotiation.
//! - [`server`]: TCP listener, one task per connection, client-id registry.
//! - [`world`]: instruments, prices, accounts, orders — all simulated state.
//! - [`admin`]: fault injection and state inspection (in-process handle and HTTP).
//!
//! # Embedding
//! ```no_run
//! # async fn demo() -> Result<(), tws_sim::SimError> {
//! use tws_sim::{SimOptions, Simulator};
//! let sim = Simulator::start(SimOptions::default()).await?; // 127.0.0.1:<ephemeral>
//! let addr = sim.addr();                                  // give this to ibapi / ib_async
//! sim.admin().drop_all();                                 // fault injection
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

pub mod api;
pub mod proto;
pub mod text;
pub mod wire;
pub mod world;

pub mod admin;
pub mod server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use admin::{AdminHandle, SimState};
pub use server::{
    ConnectionAttempt, ConnectionInfo, MAX_ATTEMPTS_KEPT, ServerOptions, ServerStats,
};
pub use world::WorldConfig;

/// Everything needed to start a simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Address of the TWS API socket, e.g. `127.0.0.1:4002` or `127.0.0.1:0` (ephemeral port).
    pub bind: SocketAddr,
    /// Optional address of the admin HTTP API (see [`admin`]).
    pub admin_bind: Option<SocketAddr>,
    /// The simulated world (seed, accounts, clock, instruments ...).
    pub world: WorldConfig,
    /// Network-side tunables (ticker interval, queue sizes, timeouts, pacing).
    pub server: ServerOptions,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_bind: None,
            world: WorldConfig::default(),
            server: ServerOptions::default(),
        }
    }
}

impl SimOptions {
    /// Defaults on an ephemeral loopback port with the given world.
    pub fn with_world(world: WorldConfig) -> Self {
        Self {
            world,
            ..Self::default()
        }
    }
}

/// Why the simulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Entry point of the embedding API.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Bind the sockets, build the world and start serving. Must be called inside a Tokio
    /// runtime; returns as soon as the listener is bound.
    pub async fn start(opts: SimOptions) -> Result<SimHandle, SimError> {
        let listener = tokio::net::TcpListener::bind(opts.bind)
            .await
            .map_err(|source| SimError::Bind {
                addr: opts.bind,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| SimError::Bind {
            addr: opts.bind,
            source,
        })?;
        let admin_listener = match opts.admin_bind {
            Some(a) => Some(
                tokio::net::TcpListener::bind(a)
                    .await
                    .map_err(|source| SimError::Bind { addr: a, source })?,
            ),
            None => None,
        };
        let admin_addr = admin_listener.as_ref().and_then(|l| l.local_addr().ok());

        let world = world::World::new(opts.world);
        let shared = server::Shared::new(world, opts.server);
        let admin = AdminHandle::new(shared.clone());
        shared
            .tracker
            .spawn(server::accept_loop(shared.clone(), listener, addr));
        shared.tracker.spawn(server::ticker(shared.clone()));
        if let Some(l) = admin_listener {
            shared
                .tracker
                .spawn(admin::serve_http(admin.clone(), l, shared.shutdown.clone()));
        }
        tracing::info!(%addr, ?admin_addr, "tws-sim listening");
        Ok(SimHandle {
            addr,
            admin_addr,
            admin,
            shared,
        })
    }
}

/// A running simulator. Dropping it stops serving (like [`SimHandle::shutdown`] without
/// waiting).
pub struct SimHandle {
    addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    admin: AdminHandle,
    shared: Arc<server::Shared>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("addr", &self.addr)
            .field("admin_addr", &self.admin_addr)
            .finish_non_exhaustive()
    }
}

impl SimHandle {
    /// The TWS API socket address (with the real port when bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The admin HTTP address, when enabled.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// In-process fault injection and state inspection.
    pub fn admin(&self) -> &AdminHandle {
        &self.admin
    }

    /// Stop accepting, close every connection and wait (up to 5 s) for all tasks to finish.
    pub async fn shutdown(self) {
        self.shared.shutdown.cancel();
        self.shared.tracker.close();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.shared.tracker.wait()).await;
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shared.shutdown.cancel();
    }
}
