//! The HTTP app: MCP Streamable HTTP at `{API_PREFIX}/mcp` (2025-11-25 sessions and 2026-07-28
//! stateless, both served by rmcp), `GET /health`, `GET /ready`, CORS, Host and Origin
//! validation, optional bearer tokens. Transport wiring only — tool logic lives in [`crate::mcp`].
//!
//! Public builders:
//! - [`router`]: the full app for a [`Registry`] (what `ibkr-mcp` serves).
//! - [`mcp_router`]: the same MCP transport and security layers for any rmcp `ServerHandler`
//!   (used by the conformance test server and benchmarks).
//! - [`serve`]: run a router on a listener until a shutdown token fires.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use rmcp::ServerHandler;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use subtle::ConstantTimeEq;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::broker::ConnectionState;
use crate::config::ServerConfig;
use crate::mcp::{McpServer, Registry, SERVER_NAME, SERVER_VERSION};

/// Loopback origins accepted when `server.allowed_origins` is empty.
pub const DEFAULT_ALLOWED_ORIGINS: &[&str] = &[
    "http://localhost:*",
    "http://127.0.0.1:*",
    "http://[::1]:*",
    "https://localhost:*",
    "https://127.0.0.1:*",
];

/// Host names accepted when `server.allowed_hosts` is empty.
pub const DEFAULT_ALLOWED_HOSTS: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// The rmcp transport configuration derived from the server config.
pub fn transport_config(
    cfg: &ServerConfig,
    cancel: CancellationToken,
) -> StreamableHttpServerConfig {
    let mut hosts: Vec<String> = if cfg.allowed_hosts.is_empty() {
        DEFAULT_ALLOWED_HOSTS
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        cfg.allowed_hosts.clone()
    };
    let bind = cfg.host.trim();
    if !(bind == "0.0.0.0" || bind == "::" || hosts.iter().any(|h| h == bind)) {
        hosts.push(bind.to_string());
    }
    let mut origins: Vec<String> = if cfg.allowed_origins.is_empty() {
        DEFAULT_ALLOWED_ORIGINS
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        cfg.allowed_origins.clone()
    };
    for o in &cfg.cors_origins {
        if !origins.contains(o) {
            origins.push(o.clone());
        }
    }
    let keep_alive =
        (cfg.sse_keep_alive_secs > 0).then(|| Duration::from_secs(cfg.sse_keep_alive_secs));
    StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts)
        .with_allowed_origins(origins)
        .with_legacy_session_mode(cfg.legacy_sessions)
        // Stateless requests (2026-07-28, or every request without legacy sessions) whose first
        // message is the final response get a plain `application/json` body instead of a
        // one-event SSE stream; rmcp falls back to SSE when the handler sends a notification
        // (progress, logging) first. Session-era (2025-11-25) replies are always SSE in rmcp.
        .with_json_response(true)
        .with_sse_keep_alive(keep_alive)
        .with_cancellation_token(cancel)
}

/// Mount the MCP Streamable HTTP transport for any handler at `cfg.mcp_path()`, with bearer
/// authentication (when tokens are configured) and CORS (when origins are configured).
pub fn mcp_router<S>(cfg: &ServerConfig, handler: S, cancel: CancellationToken) -> Router
where
    S: ServerHandler + Clone + Send + Sync + 'static,
{
    let svc = StreamableHttpService::new(
        move || Ok(handler.clone()),
        Arc::new(LocalSessionManager::default()),
        transport_config(cfg, cancel),
    );
    let mut r = Router::new().nest_service(&cfg.mcp_path(), svc);
    if !cfg.bearer_tokens.is_empty() {
        let tokens: Arc<Vec<Vec<u8>>> = Arc::new(
            cfg.bearer_tokens
                .iter()
                .map(|t| t.as_bytes().to_vec())
                .collect(),
        );
        r = r.layer(middleware::from_fn_with_state(tokens, bearer_auth));
    }
    if let Some(cors) = cors_layer(cfg) {
        r = r.layer(cors);
    }
    r
}

/// The full app: MCP for the registry, `/health`, `/ready`.
pub fn router(cfg: &ServerConfig, registry: Arc<Registry>, cancel: CancellationToken) -> Router {
    let health = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .with_state(registry.clone());
    let health = match cors_layer(cfg) {
        Some(c) => health.layer(c),
        None => health,
    };
    mcp_router(cfg, McpServer::new(registry), cancel).merge(health)
}

/// How long a shutdown waits for open connections (e.g. a client's SSE stream) to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Serve `app` on `listener` until `shutdown` is cancelled. Shutdown is graceful but bounded:
/// connections still open [`SHUTDOWN_GRACE`] after the token fires (a client holding an SSE
/// stream, a slow streaming tool) are abandoned so the process can exit.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    // A Streamable HTTP reply is several small writes (headers, SSE events, the chunked
    // terminator); with Nagle's algorithm the last one waits for the client's delayed ACK on a
    // kept-alive connection: ~40 ms per call on Linux loopback. Hence TCP_NODELAY.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY: {e}");
        }
    });
    let server = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .into_future();
    tokio::select! {
        r = server => r,
        _ = async { shutdown.cancelled().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
            tracing::warn!(grace = ?SHUTDOWN_GRACE, "connections still open after the shutdown grace period; closing them");
            Ok(())
        }
    }
}

fn cors_layer(cfg: &ServerConfig) -> Option<CorsLayer> {
    if cfg.cors_origins.is_empty() {
        return None;
    }
    let origins: Vec<HeaderValue> = cfg
        .cors_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                header::ACCEPT,
                HeaderName::from_static("mcp-session-id"),
                HeaderName::from_static("mcp-protocol-version"),
                HeaderName::from_static("last-event-id"),
                HeaderName::from_static("mcp-method"),
                HeaderName::from_static("mcp-name"),
            ])
            .expose_headers([
                HeaderName::from_static("mcp-session-id"),
                HeaderName::from_static("mcp-protocol-version"),
            ])
            .max_age(Duration::from_secs(600)),
    )
}

async fn bearer_auth(
    State(tokens): State<Arc<Vec<Vec<u8>>>>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() == Method::OPTIONS {
        return next.run(req).await;
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim().as_bytes().to_vec())
        });
    let ok = match presented {
        Some(p) => {
            // Compare against every token without short-circuiting.
            let mut any = subtle::Choice::from(0u8);
            for t in tokens.iter() {
                let eq = if t.len() == p.len() {
                    t.as_slice().ct_eq(p.as_slice())
                } else {
                    subtle::Choice::from(0u8)
                };
                any |= eq;
            }
            bool::from(any)
        }
        None => false,
    };
    if ok {
        next.run(req).await
    } else {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"ibkr-mcp\"")],
            axum::Json(serde_json::json!({ "error": "missing or invalid bearer token" })),
        )
            .into_response()
    }
}

async fn health() -> impl IntoResponse {
    axum::Json(serde_json::json!({
        "status": "ok",
        "name": SERVER_NAME,
        "version": SERVER_VERSION,
    }))
}

async fn ready(State(registry): State<Arc<Registry>>) -> impl IntoResponse {
    let s = registry.broker().status();
    let ready = s.state == ConnectionState::Connected;
    let body = serde_json::json!({
        "ready": ready,
        "tws": {
            "state": s.state,
            "host": s.host,
            "port": s.port,
            "clientId": s.client_id,
            "serverVersion": s.server_version,
            "accounts": s.accounts,
            "account": s.accounts.first(),
            "attempt": s.attempt,
            "lastError": s.last_error,
            "connectedSince": s.connected_since,
        },
    });
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body))
}
