//! `ibkr-mcp`: the MCP host binary.
//!
//! `ibkr-mcp --sim` runs against the in-process paper gateway (simulator); `ibkr-mcp` connects
//! to TWS / IB Gateway as configured (TWS 7496 live / 7497 paper, Gateway 4001 / 4002).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use ibkr_mcp::config::{Config, Overrides};
use ibkr_mcp::mcp::McpServer;
use rmcp::ServiceExt;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Parser)]
#[command(
    name = "ibkr-mcp",
    version,
    about = "WebAssembly-plugin extensible MCP host for the Interactive Brokers TWS API"
)]
struct Cli {
    /// TOML configuration file (also IBKR_MCP_CONFIG).
    #[arg(long, global = true, env = "IBKR_MCP_CONFIG")]
    config: Option<PathBuf>,
    /// .env file to load (missing file is fine).
    #[arg(long, global = true, default_value = ".env")]
    env_file: PathBuf,
    /// TWS / IB Gateway host (TWS_HOST).
    #[arg(long)]
    tws_host: Option<String>,
    /// TWS / IB Gateway port (TWS_PORT): TWS 7496 live / 7497 paper, Gateway 4001 live / 4002 paper.
    #[arg(long)]
    tws_port: Option<u16>,
    /// API client id (TWS_CLIENT_ID).
    #[arg(long)]
    client_id: Option<i32>,
    /// HTTP bind address (SERVER_HOST).
    #[arg(long)]
    host: Option<String>,
    /// HTTP port (SERVER_PORT).
    #[arg(long)]
    port: Option<u16>,
    /// Path prefix of the MCP endpoint (API_PREFIX), e.g. /api/v1.
    #[arg(long)]
    api_prefix: Option<String>,
    /// Log level or tracing filter (LOG_LEVEL).
    #[arg(long)]
    log_level: Option<String>,
    /// Refuse every order action.
    #[arg(long)]
    read_only: bool,
    /// Do not connect to TWS at start (use the ibkr_connect tool).
    #[arg(long)]
    no_connect: bool,
    /// Audit log path (empty = in memory).
    #[arg(long)]
    audit_log: Option<String>,
    /// Run against the in-process paper gateway (simulator) on an ephemeral loopback port.
    #[arg(long)]
    sim: bool,
    /// Serve MCP over stdin/stdout instead of HTTP (logs go to stderr).
    #[arg(long)]
    stdio: bool,
    /// Print the effective configuration (secrets redacted) and exit.
    #[arg(long)]
    print_config: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the API reference (docs/API.md) generated from the tool registry.
    Docs,
    /// Inspect WebAssembly plugins without starting the server (list, validate).
    Plugins {
        #[command(subcommand)]
        cmd: ibkr_mcp::plugins::cli::PluginsCommand,
    },
}

fn init_tracing(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.log.level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if cfg.log.json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Docs) = cli.command {
        let tools = ibkr_mcp::mcp::tools::all();
        print!("{}", ibkr_mcp::mcp::docs::render(&tools));
        return Ok(());
    }
    if cli.env_file.exists() {
        dotenvy::from_path(&cli.env_file)
            .with_context(|| format!("cannot load {}", cli.env_file.display()))?;
    }
    let overrides = Overrides {
        tws_host: cli.tws_host.clone(),
        tws_port: cli.tws_port,
        tws_client_id: cli.client_id,
        server_host: cli.host.clone(),
        server_port: cli.port,
        api_prefix: cli.api_prefix.clone(),
        log_level: cli.log_level.clone(),
        read_only: cli.read_only.then_some(true),
        connect_on_start: cli.no_connect.then_some(false),
        audit_path: cli.audit_log.clone(),
    };
    let mut cfg = Config::load(cli.config.as_deref(), |k| std::env::var(k).ok(), &overrides)
        .map_err(|e| anyhow::anyhow!(e))?;
    if cli.print_config {
        print!("{}", cfg.to_redacted_toml());
        return Ok(());
    }
    if let Some(Command::Plugins { cmd }) = cli.command {
        let (out, code) = ibkr_mcp::plugins::cli::run(cmd, &cfg.plugins).await;
        print!("{out}");
        std::process::exit(code);
    }
    init_tracing(&cfg);
    // Installed before the (possibly slow) start, so a signal during plugin compilation works too.
    let stop = watch_signals();

    let sim = if cli.sim {
        Some(ibkr_mcp::app::start_sim(&mut cfg, tws_sim::SimOptions::default()).await?)
    } else {
        None
    };

    let result = if cli.stdio {
        run_stdio(&cfg, stop).await
    } else {
        run_http(&cfg, stop).await
    };
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    result
}

async fn run_stdio(cfg: &Config, stop: CancellationToken) -> Result<()> {
    let (broker, registry) = ibkr_mcp::app::core(cfg)?;
    let _plugins = ibkr_mcp::plugins::start(&cfg.plugins, broker.clone(), &registry)
        .await
        .map_err(|e| anyhow::anyhow!("plugins: {e}"))?;
    tracing::info!("serving MCP over stdio");
    let service = McpServer::new(registry)
        .serve(rmcp::transport::stdio())
        .await
        .context("MCP stdio handshake failed")?;
    let cancel = service.cancellation_token();
    tokio::select! {
        r = service.waiting() => { r.context("MCP stdio service failed")?; }
        _ = stop.cancelled() => { cancel.cancel(); }
    }
    broker.shutdown().await;
    Ok(())
}

async fn run_http(cfg: &Config, stop: CancellationToken) -> Result<()> {
    let (broker, registry) = ibkr_mcp::app::core(cfg)?;
    let _plugins = ibkr_mcp::plugins::start(&cfg.plugins, broker.clone(), &registry)
        .await
        .map_err(|e| anyhow::anyhow!("plugins: {e}"))?;
    let host = ibkr_mcp::app::start_http_with(cfg, broker, registry).await?;
    let cancel = host.cancel_token();
    eprintln!(
        "ibkr-mcp {} listening: MCP {}  health {}/health  ready {}/ready",
        ibkr_mcp::mcp::SERVER_VERSION,
        host.mcp_url(),
        host.base_url(),
        host.base_url()
    );
    tokio::spawn(async move {
        stop.cancelled().await;
        cancel.cancel();
    });
    host.wait().await.context("HTTP server failed")?;
    Ok(())
}

/// Watch for SIGINT / SIGTERM: the first cancels the returned token (graceful shutdown, bounded by
/// `http::SHUTDOWN_GRACE`); a second one exits at once with status 130.
fn watch_signals() -> CancellationToken {
    let stop = CancellationToken::new();
    let token = stop.clone();
    tokio::spawn(async move {
        let signal = shutdown_signal().await;
        tracing::info!(%signal, "shutting down (a second signal exits at once)");
        token.cancel();
        let signal = shutdown_signal().await;
        tracing::warn!(%signal, "second signal: exiting without waiting");
        std::process::exit(130);
    });
    stop
}

/// Wait for SIGINT (Ctrl-C) or, on Unix, SIGTERM (what `docker stop` sends); names the signal.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}
