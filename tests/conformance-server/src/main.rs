//! `conformance-server`: serves the MCP conformance suite's fixture tools, resources and prompts
//! over Streamable HTTP so that `@modelcontextprotocol/conformance server --url ...` can exercise
//! the transport configuration the host uses (both protocol eras, Host/Origin validation).
//!
//! Prints `listening on http://ADDR/PATH` on stdout once the socket is bound (and writes the URL
//! to `--ready-file` if given), so scripts can start it with `--bind 127.0.0.1:0`.

mod fixtures;

use std::{net::SocketAddr, path::PathBuf, sync::Arc};

use anyhow::Context;
use clap::Parser;
use rmcp::transport::{
    StreamableHttpServerConfig, StreamableHttpService,
    streamable_http_server::session::local::LocalSessionManager,
};
use tokio::net::TcpListener;

#[derive(Parser, Debug)]
#[command(version, about = "MCP conformance fixture server (ibkr-mcp transport)")]
struct Args {
    /// Address to bind; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Path the MCP endpoint is mounted at.
    #[arg(long, default_value = "/mcp")]
    path: String,
    /// Write the endpoint URL to this file once listening.
    #[arg(long)]
    ready_file: Option<PathBuf>,
}

/// The transport settings the host applies: loopback-only `Host` (DNS-rebinding protection),
/// enforced `Origin` validation with loopback origins, legacy sessions for 2025-11-25 clients;
/// 2026-07-28 requests are served statelessly by rmcp.
fn transport_config() -> StreamableHttpServerConfig {
    StreamableHttpServerConfig::default()
        .with_allowed_hosts(["localhost", "127.0.0.1", "::1", "[::1]"])
        .with_allowed_origins(["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"])
        .enforce_origin_validation()
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

    // One handler shared by every session and stateless request (listen streams must see the
    // notifications that other requests trigger).
    let handler = fixtures::Fixtures::new();
    let service = StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(LocalSessionManager::default()),
        transport_config(),
    );
    let app = axum::Router::new().nest_service(&args.path, service);

    let listener = TcpListener::bind(args.bind)
        .await
        .with_context(|| format!("binding {}", args.bind))?;
    let url = format!("http://{}{}", listener.local_addr()?, args.path);
    println!("listening on {url}");
    if let Some(path) = &args.ready_file {
        std::fs::write(path, &url).with_context(|| format!("writing {}", path.display()))?;
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
