//! `conformance-server`: serves the MCP conformance suite's fixture tools, resources and prompts
//! on the host's own Streamable HTTP transport (`ibkr_mcp::http::mcp_router`: both protocol eras,
//! Host/Origin validation, the host's defaults) so that
//! `@modelcontextprotocol/conformance server --url ...` exercises what `ibkr-mcp` serves.
//!
//! Prints `listening on http://ADDR/PATH` on stdout once the socket is bound (and writes the URL
//! to `--ready-file` if given), so scripts can start it with `--bind 127.0.0.1:0`.

mod fixtures;

use std::{net::SocketAddr, path::PathBuf};

use anyhow::Context;
use clap::Parser;
use ibkr_mcp::config::ServerConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(version, about = "MCP conformance fixture server (ibkr-mcp transport)")]
struct Args {
    /// Address to bind; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Path prefix of the MCP endpoint, as the host's API_PREFIX: MCP is served at `{prefix}/mcp`.
    #[arg(long, default_value = "/api/v1")]
    api_prefix: String,
    /// Write the endpoint URL to this file once listening.
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();

    // The host's default server configuration (loopback Host allow list, Origin validation with
    // loopback origins, 2025-11-25 sessions + 2026-07-28 stateless), bound where asked.
    let cfg = ServerConfig {
        host: args.bind.ip().to_string(),
        port: args.bind.port(),
        api_prefix: args.api_prefix.clone(),
        ..ServerConfig::default()
    };
    // One handler shared by every session and stateless request (listen streams must see the
    // notifications that other requests trigger).
    let cancel = CancellationToken::new();
    let app = ibkr_mcp::http::mcp_router(&cfg, fixtures::Fixtures::new(), cancel.clone());

    let listener = TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    let url = format!("http://{}{}", listener.local_addr()?, cfg.mcp_path());
    println!("listening on {url}");
    if let Some(path) = &args.ready_file {
        std::fs::write(path, &url).with_context(|| format!("writing {}", path.display()))?;
    }
    let stop = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    ibkr_mcp::http::serve(listener, app, cancel).await?;
    Ok(())
}
