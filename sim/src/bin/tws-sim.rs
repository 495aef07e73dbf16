//! `tws-sim`: run the paper gateway as a standalone process.
//!
//! ```text
//! tws-sim --port 4002 [--host 127.0.0.1] [--config world.toml] [--seed N] [--speed X]
//!         [--admin-port P] [--tick-ms MS] [--no-pacing]
//! ```
//! The admin HTTP API (`--admin-port`) is documented in `tws_sim::admin`. Once listening, one
//! line goes to stdout: `tws-sim listening on <addr>[ admin http://<addr>]`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use tws_sim::{ServerOptions, SimOptions, Simulator, WorldConfig};

#[derive(Debug, Parser)]
#[command(name = "tws-sim", version, about = "TWS API simulator (paper gateway)")]
struct Args {
    /// TWS API port (IB Gateway paper default: 4002).
    #[arg(long, default_value_t = 4002, env = "TWS_SIM_PORT")]
    port: u16,
    /// Interface to bind.
    #[arg(long, default_value = "127.0.0.1", env = "TWS_SIM_HOST")]
    host: IpAddr,
    /// World configuration (TOML); see sim/world.example.toml.
    #[arg(long, env = "TWS_SIM_CONFIG")]
    config: Option<PathBuf>,
    /// Override the world seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override the clock speed (simulated seconds per real second).
    #[arg(long)]
    speed: Option<f64>,
    /// Serve the admin HTTP API on this port (same host).
    #[arg(long, env = "TWS_SIM_ADMIN_PORT")]
    admin_port: Option<u16>,
    /// Real milliseconds between world ticks.
    #[arg(long, default_value_t = 10)]
    tick_ms: u64,
    /// Do not enforce historical-data pacing (error 162).
    #[arg(long)]
    no_pacing: bool,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args = Args::parse();

    let mut world = match &args.config {
        Some(p) => WorldConfig::from_file(p)
            .with_context(|| format!("loading world config {}", p.display()))?,
        None => WorldConfig::default(),
    };
    if let Some(seed) = args.seed {
        world.seed = seed;
    }
    if let Some(speed) = args.speed {
        anyhow::ensure!(speed.is_finite() && speed >= 0.0, "--speed must be >= 0");
        world.clock_speed = speed;
    }
    let opts = SimOptions {
        bind: SocketAddr::new(args.host, args.port),
        admin_bind: args.admin_port.map(|p| SocketAddr::new(args.host, p)),
        world,
        server: ServerOptions {
            tick_interval: Duration::from_millis(args.tick_ms.max(1)),
            pacing: !args.no_pacing,
            ..ServerOptions::default()
        },
    };

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the Tokio runtime")?;
    rt.block_on(async move {
        let sim = Simulator::start(opts).await?;
        tracing::info!(addr = %sim.addr(), admin = ?sim.admin_addr(), "tws-sim ready");
        // One machine-readable line on stdout for scripts that start us with `--port 0`.
        match sim.admin_addr() {
            Some(admin) => println!("tws-sim listening on {} admin http://{admin}", sim.addr()),
            None => println!("tws-sim listening on {}", sim.addr()),
        }
        shutdown_signal().await;
        tracing::info!("shutting down");
        sim.shutdown().await;
        anyhow::Ok(())
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
