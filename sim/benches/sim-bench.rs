//! Simulator benchmark (not a timed test): `cargo bench -p tws-sim --bench sim-bench`.
//!
//! Prints
//! 1. market-data ticks per second delivered to ONE real `ibapi` client streaming many
//!    instruments with the world's tick interval at 1 ms (target >= 100,000/s);
//! 2. the same measured with a raw protobuf reader (server-side capacity without ibapi's
//!    decoding cost);
//! 3. connect-to-ready time of `ibapi::Client::connect` on loopback (handshake, startApi,
//!    managedAccounts + nextValidId), p50/p90/p99 over 200 connects (target p50 < 5 ms);
//! 4. `Simulator::start` time with the default world.
//!
//! Environment: `SIM_BENCH_SECS` (default 5) measurement window, `SIM_BENCH_SUBS` (default 60)
//! instruments, `SIM_BENCH_CONNECTS` (default 200).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ibapi::prelude::*;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tws_sim::proto::messages as pb;
use tws_sim::{ServerOptions, SimOptions, Simulator, WorldConfig};

const SYMBOLS: &[&str] = &[
    "SPY", "VTI", "QQQ", "IWM", "VOO", "DIA", "TLT", "BND", "AGG", "IEF", "SHY", "LQD", "HYG",
    "TIP", "GLD", "VNQ", "VXUS", "VEA", "VWO", "XLK", "XLF", "XLE", "XLV", "XLY", "XLI", "XLP",
    "XLU", "AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "JPM", "XOM", "KO", "JNJ", "V",
    "SNDL",
];

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn fast_options() -> SimOptions {
    SimOptions {
        world: WorldConfig {
            tick_interval_ms: 1,
            max_catch_up_ticks: 64,
            ..WorldConfig::default()
        },
        server: ServerOptions {
            tick_interval: Duration::from_millis(2),
            outbox_capacity: 1 << 20,
            ..ServerOptions::default()
        },
        ..SimOptions::default()
    }
}

async fn ibapi_ticks(secs: u64, subs: usize) -> anyhow::Result<(f64, u64)> {
    let sim = Simulator::start(fast_options()).await?;
    let client = Arc::new(Client::connect(&sim.addr().to_string(), 1).await?);
    let count = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for sym in SYMBOLS.iter().cycle().take(subs) {
        let contract = Contract::stock(*sym).build();
        let mut sub = client.market_data(&contract).subscribe().await?;
        let count = count.clone();
        let errors = errors.clone();
        tasks.push(tokio::spawn(async move {
            while let Some(item) = sub.next().await {
                match item {
                    Ok(SubscriptionItem::Data(_)) => {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(SubscriptionItem::Notice(_)) => {}
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let c0 = count.load(Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let rate = (count.load(Ordering::Relaxed) - c0) as f64 / t0.elapsed().as_secs_f64();
    for t in &tasks {
        t.abort();
    }
    client.disconnect().await;
    sim.shutdown().await;
    Ok((rate, errors.load(Ordering::Relaxed)))
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u32).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

fn proto_frame(msg_id: i32, m: &impl Message) -> Vec<u8> {
    let mut body = (msg_id + 200).to_be_bytes().to_vec();
    m.encode(&mut body).expect("encode");
    frame(&body)
}

async fn raw_ticks(secs: u64, subs: usize) -> anyhow::Result<f64> {
    let sim = Simulator::start(fast_options()).await?;
    let s = TcpStream::connect(sim.addr()).await?;
    s.set_nodelay(true)?;
    let (rd, mut wr) = s.into_split();
    let mut rd = BufReader::with_capacity(1 << 20, rd);
    let mut hello = b"API\0".to_vec();
    hello.extend(frame(b"v213..226"));
    wr.write_all(&hello).await?;
    wr.write_all(&proto_frame(
        71,
        &pb::StartApiRequest {
            client_id: Some(1),
            optional_capabilities: None,
        },
    ))
    .await?;
    for (i, sym) in SYMBOLS.iter().cycle().take(subs).enumerate() {
        wr.write_all(&proto_frame(
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
        .await?;
    }
    let count = Arc::new(AtomicU64::new(0));
    let reader = {
        let count = count.clone();
        tokio::spawn(async move {
            let mut len = [0u8; 4];
            let mut body = Vec::new();
            loop {
                if rd.read_exact(&mut len).await.is_err() {
                    return;
                }
                body.resize(u32::from_be_bytes(len) as usize, 0);
                if rd.read_exact(&mut body).await.is_err() {
                    return;
                }
                if body.len() >= 4 {
                    let id = i32::from_be_bytes([body[0], body[1], body[2], body[3]]) - 200;
                    // tickPrice, tickSize, tickString, tickGeneric, tickOptionComputation
                    if matches!(id, 1 | 2 | 45 | 46 | 21) {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    let c0 = count.load(Ordering::Relaxed);
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let rate = (count.load(Ordering::Relaxed) - c0) as f64 / t0.elapsed().as_secs_f64();
    reader.abort();
    drop(wr);
    sim.shutdown().await;
    Ok(rate)
}

async fn connect_latency(n: usize) -> anyhow::Result<Vec<Duration>> {
    let sim = Simulator::start(SimOptions::default()).await?;
    let addr = sim.addr().to_string();
    // Warm up (first connect builds lazy state).
    Client::connect(&addr, 10_000).await?.disconnect().await;
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let t0 = Instant::now();
        let c = Client::connect(&addr, i as i32 + 1).await?;
        samples.push(t0.elapsed());
        c.disconnect().await;
    }
    sim.shutdown().await;
    samples.sort();
    Ok(samples)
}

fn pct(v: &[Duration], p: f64) -> Duration {
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let secs = env_num("SIM_BENCH_SECS", 5);
    let subs = env_num("SIM_BENCH_SUBS", 60) as usize;
    let connects = env_num("SIM_BENCH_CONNECTS", 200) as usize;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        println!("tws-sim benchmark ({} cores available)", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        let (rate, errs) = ibapi_ticks(secs, subs).await?;
        println!(
            "ticks/s to one ibapi client ({subs} market data subscriptions, tick interval 1 ms, {secs} s): {rate:.0}{}",
            if errs > 0 { format!(" ({errs} subscription errors/lag notices)") } else { String::new() }
        );
        let raw = raw_ticks(secs, subs).await?;
        println!("ticks/s to one raw protobuf reader ({subs} subscriptions, {secs} s): {raw:.0}");
        let mut starts = Vec::new();
        for _ in 0..10 {
            let t0 = Instant::now();
            let sim = Simulator::start(SimOptions::default()).await?;
            starts.push(t0.elapsed());
            sim.shutdown().await;
        }
        let t0 = Instant::now();
        drop(tws_sim::world::World::new(WorldConfig::default()));
        let world_new = t0.elapsed();
        starts.sort();
        println!(
            "Simulator::start (default world) over 10 starts: median {:.2} ms, max {:.2} ms (World::new alone: {:.2} ms)",
            pct(&starts, 0.5).as_secs_f64() * 1e3,
            starts.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
            world_new.as_secs_f64() * 1e3
        );
        let lat = connect_latency(connects).await?;
        println!(
            "ibapi connect-to-ready on loopback over {connects} connects: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            pct(&lat, 0.50).as_secs_f64() * 1e3,
            pct(&lat, 0.90).as_secs_f64() * 1e3,
            pct(&lat, 0.99).as_secs_f64() * 1e3,
            lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        );
        anyhow::Ok(())
    })
}
