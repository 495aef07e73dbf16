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

#[cfg(test)]
mod tests {
    //! The real [`router`] driven with `tower::ServiceExt::oneshot`: no socket, a [`Broker`] that
    //! is not connected (except for the `/ready` test against the in-process simulator).

    use super::*;
    use crate::broker::{Broker, audit::AuditLog};
    use crate::config::{GuardrailsConfig, TwsConfig};
    use axum::body::Body;
    use futures::StreamExt;
    use serde_json::{Value, json};
    use tower::ServiceExt;

    const MCP: &str = "/api/v1/mcp";
    const TOKEN: &str = "0123456789abcdef-token-A";
    const TOKEN2: &str = "fedcba9876543210-token-B";
    /// rmcp's request body limit (`DEFAULT_MAX_REQUEST_BODY_BYTES`), which the host keeps.
    const BODY_LIMIT: usize = 4 * 1024 * 1024;

    fn offline_tws() -> TwsConfig {
        TwsConfig {
            connect_on_start: false,
            ..TwsConfig::default()
        }
    }

    fn app_with(cfg: &ServerConfig, tws: TwsConfig) -> Router {
        let broker = Broker::new(tws, GuardrailsConfig::default(), AuditLog::in_memory());
        let registry = Arc::new(Registry::new(broker));
        router(cfg, registry, CancellationToken::new())
    }

    /// The app `ibkr-mcp` serves for `cfg`, over a broker that never connects.
    fn app(cfg: &ServerConfig) -> Router {
        app_with(cfg, offline_tws())
    }

    fn initialize_body() -> String {
        json!({
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "http-tests", "version": "0"}
            }
        })
        .to_string()
    }

    /// A well-formed MCP `initialize` POST (Host `localhost:8000`) plus `extra` headers; a header
    /// whose value is `None` is removed.
    fn initialize(path: &str, extra: &[(&str, Option<&str>)]) -> Request {
        post_json(path, initialize_body(), extra)
    }

    fn post_json(path: &str, body: String, extra: &[(&str, Option<&str>)]) -> Request {
        let mut req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, "localhost:8000")
            .header(header::ACCEPT, "application/json, text/event-stream")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        apply(&mut req, extra);
        req
    }

    fn get(path: &str, extra: &[(&str, Option<&str>)]) -> Request {
        let mut req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::HOST, "localhost:8000")
            .body(Body::empty())
            .unwrap();
        apply(&mut req, extra);
        req
    }

    fn apply(req: &mut Request, extra: &[(&str, Option<&str>)]) {
        for (name, value) in extra {
            let name = HeaderName::from_bytes(name.as_bytes()).unwrap();
            match value {
                Some(v) => {
                    req.headers_mut()
                        .insert(name, HeaderValue::from_str(v).unwrap());
                }
                None => {
                    req.headers_mut().remove(name);
                }
            }
        }
    }

    async fn send(app: &Router, req: Request) -> Response {
        app.clone().oneshot(req).await.unwrap()
    }

    async fn text(resp: Response) -> String {
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    async fn json_body(resp: Response) -> Value {
        let t = text(resp).await;
        serde_json::from_str(&t).unwrap_or_else(|e| panic!("not JSON ({e}): {t}"))
    }

    fn header_of<'a>(resp: &'a Response, name: &str) -> Option<&'a str> {
        resp.headers().get(name).map(|v| v.to_str().unwrap())
    }

    /// The first JSON-RPC message with an `id` in an SSE body (reads only as far as needed: a
    /// session's stream may stay open).
    async fn first_sse_message(resp: Response) -> Value {
        let mut stream = resp.into_body().into_data_stream();
        let mut buf = String::new();
        while let Some(chunk) = stream.next().await {
            buf.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
            for event in buf.split("\n\n") {
                let data: String = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                if let Ok(v) = serde_json::from_str::<Value>(&data)
                    && v.get("id").is_some()
                {
                    return v;
                }
            }
        }
        panic!("SSE stream ended without a JSON-RPC message: {buf:?}");
    }

    /// Asserts `resp` is MCP's answer to [`initialize_body`]: 200, a session id, and the
    /// server's `initialize` result over SSE. Returns the session id.
    async fn assert_initialized(resp: Response) -> String {
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            header_of(&resp, "content-type"),
            Some("text/event-stream"),
            "2025-11-25 replies are SSE"
        );
        let session = header_of(&resp, "mcp-session-id")
            .expect("a session id")
            .to_string();
        let msg = first_sse_message(resp).await;
        assert_eq!(msg["id"], 1, "{msg}");
        assert_eq!(msg["result"]["protocolVersion"], "2025-11-25", "{msg}");
        assert_eq!(msg["result"]["serverInfo"]["name"], SERVER_NAME, "{msg}");
        assert_eq!(
            msg["result"]["serverInfo"]["version"], SERVER_VERSION,
            "{msg}"
        );
        session
    }

    async fn assert_forbidden(resp: Response, body: &str) {
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        assert_eq!(text(resp).await, body);
    }

    async fn assert_unauthorized(resp: Response) {
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            header_of(&resp, "www-authenticate"),
            Some("Bearer realm=\"ibkr-mcp\"")
        );
        assert_eq!(
            json_body(resp).await,
            json!({"error": "missing or invalid bearer token"})
        );
    }

    const HOST_FORBIDDEN: &str = "Forbidden: Host header is not allowed";
    const ORIGIN_FORBIDDEN: &str = "Forbidden: Origin header is not allowed";

    // ---- Host ----------------------------------------------------------------------------

    #[tokio::test]
    async fn loopback_hosts_with_and_without_port_reach_mcp() {
        let app = app(&ServerConfig::default());
        for host in [
            "localhost",
            "localhost:8000",
            "LOCALHOST:8000",
            "127.0.0.1",
            "127.0.0.1:1234",
            "[::1]",
            "[::1]:8000",
        ] {
            let resp = send(&app, initialize(MCP, &[("host", Some(host))])).await;
            assert_eq!(resp.status(), StatusCode::OK, "Host {host}");
            assert_initialized(resp).await;
        }
    }

    #[tokio::test]
    async fn foreign_hosts_are_forbidden() {
        let app = app(&ServerConfig::default());
        for host in [
            "evil.example",
            "evil.example:8000",
            "localhost.evil.example",
            "127.0.0.2:8000",
            "[::2]:8000",
            "0.0.0.0:8000",
        ] {
            let resp = send(&app, initialize(MCP, &[("host", Some(host))])).await;
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "Host {host}");
            assert_forbidden(resp, HOST_FORBIDDEN).await;
        }
    }

    #[tokio::test]
    async fn missing_host_is_a_bad_request() {
        let app = app(&ServerConfig::default());
        let resp = send(&app, initialize(MCP, &[("host", None)])).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(text(resp).await, "Bad Request: missing Host header");
    }

    #[tokio::test]
    async fn configured_hosts_replace_the_loopback_names_but_keep_the_bind_address() {
        let cfg = ServerConfig {
            allowed_hosts: vec!["mcp.example.com:8443".into(), "other.example".into()],
            ..ServerConfig::default()
        };
        let app = app(&cfg);
        for host in [
            "mcp.example.com:8443",
            "other.example",
            "other.example:1",
            // The bind address (127.0.0.1 by default) is always accepted.
            "127.0.0.1:8000",
        ] {
            let resp = send(&app, initialize(MCP, &[("host", Some(host))])).await;
            assert_eq!(resp.status(), StatusCode::OK, "Host {host}");
            assert_initialized(resp).await;
        }
        for host in [
            "mcp.example.com",
            "mcp.example.com:9000",
            "localhost:8000",
            "[::1]:8000",
        ] {
            let resp = send(&app, initialize(MCP, &[("host", Some(host))])).await;
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "Host {host}");
            assert_forbidden(resp, HOST_FORBIDDEN).await;
        }
    }

    #[tokio::test]
    async fn an_ipv6_bind_address_is_an_allowed_host() {
        let cfg = ServerConfig {
            host: "::1".into(),
            allowed_hosts: vec!["mcp.example.com".into()],
            ..ServerConfig::default()
        };
        let app = app(&cfg);
        let resp = send(&app, initialize(MCP, &[("host", Some("[::1]:8000"))])).await;
        assert_initialized(resp).await;
        let resp = send(&app, initialize(MCP, &[("host", Some("127.0.0.1:8000"))])).await;
        assert_forbidden(resp, HOST_FORBIDDEN).await;
    }

    // ---- Origin --------------------------------------------------------------------------

    #[tokio::test]
    async fn loopback_origins_and_no_origin_reach_mcp() {
        let app = app(&ServerConfig::default());
        let resp = send(&app, initialize(MCP, &[])).await;
        assert_initialized(resp).await;
        for origin in [
            "http://localhost:6274",
            "http://localhost",
            "https://localhost:8443",
            "http://127.0.0.1:3000",
            "https://127.0.0.1",
            "http://[::1]:3000",
        ] {
            let resp = send(&app, initialize(MCP, &[("origin", Some(origin))])).await;
            assert_eq!(resp.status(), StatusCode::OK, "Origin {origin}");
            assert_initialized(resp).await;
        }
    }

    #[tokio::test]
    async fn foreign_and_null_origins_are_forbidden() {
        let app = app(&ServerConfig::default());
        for origin in [
            "https://evil.example",
            "http://evil.example:6274",
            "http://localhost.evil.example",
            "ftp://localhost:21",
            "null",
        ] {
            let resp = send(&app, initialize(MCP, &[("origin", Some(origin))])).await;
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "Origin {origin}");
            assert_forbidden(resp, ORIGIN_FORBIDDEN).await;
        }
        let resp = send(&app, initialize(MCP, &[("origin", Some("not a url"))])).await;
        assert_forbidden(resp, "Forbidden: Invalid Origin header").await;
    }

    #[tokio::test]
    async fn configured_origins_replace_the_loopback_defaults() {
        let cfg = ServerConfig {
            allowed_origins: vec!["https://app.example:8443".into(), "null".into()],
            ..ServerConfig::default()
        };
        let app = app(&cfg);
        for origin in ["https://app.example:8443", "null"] {
            let resp = send(&app, initialize(MCP, &[("origin", Some(origin))])).await;
            assert_eq!(resp.status(), StatusCode::OK, "Origin {origin}");
            assert_initialized(resp).await;
        }
        for origin in [
            "https://app.example",
            "http://app.example:8443",
            "http://localhost:6274",
        ] {
            let resp = send(&app, initialize(MCP, &[("origin", Some(origin))])).await;
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "Origin {origin}");
            assert_forbidden(resp, ORIGIN_FORBIDDEN).await;
        }
    }

    #[tokio::test]
    async fn cors_origins_are_also_allowed_origins() {
        let cfg = ServerConfig {
            cors_origins: vec!["https://inspector.example:6274".into()],
            ..ServerConfig::default()
        };
        let app = app(&cfg);
        for origin in ["https://inspector.example:6274", "http://localhost:6274"] {
            let resp = send(&app, initialize(MCP, &[("origin", Some(origin))])).await;
            assert_eq!(resp.status(), StatusCode::OK, "Origin {origin}");
            assert_initialized(resp).await;
        }
        let resp = send(
            &app,
            initialize(MCP, &[("origin", Some("https://inspector.example:6275"))]),
        )
        .await;
        assert_forbidden(resp, ORIGIN_FORBIDDEN).await;
    }

    // ---- Bearer tokens -------------------------------------------------------------------

    fn with_tokens() -> ServerConfig {
        ServerConfig {
            bearer_tokens: vec![TOKEN.into(), TOKEN2.into()],
            ..ServerConfig::default()
        }
    }

    #[tokio::test]
    async fn without_configured_tokens_any_authorization_is_ignored() {
        let app = app(&ServerConfig::default());
        let resp = send(&app, initialize(MCP, &[])).await;
        assert_initialized(resp).await;
        let resp = send(
            &app,
            initialize(MCP, &[("authorization", Some("Bearer whatever"))]),
        )
        .await;
        assert_initialized(resp).await;
    }

    #[tokio::test]
    async fn configured_tokens_are_required() {
        let app = app(&with_tokens());
        let resp = send(&app, initialize(MCP, &[])).await;
        assert_unauthorized(resp).await;
    }

    #[tokio::test]
    async fn each_configured_token_is_accepted() {
        let app = app(&with_tokens());
        for value in [
            format!("Bearer {TOKEN}"),
            format!("Bearer {TOKEN2}"),
            // The auth scheme is case-insensitive (RFC 9110 §11.1).
            format!("bearer {TOKEN}"),
            format!("BEARER {TOKEN2}"),
        ] {
            let resp = send(&app, initialize(MCP, &[("authorization", Some(&value))])).await;
            assert_eq!(resp.status(), StatusCode::OK, "Authorization {value}");
            assert_initialized(resp).await;
        }
    }

    #[tokio::test]
    async fn wrong_tokens_and_schemes_are_unauthorized() {
        let app = app(&with_tokens());
        for value in [
            "Bearer wrong-token-0123456789".to_string(),
            // Tokens are case-sensitive.
            format!("Bearer {}", TOKEN.to_uppercase()),
            // A prefix or an extension of a valid token is not that token.
            format!("Bearer {}", &TOKEN[..TOKEN.len() - 1]),
            format!("Bearer {TOKEN}x"),
            // Both tokens together are not a token.
            format!("Bearer {TOKEN},{TOKEN2}"),
            format!("Basic {TOKEN}"),
            format!("Token {TOKEN}"),
            TOKEN.to_string(),
            "Bearer".to_string(),
            "Bearer ".to_string(),
        ] {
            let resp = send(&app, initialize(MCP, &[("authorization", Some(&value))])).await;
            assert_eq!(
                resp.status(),
                StatusCode::UNAUTHORIZED,
                "Authorization {value:?}"
            );
            assert_unauthorized(resp).await;
        }
    }

    #[tokio::test]
    async fn a_valid_token_does_not_bypass_host_or_origin_checks() {
        let app = app(&with_tokens());
        let auth = format!("Bearer {TOKEN}");
        let resp = send(
            &app,
            initialize(
                MCP,
                &[
                    ("authorization", Some(&auth)),
                    ("host", Some("evil.example")),
                ],
            ),
        )
        .await;
        assert_forbidden(resp, HOST_FORBIDDEN).await;
        let resp = send(
            &app,
            initialize(
                MCP,
                &[
                    ("authorization", Some(&auth)),
                    ("origin", Some("https://evil.example")),
                ],
            ),
        )
        .await;
        assert_forbidden(resp, ORIGIN_FORBIDDEN).await;
    }

    #[tokio::test]
    async fn health_needs_no_token() {
        let app = app(&with_tokens());
        let resp = send(&app, get("/health", &[])).await;
        assert_eq!(resp.status(), StatusCode::OK);
    }

    // ---- CORS ----------------------------------------------------------------------------

    const CORS_ORIGIN: &str = "https://inspector.example:6274";

    fn preflight(path: &str, origin: &str) -> Request {
        Request::builder()
            .method(Method::OPTIONS)
            .uri(path)
            .header(header::HOST, "localhost:8000")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "content-type,authorization,mcp-session-id,mcp-protocol-version",
            )
            .body(Body::empty())
            .unwrap()
    }

    #[tokio::test]
    async fn cors_preflight_from_a_configured_origin_is_answered_without_a_token() {
        let cfg = ServerConfig {
            cors_origins: vec![CORS_ORIGIN.into()],
            ..with_tokens()
        };
        let app = app(&cfg);
        let resp = send(&app, preflight(MCP, CORS_ORIGIN)).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            header_of(&resp, "access-control-allow-origin"),
            Some(CORS_ORIGIN)
        );
        assert_eq!(
            header_of(&resp, "access-control-allow-methods"),
            Some("GET,POST,DELETE,OPTIONS")
        );
        assert_eq!(
            header_of(&resp, "access-control-allow-headers"),
            Some(
                "content-type,authorization,accept,mcp-session-id,mcp-protocol-version,\
                 last-event-id,mcp-method,mcp-name"
            )
        );
        assert_eq!(header_of(&resp, "access-control-max-age"), Some("600"));
    }

    #[tokio::test]
    async fn cors_preflight_from_another_origin_gets_no_allow_origin() {
        let cfg = ServerConfig {
            cors_origins: vec![CORS_ORIGIN.into()],
            ..ServerConfig::default()
        };
        let app = app(&cfg);
        let resp = send(&app, preflight(MCP, "https://evil.example")).await;
        assert_eq!(header_of(&resp, "access-control-allow-origin"), None);
    }

    #[tokio::test]
    async fn cors_headers_on_mcp_answers_and_on_401() {
        let cfg = ServerConfig {
            cors_origins: vec![CORS_ORIGIN.into()],
            ..with_tokens()
        };
        let app = app(&cfg);
        let auth = format!("Bearer {TOKEN}");
        let resp = send(
            &app,
            initialize(
                MCP,
                &[
                    ("origin", Some(CORS_ORIGIN)),
                    ("authorization", Some(&auth)),
                ],
            ),
        )
        .await;
        assert_eq!(
            header_of(&resp, "access-control-allow-origin"),
            Some(CORS_ORIGIN)
        );
        assert_eq!(
            header_of(&resp, "access-control-expose-headers"),
            Some("mcp-session-id,mcp-protocol-version")
        );
        assert_initialized(resp).await;
        // A browser client must be able to read the 401 to start its auth flow.
        let resp = send(&app, initialize(MCP, &[("origin", Some(CORS_ORIGIN))])).await;
        assert_eq!(
            header_of(&resp, "access-control-allow-origin"),
            Some(CORS_ORIGIN)
        );
        assert_unauthorized(resp).await;
        let resp = send(&app, get("/health", &[("origin", Some(CORS_ORIGIN))])).await;
        assert_eq!(
            header_of(&resp, "access-control-allow-origin"),
            Some(CORS_ORIGIN)
        );
    }

    #[tokio::test]
    async fn without_cors_origins_there_are_no_cors_headers() {
        let app = app(&ServerConfig::default());
        let resp = send(&app, preflight(MCP, "http://localhost:6274")).await;
        assert_eq!(header_of(&resp, "access-control-allow-origin"), None);
        assert_eq!(header_of(&resp, "access-control-allow-methods"), None);
        // Not answered by a CORS layer: the MCP endpoint does not serve OPTIONS.
        assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
        let resp = send(
            &app,
            initialize(MCP, &[("origin", Some("http://localhost:6274"))]),
        )
        .await;
        assert_eq!(header_of(&resp, "access-control-allow-origin"), None);
        assert_initialized(resp).await;
    }

    // ---- /health and /ready --------------------------------------------------------------

    #[tokio::test]
    async fn health_answers_name_and_version() {
        let app = app(&ServerConfig::default());
        let resp = send(&app, get("/health", &[])).await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(header_of(&resp, "content-type"), Some("application/json"));
        assert_eq!(
            json_body(resp).await,
            json!({"status": "ok", "name": "ibkr-mcp", "version": env!("CARGO_PKG_VERSION")})
        );
    }

    #[tokio::test]
    async fn ready_is_503_while_tws_is_disconnected() {
        let tws = TwsConfig {
            host: "127.0.0.1".into(),
            port: 4002,
            client_id: 17,
            ..offline_tws()
        };
        let app = app_with(&ServerConfig::default(), tws);
        let resp = send(&app, get("/ready", &[])).await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = json_body(resp).await;
        assert_eq!(body["ready"], false, "{body}");
        let tws = &body["tws"];
        assert_eq!(tws["state"], "disconnected", "{body}");
        assert_eq!(tws["host"], "127.0.0.1", "{body}");
        assert_eq!(tws["port"], 4002, "{body}");
        assert_eq!(tws["clientId"], 17, "{body}");
        assert_eq!(tws["serverVersion"], Value::Null, "{body}");
        assert_eq!(tws["attempt"], 0, "{body}");
        assert_eq!(tws["lastError"], Value::Null, "{body}");
        assert_eq!(tws["connectedSince"], Value::Null, "{body}");
    }

    #[tokio::test]
    async fn ready_is_200_once_connected_to_the_gateway() {
        let sim = tws_sim::Simulator::start(tws_sim::SimOptions::default())
            .await
            .unwrap();
        let tws = TwsConfig {
            host: sim.addr().ip().to_string(),
            port: sim.addr().port(),
            connect_on_start: true,
            ..TwsConfig::default()
        };
        let broker = Broker::new(tws, GuardrailsConfig::default(), AuditLog::in_memory());
        let mut status = broker.watch_status();
        let registry = Arc::new(Registry::new(broker.clone()));
        let app = router(&ServerConfig::default(), registry, CancellationToken::new());
        // Wait on the supervisor's status, bounded so a broken connect fails instead of hanging.
        tokio::time::timeout(
            Duration::from_secs(30),
            status.wait_for(|s| s.state == ConnectionState::Connected),
        )
        .await
        .expect("connected within 30 s")
        .unwrap();
        let resp = send(&app, get("/ready", &[])).await;
        assert_eq!(resp.status(), StatusCode::OK);
        let body = json_body(resp).await;
        assert_eq!(body["ready"], true, "{body}");
        assert_eq!(body["tws"]["state"], "connected", "{body}");
        assert_eq!(body["tws"]["port"], sim.addr().port(), "{body}");
        assert!(body["tws"]["serverVersion"].as_i64().unwrap() > 0, "{body}");
        assert!(body["tws"]["connectedSince"].is_string(), "{body}");
        broker.shutdown().await;
    }

    // ---- Paths, methods, bodies ----------------------------------------------------------

    #[tokio::test]
    async fn mcp_lives_under_the_api_prefix() {
        let app = app(&ServerConfig::default());
        let resp = send(&app, initialize("/mcp", &[])).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        let resp = send(&app, initialize("/api/v2/mcp", &[])).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);

        let cfg = ServerConfig {
            api_prefix: "/ibkr".into(),
            ..ServerConfig::default()
        };
        let app = self::app(&cfg);
        assert_initialized(send(&app, initialize("/ibkr/mcp", &[])).await).await;
        let resp = send(&app, initialize(MCP, &[])).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        // Health endpoints stay at the root whatever the prefix.
        assert_eq!(
            send(&app, get("/health", &[])).await.status(),
            StatusCode::OK
        );
        let resp = send(&app, get("/ibkr/health", &[])).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);

        let cfg = ServerConfig {
            api_prefix: String::new(),
            ..ServerConfig::default()
        };
        let app = self::app(&cfg);
        assert_initialized(send(&app, initialize("/mcp", &[])).await).await;
    }

    #[tokio::test]
    async fn unsupported_methods_get_405_with_allow() {
        let app = app(&ServerConfig::default());
        for method in [Method::PUT, Method::PATCH] {
            let req = Request::builder()
                .method(method.clone())
                .uri(MCP)
                .header(header::HOST, "localhost")
                .body(Body::empty())
                .unwrap();
            let resp = send(&app, req).await;
            assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
            assert_eq!(header_of(&resp, "allow"), Some("GET, POST, DELETE"));
        }
        let req = Request::builder()
            .method(Method::POST)
            .uri("/health")
            .header(header::HOST, "localhost")
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            send(&app, req).await.status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
    }

    #[tokio::test]
    async fn get_and_delete_need_a_session() {
        let app = app(&ServerConfig::default());
        let sse = [("accept", Some("text/event-stream"))];
        let resp = send(&app, get(MCP, &sse)).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(text(resp).await, "Bad Request: Session ID is required");
        let resp = send(&app, get(MCP, &[])).await;
        assert_eq!(resp.status(), StatusCode::NOT_ACCEPTABLE);
        assert_eq!(
            text(resp).await,
            "Not Acceptable: Client must accept text/event-stream"
        );
        let mut del = get(MCP, &[]);
        *del.method_mut() = Method::DELETE;
        let resp = send(&app, del).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(text(resp).await, "Bad Request: Session ID is required");
        let resp = send(
            &app,
            get(MCP, &[sse[0], ("mcp-session-id", Some("no-such-session"))]),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(text(resp).await, "Not Found: Session not found");
    }

    #[tokio::test]
    async fn get_opens_the_session_stream_and_delete_ends_the_session() {
        let app = app(&ServerConfig::default());
        let session = assert_initialized(send(&app, initialize(MCP, &[])).await).await;
        let sid = [("mcp-session-id", Some(session.as_str()))];
        let resp = send(
            &app,
            get(MCP, &[sid[0], ("accept", Some("text/event-stream"))]),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(header_of(&resp, "content-type"), Some("text/event-stream"));
        drop(resp);

        let mut del = get(MCP, &sid);
        *del.method_mut() = Method::DELETE;
        let resp = send(&app, del).await;
        assert_eq!(resp.status(), StatusCode::ACCEPTED);

        let ping = json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}).to_string();
        let resp = send(&app, post_json(MCP, ping, &sid)).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND);
        assert_eq!(text(resp).await, "Not Found: Session not found");
    }

    #[tokio::test]
    async fn post_needs_json_content_and_both_accept_types() {
        let app = app(&ServerConfig::default());
        let resp = send(
            &app,
            initialize(MCP, &[("content-type", Some("text/plain"))]),
        )
        .await;
        assert_eq!(resp.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(
            text(resp).await,
            "Unsupported Media Type: Content-Type must be application/json"
        );
        for accept in ["application/json", "text/event-stream"] {
            let resp = send(&app, initialize(MCP, &[("accept", Some(accept))])).await;
            assert_eq!(resp.status(), StatusCode::NOT_ACCEPTABLE, "Accept {accept}");
            assert_eq!(
                text(resp).await,
                "Not Acceptable: Client must accept both application/json and text/event-stream"
            );
        }
        // Content-Type parameters are fine.
        let resp = send(
            &app,
            initialize(
                MCP,
                &[("content-type", Some("application/json; charset=utf-8"))],
            ),
        )
        .await;
        assert_initialized(resp).await;
    }

    #[tokio::test]
    async fn request_bodies_are_limited_to_4_mib() {
        let app = app(&ServerConfig::default());
        // Exactly at the limit (JSON padded with trailing whitespace): accepted.
        let mut body = initialize_body();
        body.push_str(&" ".repeat(BODY_LIMIT - body.len()));
        assert_eq!(body.len(), BODY_LIMIT);
        assert_initialized(send(&app, post_json(MCP, body.clone(), &[])).await).await;
        // One byte more: 413.
        body.push(' ');
        let resp = send(&app, post_json(MCP, body, &[])).await;
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            text(resp).await,
            format!("Payload Too Large: request body exceeds {BODY_LIMIT} bytes")
        );
    }
}
