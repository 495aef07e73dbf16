//! Hostile and broken clients: garbage, bad handshakes, oversized/truncated frames, unknown
//! messages, slow consumers. The simulator must answer like TWS, never panic or hang, and keep
//! serving well-behaved clients.

use crate::ibapi_common;

use std::time::Duration;

use ibapi_common::{T, connect, start_sim, start_sim_with, wait_until};
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tws_sim::proto::messages as pb;
use tws_sim::{ServerOptions, SimHandle, SimOptions};

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

fn proto_frame(msg_id: i32, m: &impl Message) -> Vec<u8> {
    let mut body = (msg_id + 200).to_be_bytes().to_vec();
    m.encode(&mut body).unwrap();
    frame(&body)
}

/// Reads one frame; `None` on EOF.
async fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.ok()?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).await.ok()?;
    Some(body)
}

/// Reads frames until one with protobuf message id `id` (classic id) arrives.
async fn read_until_msg(s: &mut TcpStream, id: i32) -> Option<Vec<u8>> {
    loop {
        let f = tokio::time::timeout(T, read_frame(s)).await.ok()??;
        if f.len() >= 4 && i32::from_be_bytes([f[0], f[1], f[2], f[3]]) == id + 200 {
            return Some(f[4..].to_vec());
        }
    }
}

/// Next error frame that is not a farm notice (21xx).
async fn read_error(s: &mut TcpStream) -> pb::ErrorMessage {
    loop {
        let e = pb::ErrorMessage::decode(&read_until_msg(s, 4).await.expect("error frame")[..])
            .unwrap();
        if !(2100..2200).contains(&e.error_code.unwrap_or(0)) {
            return e;
        }
    }
}

/// Raw protobuf client: handshake + startApi; returns the stream after nextValidId.
async fn raw_client(sim: &SimHandle, client_id: i32) -> TcpStream {
    let mut s = TcpStream::connect(sim.addr()).await.unwrap();
    let mut hello = b"API\0".to_vec();
    hello.extend(frame(b"v213..226"));
    s.write_all(&hello).await.unwrap();
    let reply = tokio::time::timeout(T, read_frame(&mut s))
        .await
        .unwrap()
        .unwrap();
    assert!(
        reply.starts_with(b"226\0"),
        "handshake reply {:?}",
        String::from_utf8_lossy(&reply)
    );
    s.write_all(&proto_frame(
        71,
        &pb::StartApiRequest {
            client_id: Some(client_id),
            optional_capabilities: None,
        },
    ))
    .await
    .unwrap();
    read_until_msg(&mut s, 9).await.expect("nextValidId");
    s
}

/// Waits for EOF (the server closed the socket).
async fn expect_closed(s: &mut TcpStream) {
    let mut buf = [0u8; 4096];
    let r = tokio::time::timeout(T, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(r.is_ok(), "server did not close the connection");
}

async fn error_codes_until_close(s: &mut TcpStream) -> Vec<i32> {
    let mut codes = Vec::new();
    while let Ok(Some(f)) = tokio::time::timeout(T, read_frame(s)).await {
        if f.len() >= 4 && i32::from_be_bytes([f[0], f[1], f[2], f[3]]) == 204 {
            codes.push(
                pb::ErrorMessage::decode(&f[4..])
                    .unwrap()
                    .error_code
                    .unwrap_or(0),
            );
        }
    }
    codes
}

/// A well-behaved ibapi client still works.
async fn healthy(sim: &SimHandle, client_id: i32) {
    let c = connect(sim, client_id).await;
    tokio::time::timeout(T, c.server_time())
        .await
        .unwrap()
        .unwrap();
    c.disconnect().await;
}

#[tokio::test]
async fn garbage_and_bad_handshakes_are_closed() {
    let sim = start_sim().await;

    // Random bytes instead of the API prefix.
    let mut s = TcpStream::connect(sim.addr()).await.unwrap();
    s.write_all(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8])
        .await
        .unwrap();
    expect_closed(&mut s).await;

    // HTTP request.
    let mut s = TcpStream::connect(sim.addr()).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    expect_closed(&mut s).await;

    // Versions nobody serves.
    for v in [&b"v100..150"[..], b"v1..2", b"vX..Y", b"", &[0xff; 40]] {
        let mut s = TcpStream::connect(sim.addr()).await.unwrap();
        let mut hello = b"API\0".to_vec();
        hello.extend(frame(v));
        s.write_all(&hello).await.unwrap();
        let mut buf = Vec::new();
        let n = tokio::time::timeout(T, s.read_to_end(&mut buf))
            .await
            .unwrap()
            .unwrap_or(0);
        assert_eq!(n, 0, "no handshake reply for {v:?}");
    }

    // Huge version frame.
    let mut s = TcpStream::connect(sim.addr()).await.unwrap();
    let mut hello = b"API\0".to_vec();
    hello.extend_from_slice(&u32::MAX.to_be_bytes());
    s.write_all(&hello).await.unwrap();
    expect_closed(&mut s).await;

    // A message other than startApi first: error 505, then close.
    let mut s = TcpStream::connect(sim.addr()).await.unwrap();
    let mut hello = b"API\0".to_vec();
    hello.extend(frame(b"v213..226"));
    s.write_all(&hello).await.unwrap();
    read_frame(&mut s).await.unwrap();
    s.write_all(&proto_frame(49, &pb::Empty {})).await.unwrap();
    let codes = error_codes_until_close(&mut s).await;
    assert_eq!(codes, vec![505]);

    assert!(sim.admin().stats().handshake_failures >= 8);
    healthy(&sim, 1).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn silent_client_times_out_in_handshake() {
    let sim = start_sim_with(SimOptions {
        server: ServerOptions {
            handshake_timeout: Duration::from_millis(300),
            ..ServerOptions::default()
        },
        ..SimOptions::default()
    })
    .await;
    let mut silent = TcpStream::connect(sim.addr()).await.unwrap();
    let mut half = TcpStream::connect(sim.addr()).await.unwrap();
    half.write_all(b"API\0").await.unwrap();
    let t0 = std::time::Instant::now();
    expect_closed(&mut silent).await;
    expect_closed(&mut half).await;
    // The bound is the feature (the 300 ms handshake timeout closes them, not the client's
    // patience): generous, half of expect_closed's own limit.
    assert!(t0.elapsed() < T / 2, "{:?}", t0.elapsed());
    assert!(sim.admin().connections().is_empty());
    healthy(&sim, 1).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_and_malformed_messages_get_505_and_the_connection_survives() {
    let sim = start_sim().await;
    let mut s = raw_client(&sim, 3).await;

    // Unknown message id.
    s.write_all(&frame(&(200 + 4242i32).to_be_bytes()))
        .await
        .unwrap();
    let e = read_error(&mut s).await;
    assert_eq!(e.error_code, Some(505));

    // Wrong field type: reqContractDetails whose req_id (tag 1, varint) is length-delimited.
    let mut body = (200 + 9i32).to_be_bytes().to_vec();
    body.extend_from_slice(&[0x0a, 0x03, 1, 2, 3]);
    s.write_all(&frame(&body)).await.unwrap();
    let e = read_error(&mut s).await;
    assert_eq!(e.error_code, Some(505));

    // Body shorter than a message id.
    s.write_all(&frame(&[1, 2])).await.unwrap();
    let e = read_error(&mut s).await;
    assert_eq!(e.error_code, Some(505));

    // Truncated protobuf payload inside a complete frame.
    let mut body = (200 + 9i32).to_be_bytes().to_vec();
    body.extend_from_slice(&[0x12, 0x40, 0x08]);
    s.write_all(&frame(&body)).await.unwrap();
    let e = read_error(&mut s).await;
    assert_eq!(e.error_code, Some(505));

    // Still serving this connection.
    s.write_all(&proto_frame(49, &pb::Empty {})).await.unwrap();
    let t = pb::CurrentTime::decode(&read_until_msg(&mut s, 49).await.unwrap()[..]).unwrap();
    assert!(t.current_time.unwrap() > 1_600_000_000);
    assert!(sim.admin().stats().decode_errors >= 4);
    healthy(&sim, 4).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn oversized_and_truncated_frames_close_only_that_connection() {
    let sim = start_sim().await;
    let bystander = connect(&sim, 10).await;

    // Oversized: error 507, then close.
    let mut s = raw_client(&sim, 5).await;
    s.write_all(&0x0100_0000u32.to_be_bytes()).await.unwrap();
    let codes = error_codes_until_close(&mut s).await;
    assert!(codes.contains(&507), "codes {codes:?}");

    // Truncated: header promises 1000 bytes, 10 arrive, then the client hangs up.
    let mut s = raw_client(&sim, 6).await;
    s.write_all(&1000u32.to_be_bytes()).await.unwrap();
    s.write_all(&[0u8; 10]).await.unwrap();
    drop(s);

    // The client ids are released.
    wait_until("client ids 5 and 6 released", || {
        let ids: Vec<i32> = sim.admin().clients().iter().map(|c| c.client_id).collect();
        !ids.contains(&5) && !ids.contains(&6)
    })
    .await;

    tokio::time::timeout(T, bystander.server_time())
        .await
        .unwrap()
        .unwrap();
    bystander.disconnect().await;
    healthy(&sim, 5).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn slow_consumer_is_disconnected() {
    let world = tws_sim::WorldConfig {
        tick_interval_ms: 1,
        ..Default::default()
    };
    let sim = start_sim_with(SimOptions {
        world,
        server: ServerOptions {
            outbox_capacity: 256,
            tick_interval: Duration::from_millis(2),
            write_timeout: Duration::from_secs(2),
            ..ServerOptions::default()
        },
        ..SimOptions::default()
    })
    .await;
    let mut s = raw_client(&sim, 8).await;
    // Stream many instruments and never read again.
    for (i, sym) in ["AAPL", "MSFT", "SPY", "QQQ", "NVDA", "AMZN", "TLT", "VTI"]
        .iter()
        .enumerate()
    {
        s.write_all(&proto_frame(
            1,
            &pb::MarketDataRequest {
                req_id: Some(i as i32 + 1),
                contract: Some(pb::Contract {
                    symbol: Some(sym.to_string()),
                    sec_type: Some("STK".into()),
                    exchange: Some("SMART".into()),
                    currency: Some("USD".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    }
    wait_until("the slow consumer (client 8) dropped", || {
        sim.admin().stats().slow_consumer_drops > 0
            && !sim.admin().clients().iter().any(|c| c.client_id == 8)
    })
    .await;
    drop(s);
    healthy(&sim, 9).await;
    sim.shutdown().await;
}

#[tokio::test]
async fn no_leaks_after_many_connections() {
    let sim = start_sim().await;
    let baseline = sim.admin().stats().tasks;
    for i in 0..30 {
        let c = connect(&sim, 100 + i).await;
        c.disconnect().await;
        let mut s = TcpStream::connect(sim.addr()).await.unwrap();
        s.write_all(b"API\0garbage").await.unwrap();
        drop(s);
        let mut s = raw_client(&sim, 500 + i).await;
        s.write_all(&500u32.to_be_bytes()).await.unwrap();
        drop(s);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let st = sim.admin().stats();
        if sim.admin().connections().is_empty()
            && sim.admin().clients().is_empty()
            && st.tasks <= baseline
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "leak: {} connections, {} clients, {} tasks (baseline {baseline})",
            sim.admin().connections().len(),
            sim.admin().clients().len(),
            st.tasks
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sim.shutdown().await;
}
