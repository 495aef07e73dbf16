//! Connection supervisor through MCP: fail fast when not connected, connect / disconnect tools,
//! refused port with hints, client-id conflict (326), reconnect after the gateway drops us.

use std::time::{Duration, Instant};

use e2e::{TestEnv, call, call_err, wait_state};
use ibkr_mcp::broker::ConnectionState;
use serde_json::json;

#[tokio::test]
async fn not_connected_fails_fast_then_connect_and_disconnect() -> anyhow::Result<()> {
    let env = TestEnv::start_with(|c| c.tws.connect_on_start = false).await?;
    let c = env.client().await?;
    let s = call(&c, "ibkr_get_status", json!({})).await?;
    assert_eq!(s["state"], "disconnected");
    assert_eq!(s["is_connected"], false);

    let t = Instant::now();
    let text = call_err(&c, "ibkr_get_positions", json!({})).await?;
    assert!(
        t.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t.elapsed()
    );
    assert!(text.contains("not connected"), "{text}");

    let r = call(&c, "ibkr_connect", json!({})).await?;
    assert_eq!(r["status"], "connected");
    assert_eq!(r["connection"]["is_connected"], true);
    call(&c, "ibkr_get_positions", json!({})).await?;

    let r = call(&c, "ibkr_disconnect", json!({})).await?;
    assert_eq!(r["status"], "disconnected");
    let t = Instant::now();
    let text = call_err(&c, "ibkr_get_account_summary", json!({})).await?;
    assert!(t.elapsed() < Duration::from_secs(1));
    assert!(text.contains("not connected"), "{text}");

    // Explicit host/port/clientId.
    let port = env.sim.addr().port();
    let r = call(
        &c,
        "ibkr_connect",
        json!({"host": "127.0.0.1", "port": port, "clientId": 5}),
    )
    .await?;
    assert_eq!(r["connection"]["clientId"], 5);
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn refused_port_reports_port_hints() -> anyhow::Result<()> {
    let env = TestEnv::start_with(|c| c.tws.connect_on_start = false).await?;
    let c = env.client().await?;
    // A port nobody listens on.
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    let port = l.local_addr()?.port();
    drop(l);
    let text = call_err(&c, "ibkr_connect", json!({"port": port})).await?;
    assert!(text.contains("7497") && text.contains("4002"), "{text}");
    let s = call(&c, "ibkr_get_status", json!({})).await?;
    assert_eq!(s["state"], "disconnected");
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn client_id_conflict_reports_326() -> anyhow::Result<()> {
    let env = TestEnv::start().await?; // holds client id 1
    let mut cfg = env.config.clone();
    cfg.tws.connect_on_start = false;
    cfg.tws.client_id_retry = false;
    let other = ibkr_mcp::app::start_http(&cfg).await?;
    let c = e2e::connect_client(&other.mcp_url(), None).await?;
    let text = call_err(&c, "ibkr_connect", json!({"clientId": 1})).await?;
    assert!(text.contains("326"), "{text}");
    // With another id it works.
    let r = call(&c, "ibkr_connect", json!({"clientId": 2})).await?;
    assert_eq!(r["connection"]["clientId"], 2);
    c.cancel().await?;
    other.shutdown().await;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn client_id_conflict_retries_next_id_when_configured() -> anyhow::Result<()> {
    let env = TestEnv::start().await?; // holds client id 1
    let mut cfg = env.config.clone();
    cfg.tws.client_id_retry = true;
    cfg.tws.connect_on_start = true;
    let other = ibkr_mcp::app::start_http(&cfg).await?;
    wait_state(&other, ConnectionState::Connected, Duration::from_secs(10)).await?;
    assert_eq!(other.broker.status().client_id, 2);
    other.shutdown().await;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn reconnects_after_gateway_drops_connection() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    call(&c, "ibkr_get_positions", json!({})).await?;
    let mut status = env.host.broker.watch_status();
    status.borrow_and_update();
    assert!(env.sim.admin().drop_all() >= 1);
    // The supervisor notices the drop and reconnects.
    tokio::time::timeout(
        Duration::from_secs(5),
        status.wait_for(|s| s.state != ConnectionState::Connected),
    )
    .await??;
    // While reconnecting, calls fail fast (or already succeed again), never hang.
    let t = Instant::now();
    let _ = e2e::call_raw(&c, "ibkr_get_positions", json!({})).await?;
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t.elapsed()
    );
    env.wait_connected(Duration::from_secs(10)).await?;
    let p = call(&c, "ibkr_get_positions", json!({})).await?;
    assert!(p["positions"].is_array());
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn refused_connections_are_retried_with_backoff() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let mut status = env.host.broker.watch_status();
    status.borrow_and_update();
    env.sim.admin().refuse_for(Duration::from_millis(1500));
    env.sim.admin().drop_all();
    tokio::time::timeout(
        Duration::from_secs(5),
        status.wait_for(|s| s.state != ConnectionState::Connected),
    )
    .await??;
    let c = env.client().await?;
    let t = Instant::now();
    let text = call_err(&c, "ibkr_get_positions", json!({})).await;
    assert!(t.elapsed() < Duration::from_secs(2));
    if let Ok(text) = text {
        assert!(text.contains("not connected"), "{text}");
    }
    // Refused attempts are counted while the gateway refuses, then the host reconnects.
    env.wait_connected(Duration::from_secs(15)).await?;
    call(&c, "ibkr_get_positions", json!({})).await?;
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}
