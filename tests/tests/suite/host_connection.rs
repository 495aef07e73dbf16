//! Connection supervisor through MCP: fail fast when not connected, connect / disconnect tools,
//! refused port with hints, client-id conflict (326), reconnect after the gateway drops us,
//! repeated attempts with exponential backoff (counted and timed at the simulator).

use std::time::{Duration, Instant};

use e2e::{TestEnv, call, call_err, wait_state};
use ibkr_mcp::broker::{ConnectionState, PORT_HINT};
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
    // A port that refuses for the whole test: bound (so nobody else can take it) but not
    // listening, so the kernel answers every connect with a refusal.
    let reserved = tokio::net::TcpSocket::new_v4()?;
    reserved.bind("127.0.0.1:0".parse()?)?;
    let port = reserved.local_addr()?.port();
    let t = Instant::now();
    let text = call_err(&c, "ibkr_connect", json!({"port": port})).await?;
    assert_eq!(
        text,
        format!(
            "cannot connect to 127.0.0.1:{port}: Connection refused (os error 111). {PORT_HINT}"
        )
    );
    // A refusal is reported at once, not after the 3 s connect timeout.
    assert!(
        t.elapsed() < Duration::from_millis(env.config.tws.connect_timeout_ms),
        "took {:?}",
        t.elapsed()
    );
    let s = call(&c, "ibkr_get_status", json!({})).await?;
    assert_eq!(s["state"], "disconnected");
    assert_eq!(s["port"], port);
    assert_eq!(
        s["lastError"],
        format!("Connection refused (os error 111). {PORT_HINT}")
    );
    assert_eq!(s["lastErrorCode"], serde_json::Value::Null);
    // The explicit connect is not retried in the background.
    assert_eq!(
        env.host.broker.status().state,
        ConnectionState::Disconnected
    );
    drop(reserved);
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
    let cfg = env.config.tws.clone();
    let (initial, max) = (cfg.reconnect_initial_ms, cfg.reconnect_max_ms);
    assert_eq!((initial, max), (100, 1_000), "test_config changed");
    // The delays after each failed attempt: doubling from the initial delay, capped at the max,
    // followed until the max has been used twice.
    let mut expected = vec![initial];
    while expected.iter().filter(|d| **d == max).count() < 2 {
        let next = (expected.last().unwrap() * 2).min(max);
        expected.push(next);
    }
    assert_eq!(expected, [100, 200, 400, 800, 1_000, 1_000]);
    let c = env.client().await?;
    let admin = env.sim.admin();
    let before = admin.stats().connection_attempts.len();
    assert_eq!(before, 1, "only the initial connection so far");

    // The gateway turns every connection away for the window (the scenario's length): enough
    // for expected.len() + 1 attempts, and then a max delay more.
    let window = Duration::from_millis(expected.iter().sum::<u64>() + max);
    let mut status = env.host.broker.watch_status();
    status.borrow_and_update();
    admin.reset_for(window);
    tokio::time::timeout(
        Duration::from_secs(5),
        status.wait_for(|s| s.state == ConnectionState::Connecting),
    )
    .await??;

    // While the gateway refuses, a call fails fast with "not connected" and names the retry.
    e2e::wait_until(Duration::from_secs(10), "two refused attempts", || {
        admin.stats().refused >= 2
    })
    .await?;
    let t = Instant::now();
    let text = call_err(&c, "ibkr_get_positions", json!({})).await?;
    let took = t.elapsed();
    let prefix = format!(
        "not connected to TWS/IB Gateway (reconnecting to 127.0.0.1:{}, attempt ",
        env.sim.addr().port()
    );
    assert!(text.starts_with(&prefix), "{text}");
    assert!(
        text.ends_with("; call ibkr_connect or wait for the automatic reconnect"),
        "{text}"
    );
    // Fails fast instead of waiting for the 10 s request timeout.
    assert!(took < cfg.request_timeout() / 2, "took {took:?}");
    assert!(admin.refusing(), "the window ended before the call");

    // Count and time the attempts at the simulator.
    let n = expected.len() + 1;
    e2e::wait_until(
        window + Duration::from_secs(10),
        &format!("{n} refused attempts"),
        || admin.stats().refused >= n as u64,
    )
    .await?;
    let attempts = admin.stats().connection_attempts[before..].to_vec();
    let refused: Vec<u64> = attempts
        .iter()
        .take_while(|a| a.refused)
        .map(|a| a.at_ms)
        .collect();
    assert!(refused.len() >= n, "{attempts:?}");
    let gaps: Vec<u64> = refused.windows(2).map(|w| w[1] - w[0]).collect();
    for (i, want) in expected.iter().enumerate() {
        // Never sooner than the backoff; later only by scheduling noise, well under the next
        // step of the schedule (an uncapped doubling would give 2 x max).
        assert!(
            gaps[i] >= *want && gaps[i] < want + max / 2,
            "gap {i}: {} ms, want {want} ms (+ < {} ms); gaps {gaps:?}",
            gaps[i],
            max / 2
        );
    }

    // The host reconnects once the gateway accepts again.
    env.wait_connected(window + Duration::from_secs(15)).await?;
    assert!(!admin.refusing());
    let attempts = admin.stats().connection_attempts[before..].to_vec();
    let last = attempts.last().unwrap();
    assert!(!last.refused, "{attempts:?}");
    assert_eq!(
        attempts.iter().filter(|a| !a.refused).count(),
        1,
        "one successful reconnection: {attempts:?}"
    );
    let status = env.host.broker.status();
    assert_eq!(status.attempt, 0);
    assert_eq!(status.last_error, None);
    let p = call(&c, "ibkr_get_positions", json!({})).await?;
    assert!(!p["positions"].as_array().unwrap().is_empty(), "{p}");
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}
