//! ibapi 5.5 against the simulator: handshake, startup, basic one-shot requests, duplicate
//! client id.

use crate::ibapi_common;

use ibapi::prelude::*;
use ibapi_common::{T, connect, start_sim, wait_until};

#[tokio::test]
async fn connect_server_time_accounts_next_id() {
    let sim = start_sim().await;
    let client = connect(&sim, 1).await;
    assert!(client.server_version() >= 213 && client.server_version() <= 226);
    assert!(client.is_connected());

    let t = tokio::time::timeout(T, client.server_time())
        .await
        .unwrap()
        .unwrap();
    let sim_now = sim.admin().sim_time_ms() / 1000;
    assert!(
        (t.unix_timestamp() - sim_now).abs() < 60,
        "server time {t} vs sim {sim_now}"
    );

    let accounts = tokio::time::timeout(T, client.managed_accounts())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(accounts, vec!["DU1234567".to_string()]);
    assert_eq!(
        client.handshake_managed_accounts(),
        &["DU1234567".to_string()]
    );

    let id = tokio::time::timeout(T, client.next_valid_order_id())
        .await
        .unwrap()
        .unwrap();
    assert!((1..1_500_000_000).contains(&id), "next valid id {id}");

    assert_eq!(sim.admin().clients().len(), 1);
    client.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn duplicate_client_id_is_rejected_with_326() {
    let sim = start_sim().await;
    let first = connect(&sim, 7).await;
    let second = tokio::time::timeout(T, Client::connect(&sim.addr().to_string(), 7))
        .await
        .expect("connect attempt hangs");
    match second {
        Err(ibapi::Error::ClientIdInUse { client_id }) => assert_eq!(client_id, 7),
        Err(other) => panic!("expected ClientIdInUse, got {other:?}"),
        Ok(_) => panic!("second connection with the same client id was accepted"),
    }
    // The first connection is unaffected.
    tokio::time::timeout(T, first.server_time())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sim.admin().stats().client_id_in_use, 1);
    // After the first disconnects the id is free again.
    first.disconnect().await;
    wait_until("client id 7 released", || {
        !sim.admin().clients().iter().any(|c| c.client_id == 7)
    })
    .await;
    let again = connect(&sim, 7).await;
    again.disconnect().await;
    sim.shutdown().await;
}

#[tokio::test]
async fn many_concurrent_clients() {
    let sim = start_sim().await;
    let mut tasks = Vec::new();
    for id in 0..20 {
        let addr = sim.addr().to_string();
        tasks.push(tokio::spawn(async move {
            let c = Client::connect(&addr, 100 + id).await.expect("connect");
            c.server_time().await.expect("server_time");
            c.disconnect().await;
        }));
    }
    for t in tasks {
        tokio::time::timeout(T, t).await.unwrap().unwrap();
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn simulator_starts_fast_and_shuts_down_cleanly() {
    let t0 = std::time::Instant::now();
    let sim = start_sim().await;
    let started = t0.elapsed();
    let client = connect(&sim, 1).await;
    let ready = t0.elapsed();
    eprintln!("start {started:?}, start+connect {ready:?}");
    // The bound is the feature ("starts fast"), generous for unoptimised test builds on a
    // loaded machine; release is ~ms.
    assert!(
        started < std::time::Duration::from_secs(5),
        "start took {started:?}"
    );
    let addr = sim.addr();
    let admin = sim.admin().clone();
    sim.shutdown().await;
    // Clean: every server task (accept loop, ticker, connections) ended within the
    // shutdown's own 5 s wait.
    assert_eq!(admin.stats().tasks, 0, "tasks left after shutdown");
    // The port is closed and the client notices.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    drop(client);
}

/// The codec seam: a classic (text) client negotiates text mode on the same port.
#[tokio::test]
async fn text_clients_negotiate_text_mode() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    async fn read_frame(s: &mut tokio::net::TcpStream) -> Vec<u8> {
        let mut len = [0u8; 4];
        s.read_exact(&mut len).await.unwrap();
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        s.read_exact(&mut body).await.unwrap();
        body
    }
    fn frame(body: &[u8]) -> Vec<u8> {
        let mut v = (body.len() as u32).to_be_bytes().to_vec();
        v.extend_from_slice(body);
        v
    }
    let sim = start_sim().await;
    let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let mut hello = b"API\0".to_vec();
    hello.extend(frame(b"v157..178"));
    s.write_all(&hello).await.unwrap();
    let reply = tokio::time::timeout(T, read_frame(&mut s)).await.unwrap();
    assert!(
        reply.starts_with(b"178\0"),
        "{:?}",
        String::from_utf8_lossy(&reply)
    );
    s.write_all(&frame(b"71\x002\x0042\x00\x00")).await.unwrap();
    let mut fields = Vec::new();
    for _ in 0..2 {
        let f = tokio::time::timeout(T, read_frame(&mut s)).await.unwrap();
        fields.push(String::from_utf8_lossy(&f).to_string());
    }
    assert!(
        fields
            .iter()
            .any(|f| f.starts_with("15\0") && f.contains("DU1234567")),
        "{fields:?}"
    );
    assert!(fields.iter().any(|f| f.starts_with("9\0")), "{fields:?}");
    let conns = sim.admin().connections();
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0].mode, "text");
    assert_eq!(conns[0].server_version, 178);
    assert_eq!(conns[0].client_id, Some(42));
    sim.shutdown().await;
}
