//! ibapi 5.5 against the simulator: handshake, startup, basic one-shot requests, duplicate
//! client id.

mod ibapi_common;

use ibapi::prelude::*;
use ibapi_common::{T, connect, start_sim};

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
    assert!(id >= 1 && id < 1_500_000_000, "next valid id {id}");

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
    let mut again = None;
    for _ in 0..50 {
        if let Ok(c) = Client::connect(&sim.addr().to_string(), 7).await {
            again = Some(c);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let again = again.expect("client id 7 never became free");
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
    // Generous bound for unoptimised test builds on a loaded machine; release is ~ms.
    assert!(
        started < std::time::Duration::from_secs(2),
        "start took {started:?}"
    );
    let addr = sim.addr();
    let t1 = std::time::Instant::now();
    sim.shutdown().await;
    assert!(t1.elapsed() < std::time::Duration::from_secs(5));
    // The port is closed and the client notices.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    drop(client);
}
