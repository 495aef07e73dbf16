//! Fault injection observed through the real ibapi client: dropped connections (auto
//! reconnect), refused connections (nightly restart), connectivity and farm notices, latency,
//! historical-data pacing, and the admin HTTP API.

use crate::ibapi_common;

use std::time::{Duration, Instant};

use ibapi::prelude::*;
use ibapi_common::{T, connect, start_sim, start_sim_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tws_sim::SimOptions;

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn drop_all_then_ibapi_reconnects() {
    let sim = start_sim().await;
    let client = connect(&sim, 1).await;
    let other = connect(&sim, 2).await;
    assert_eq!(sim.admin().clients().len(), 2);

    assert_eq!(sim.admin().drop_all(), 2);
    wait_for("clients detached", || sim.admin().clients().len() < 2).await;

    // ibapi reconnects on its own (Fibonacci backoff, first retry after ~1 s).
    tokio::time::timeout(T, client.wait_connected())
        .await
        .unwrap()
        .unwrap();
    tokio::time::timeout(T, other.wait_connected())
        .await
        .unwrap()
        .unwrap();
    wait_for("clients re-attached", || sim.admin().clients().len() == 2).await;
    let t = tokio::time::timeout(T, client.server_time())
        .await
        .unwrap()
        .unwrap();
    assert!(t.unix_timestamp() > 1_600_000_000);
    client.disconnect().await;
    other.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn refuse_connections_for_a_while() {
    let sim = start_sim().await;
    let client = connect(&sim, 1).await;
    sim.admin().refuse_for(Duration::from_secs(2));
    assert!(sim.admin().refusing());

    // The port is closed: connects are refused (or closed before the handshake completes).
    let probe = Client::connect(&sim.addr().to_string(), 50).await;
    assert!(probe.is_err(), "connection accepted while refusing");

    // The existing client was dropped and reconnects once the gateway is back.
    let t0 = Instant::now();
    tokio::time::timeout(Duration::from_secs(30), client.wait_connected())
        .await
        .unwrap()
        .unwrap();
    wait_for("client re-attached", || sim.admin().clients().len() == 1).await;
    assert!(!sim.admin().refusing());
    assert!(
        t0.elapsed() >= Duration::from_millis(1500),
        "reconnected during the refuse window"
    );
    tokio::time::timeout(T, client.server_time())
        .await
        .unwrap()
        .unwrap();
    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn reset_connections_are_counted_with_their_times() {
    let sim = start_sim().await;
    let client = connect(&sim, 1).await;
    let before = sim.admin().stats();
    assert_eq!(before.refused, 0);
    assert_eq!(before.connection_attempts.len(), 1, "{before:?}");
    assert!(!before.connection_attempts[0].refused);

    // The window is the scenario: long enough for three probes on a loaded machine.
    sim.admin().reset_for(Duration::from_secs(3));
    assert!(sim.admin().refusing());
    wait_for("client dropped", || sim.admin().clients().is_empty()).await;

    // The listener stays open: each probe is accepted, then reset before any handshake answer.
    for _ in 0..3 {
        let mut s = TcpStream::connect(sim.addr()).await.expect("tcp connect");
        let _ = s.write_all(b"API\0").await;
        let mut buf = [0u8; 16];
        let read = tokio::time::timeout(T, s.read(&mut buf)).await.unwrap();
        assert!(
            matches!(read, Ok(0) | Err(_)),
            "got an answer while refusing: {read:?}"
        );
    }
    let during = sim.admin().stats();
    assert!(sim.admin().refusing(), "window ended before the checks");
    // ibapi's own reconnect attempts may add to the probes: at least three refused.
    assert!(during.refused >= 3, "{during:?}");
    let refused: Vec<_> = during.connection_attempts[1..].to_vec();
    assert_eq!(refused.len() as u64, during.refused, "{during:?}");
    assert!(refused.iter().all(|a| a.refused), "{during:?}");
    assert!(
        during
            .connection_attempts
            .windows(2)
            .all(|w| w[0].at_ms <= w[1].at_ms),
        "{during:?}"
    );

    // After the window the same listener accepts again and the attempt is recorded as such.
    tokio::time::timeout(Duration::from_secs(30), client.wait_connected())
        .await
        .unwrap()
        .unwrap();
    wait_for("client re-attached", || sim.admin().clients().len() == 1).await;
    let after = sim.admin().stats();
    assert_eq!(after.accepted, 2, "{after:?}");
    let last = after.connection_attempts.last().copied().unwrap();
    assert!(!last.refused, "{after:?}");
    assert!(last.at_ms >= refused.last().unwrap().at_ms);
    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn connectivity_and_farm_notices_reach_the_client() {
    let sim = start_sim().await;
    let client = connect(&sim, 1).await;
    let mut notices = client.notice_stream().unwrap();
    sim.admin().connectivity(1100).unwrap();
    sim.admin().connectivity(1102).unwrap();
    sim.admin().farm(2103).unwrap();
    sim.admin().farm(2104).unwrap();
    assert!(sim.admin().connectivity(42).is_err());
    // The startup farm notices (2104/2106/2158) may still be in the stream: skip to 1100.
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let n = tokio::time::timeout(T, notices.next())
            .await
            .unwrap()
            .expect("notice");
        if n.code == 1100 || !seen.is_empty() {
            seen.push(n.code);
        }
    }
    assert_eq!(seen, vec![1100, 1102, 2103, 2104]);
    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn injected_latency_delays_answers() {
    let sim = start_sim().await;
    let client = connect(&sim, 1).await;
    let t0 = Instant::now();
    tokio::time::timeout(T, client.server_time())
        .await
        .unwrap()
        .unwrap();
    let fast = t0.elapsed();
    // A latency far above an answer's normal time on a loaded machine: the answer without it
    // stays below, the answer with it cannot.
    let latency = Duration::from_millis(1_500);
    sim.admin().set_latency(latency);
    let t0 = Instant::now();
    tokio::time::timeout(T, client.server_time())
        .await
        .unwrap()
        .unwrap();
    let slow = t0.elapsed();
    assert!(slow >= latency, "slow {slow:?}");
    assert!(fast < latency, "fast {fast:?}");
    sim.admin().set_latency(Duration::ZERO);
    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn historical_pacing_violation_162() {
    let sim = start_sim().await;
    let client = connect(&sim, 1).await;
    let aapl = Contract::stock("AAPL").build();
    let fetch = || {
        client
            .historical_data(&aapl, HistoricalBarSize::Sec5)
            .duration(600.seconds())
            .what_to_show(HistoricalWhatToShow::Trades)
            .fetch()
    };
    tokio::time::timeout(T, fetch())
        .await
        .unwrap()
        .expect("first request is fine");
    let err = tokio::time::timeout(T, fetch())
        .await
        .unwrap()
        .expect_err("identical request within 15 s");
    assert!(format!("{err:?}").contains("162"), "{err:?}");
    assert_eq!(sim.admin().stats().pacing_violations, 1);

    // Large bars are not paced.
    for _ in 0..3 {
        tokio::time::timeout(
            T,
            client
                .historical_data(&aapl, HistoricalBarSize::Day)
                .duration(1.months())
                .what_to_show(HistoricalWhatToShow::Trades)
                .fetch(),
        )
        .await
        .unwrap()
        .expect("daily bars are not paced");
    }

    sim.admin().set_pacing(false);
    tokio::time::timeout(T, fetch())
        .await
        .unwrap()
        .expect("pacing disabled");
    client.disconnect().await;
    sim.shutdown().await;
}

async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    tokio::time::timeout(T, s.read_to_end(&mut resp))
        .await
        .unwrap()
        .unwrap();
    let text = String::from_utf8_lossy(&resp).to_string();
    let status: u16 = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    // Tolerate chunked encoding: take the outermost JSON value.
    let body = if head.to_ascii_lowercase().contains("chunked") {
        let start = body.find(['{', '[']).unwrap_or(0);
        let end = body.rfind(['}', ']']).map(|e| e + 1).unwrap_or(body.len());
        &body[start..end]
    } else {
        body
    };
    (
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn admin_http_api() {
    let sim = start_sim_with(SimOptions {
        admin_bind: Some("127.0.0.1:0".parse().unwrap()),
        ..SimOptions::default()
    })
    .await;
    let admin = sim.admin_addr().expect("admin bound");
    let client = connect(&sim, 1).await;
    let mut md = tokio::time::timeout(
        T,
        client
            .market_data(&Contract::stock("AAPL").build())
            .subscribe(),
    )
    .await
    .unwrap()
    .unwrap();
    let _ = tokio::time::timeout(T, md.next()).await.unwrap();

    let (st, state) = http(admin, "GET", "/state", "").await;
    assert_eq!(st, 200);
    assert_eq!(state["clients"].as_array().unwrap().len(), 1);
    assert_eq!(state["subscription_counts"]["market_data"], 1);
    assert!(!state["positions"].as_array().unwrap().is_empty());
    assert!(!state["accounts"].as_array().unwrap().is_empty());

    let (st, subs) = http(admin, "GET", "/subscriptions", "").await;
    assert_eq!(st, 200);
    assert_eq!(subs["counts"]["market_data"], 1);

    let (st, _) = http(admin, "POST", "/faults/latency", r#"{"ms": 5}"#).await;
    assert_eq!(st, 200);
    assert_eq!(sim.admin().latency(), Duration::from_millis(5));
    let (st, _) = http(admin, "POST", "/faults/latency", r#"{"ms": 0}"#).await;
    assert_eq!(st, 200);

    let (st, _) = http(admin, "POST", "/faults/connectivity", r#"{"code": 999}"#).await;
    assert_eq!(st, 400);
    let (st, _) = http(admin, "POST", "/faults/farm", r#"{"code": 2105}"#).await;
    assert_eq!(st, 200);
    let (st, _) = http(admin, "POST", "/faults/pacing", r#"{"enabled": false}"#).await;
    assert_eq!(st, 200);
    assert!(!sim.admin().pacing());
    let (st, v) = http(admin, "POST", "/clock", r#"{"speed": 2.0}"#).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(sim.admin().with_world(|w| w.clock_speed()), 2.0);
    let (st, v) = http(
        admin,
        "POST",
        "/bulletin",
        r#"{"msg_type": 1, "message": "hello"}"#,
    )
    .await;
    assert_eq!(st, 200);
    assert!(v["msg_id"].as_i64().unwrap() >= 1);
    let (st, _) = http(admin, "POST", "/faults/latency", "not json").await;
    assert!(st >= 400);

    let (st, v) = http(admin, "POST", "/faults/drop-all", "").await;
    assert_eq!(st, 200);
    assert_eq!(v["dropped"], 1);
    tokio::time::timeout(T, client.wait_connected())
        .await
        .unwrap()
        .unwrap();

    let (st, _) = http(admin, "POST", "/faults/reset", r#"{"seconds": -1}"#).await;
    assert_eq!(st, 400);
    let (st, _) = http(admin, "POST", "/faults/reset", r#"{"seconds": 0.2}"#).await;
    assert_eq!(st, 200);
    let (st, _) = http(admin, "POST", "/faults/refuse", r#"{"seconds": 0.2}"#).await;
    assert_eq!(st, 200);
    client.disconnect().await;
    sim.shutdown().await;
}
