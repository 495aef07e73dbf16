//! HTTP surface: /health, /ready, Origin and Host validation, bearer tokens, CORS.

use e2e::{TestEnv, call};
use serde_json::{Value, json};

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"curl","version":"1"}}}"#;

fn post(url: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(INIT)
}

#[tokio::test]
async fn health_and_ready() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let r = reqwest::get(format!("{}/health", env.base_url())).await?;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await?;
    assert_eq!(v["status"], "ok");
    assert_eq!(v["name"], "ibkr-mcp");
    let r = reqwest::get(format!("{}/ready", env.base_url())).await?;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await?;
    assert_eq!(v["ready"], true);
    assert_eq!(v["tws"]["state"], "connected");
    assert!(v["tws"]["serverVersion"].as_i64().unwrap() >= 213);
    assert!(v["tws"]["account"].is_string());
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn ready_is_503_when_not_connected() -> anyhow::Result<()> {
    let env = TestEnv::start_with(|c| c.tws.connect_on_start = false).await?;
    let r = reqwest::get(format!("{}/ready", env.base_url())).await?;
    assert_eq!(r.status(), 503);
    let v: Value = r.json().await?;
    assert_eq!(v["ready"], false);
    assert_eq!(v["tws"]["state"], "disconnected");
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn foreign_origin_and_host_are_rejected() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let url = env.mcp_url();
    let r = post(&url)
        .header("origin", "https://evil.example")
        .send()
        .await?;
    assert_eq!(r.status(), 403, "foreign Origin must be rejected");
    let r = post(&url)
        .header("origin", "http://localhost:6274")
        .send()
        .await?;
    assert_eq!(r.status(), 200, "loopback Origin is allowed by default");
    let r = post(&url).header("host", "evil.example").send().await?;
    assert_eq!(r.status(), 403, "foreign Host must be rejected");
    let r = post(&url).send().await?;
    assert_eq!(r.status(), 200);
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn bearer_tokens_are_required_when_configured() -> anyhow::Result<()> {
    let token = "test-token-0123456789abcdef";
    let env = TestEnv::start_with(|c| c.server.bearer_tokens = vec![token.into()]).await?;
    let url = env.mcp_url();
    let r = post(&url).send().await?;
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("www-authenticate").is_some());
    let r = post(&url)
        .bearer_auth("wrong-token-0123456789abcdef")
        .send()
        .await?;
    assert_eq!(r.status(), 401);
    let r = post(&url).bearer_auth(token).send().await?;
    assert_eq!(r.status(), 200);
    // /health stays open.
    assert_eq!(
        reqwest::get(format!("{}/health", env.base_url()))
            .await?
            .status(),
        200
    );
    // A real MCP client with the token.
    let c = env.client_with_token(token).await?;
    call(&c, "ibkr_get_status", json!({})).await?;
    c.cancel().await?;
    assert!(
        env.client().await.is_err(),
        "client without token must fail"
    );
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn cors_allows_configured_origin_and_exposes_session_id() -> anyhow::Result<()> {
    let origin = "https://app.example.com";
    let env = TestEnv::start_with(|c| c.server.cors_origins = vec![origin.into()]).await?;
    let url = env.mcp_url();
    let r = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,mcp-session-id",
        )
        .send()
        .await?;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(r.headers()["access-control-allow-origin"], origin);
    let r = post(&url).header("origin", origin).send().await?;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["access-control-allow-origin"], origin);
    let exposed = r.headers()["access-control-expose-headers"]
        .to_str()?
        .to_ascii_lowercase();
    assert!(exposed.contains("mcp-session-id"), "{exposed}");
    assert!(r.headers().get("mcp-session-id").is_some());
    // Another origin gets no CORS grant (and is rejected by Origin validation).
    let r = post(&url)
        .header("origin", "https://other.example.com")
        .send()
        .await?;
    assert_eq!(r.status(), 403);
    env.shutdown().await;
    Ok(())
}
