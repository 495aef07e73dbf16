//! Helpers shared by the `ibapi_*` integration tests.
#![allow(dead_code)]

use std::time::Duration;

use ibapi::Client;
use tws_sim::{SimHandle, SimOptions, Simulator, WorldConfig};

/// Generous per-step timeout: nothing in these tests may hang.
pub const T: Duration = Duration::from_secs(20);

/// A simulator on an ephemeral loopback port with the default world.
pub async fn start_sim() -> SimHandle {
    start_sim_with(SimOptions::default()).await
}

pub async fn start_sim_with(opts: SimOptions) -> SimHandle {
    init_tracing();
    Simulator::start(opts).await.expect("simulator starts")
}

/// Default world with a tweak.
pub async fn start_sim_world(f: impl FnOnce(&mut WorldConfig)) -> SimHandle {
    let mut world = WorldConfig::default();
    f(&mut world);
    start_sim_with(SimOptions::with_world(world)).await
}

pub async fn connect(sim: &SimHandle, client_id: i32) -> Client {
    tokio::time::timeout(T, Client::connect(&sim.addr().to_string(), client_id))
        .await
        .expect("connect timed out")
        .expect("connect failed")
}

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// Poll `cond` (simulator state, usually through its admin handle) until it holds; fails the
/// test after [`T`], naming `what`.
pub async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + T;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {T:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
