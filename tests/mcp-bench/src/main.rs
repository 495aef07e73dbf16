//! `mcp-bench`: drives N concurrent MCP sessions against `ibkr-mcp --sim` and reports latency,
//! throughput and memory.
//!
//! 1. Starts the host binary as a child process (`--sim --port 0`), reads its MCP URL from the
//!    line it prints once listening, and samples its idle RSS (`/proc/<pid>/status` VmRSS).
//! 2. Measures the simulator's own round trip for the same requests directly with `ibapi`
//!    (a second API client on the simulator the host is connected to; the port comes from
//!    `ibkr_get_status`): reqPositions until positionEnd, reqMktData snapshot until snapshotEnd.
//! 3. For `ibkr_get_positions` and the quote snapshot tool `ibkr_get_quote`: one session calling
//!    sequentially (latency; the host's added latency = host p50 - simulator p50), then N sessions
//!    calling concurrently for a fixed time (throughput, latency under load, peak RSS).
//!
//! Build and run (release):
//!   cargo build --release -p ibkr-mcp -p mcp-bench
//!   target/release/mcp-bench --sessions 32 --duration 10

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context, Result, anyhow, bail};
use clap::Parser;
use ibapi::prelude::StreamExt;
use ibapi::{
    Client as IbClient, accounts::PositionUpdate, contracts::Contract,
    market_data::realtime::TickTypes, subscriptions::SubscriptionItem,
};
use rmcp::{
    ServiceExt,
    model::{CallToolRequestParams, JsonObject},
    service::{RoleClient, RunningService},
    transport::StreamableHttpClientTransport,
};
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(about = "Benchmark ibkr-mcp on the simulator: latency, throughput, RSS")]
struct Args {
    /// Concurrent MCP sessions in the load phase.
    #[arg(long, default_value_t = 32)]
    sessions: usize,
    /// Seconds of load per tool.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Sequential calls per tool for the single-session latency (and the direct ibapi baseline).
    #[arg(long, default_value_t = 2000)]
    samples: usize,
    /// Host binary; default: `ibkr-mcp` next to this executable.
    #[arg(long)]
    host_bin: Option<PathBuf>,
    /// Extra arguments for the host.
    #[arg(long, allow_hyphen_values = true, num_args = 1..)]
    host_args: Vec<String>,
    /// Symbol of the quote snapshot.
    #[arg(long, default_value = "SPY")]
    symbol: String,
    /// Also print the figures as one JSON object.
    #[arg(long)]
    json: bool,
}

/// Latency summary in microseconds.
#[derive(Debug, Clone, Copy)]
struct Summary {
    n: usize,
    p50: f64,
    p99: f64,
    mean: f64,
}

fn summarize(mut us: Vec<f64>) -> Summary {
    if us.is_empty() {
        return Summary {
            n: 0,
            p50: f64::NAN,
            p99: f64::NAN,
            mean: f64::NAN,
        };
    }
    us.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| us[((us.len() - 1) as f64 * p).round() as usize];
    Summary {
        n: us.len(),
        p50: pct(0.50),
        p99: pct(0.99),
        mean: us.iter().sum::<f64>() / us.len() as f64,
    }
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// VmRSS of a process, in KiB.
fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| anyhow!("no VmRSS in /proc/{pid}/status"))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

struct Host {
    child: Child,
    url: String,
}

impl Host {
    fn start(bin: &Path, extra: &[String]) -> Result<Self> {
        let workdir = std::env::temp_dir().join(format!("mcp-bench-{}", std::process::id()));
        std::fs::create_dir_all(&workdir)?;
        let mut child = Command::new(bin)
            .args([
                "--sim",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--env-file",
                "/dev/null",
            ])
            .args(["--audit-log", "", "--log-level", "warn"])
            .args(extra)
            .current_dir(&workdir)
            .env_remove("TWS_HOST")
            .env_remove("TWS_PORT")
            .env_remove("SERVER_PORT")
            .env_remove("SERVER_HOST")
            .env_remove("API_PREFIX")
            .env_remove("IBKR_MCP_CONFIG")
            .env_remove("MCP_BEARER_TOKENS")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        // Keep draining the host's stderr so it never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line
                    .split("listening: MCP ")
                    .nth(1)
                    .and_then(|rest| rest.split_whitespace().next())
                {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(url.to_string());
                    }
                } else if tx.is_some() || line.contains("ERROR") {
                    eprintln!("host: {line}");
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .context("the host did not print its listening URL within 60 s")?;
        Ok(Self { child, url })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // SIGINT = graceful shutdown; fall back to kill.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Session = RunningService<RoleClient, ()>;

async fn session(url: &str) -> Result<Session> {
    let transport = StreamableHttpClientTransport::from_uri(url.to_string());
    ().serve(transport).await.context("MCP initialize")
}

fn args_of(v: Value) -> Option<JsonObject> {
    match v {
        Value::Object(m) if !m.is_empty() => Some(m),
        _ => None,
    }
}

async fn call(s: &Session, tool: &'static str, args: &Option<JsonObject>) -> Result<Value> {
    let mut params = CallToolRequestParams::new(tool);
    params.arguments = args.clone();
    let r = s.call_tool(params).await?;
    if r.is_error == Some(true) {
        bail!("{tool} returned a tool error: {:?}", r.content);
    }
    Ok(r.structured_content.unwrap_or(Value::Null))
}

/// One session, sequential calls.
async fn sequential(
    url: &str,
    tool: &'static str,
    args: &Option<JsonObject>,
    n: usize,
) -> Result<Summary> {
    let s = session(url).await?;
    for _ in 0..50.min(n) {
        call(&s, tool, args).await?;
    }
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        call(&s, tool, args).await?;
        lat.push(micros(t.elapsed()));
    }
    s.cancel().await.ok();
    Ok(summarize(lat))
}

struct Load {
    latency: Summary,
    calls_per_sec: f64,
    errors: u64,
    peak_rss_kib: u64,
}

/// N sessions calling in a loop for `duration`.
async fn load(
    url: &str,
    pid: u32,
    tool: &'static str,
    args: &Option<JsonObject>,
    sessions: usize,
    duration: Duration,
) -> Result<Load> {
    let mut clients = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        clients.push(Arc::new(session(url).await?));
    }
    // Warm every session up.
    for c in &clients {
        call(c, tool, args).await?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(sessions);
    for c in &clients {
        let (c, stop, errors, args) = (c.clone(), stop.clone(), errors.clone(), args.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(16_384);
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match call(&c, tool, &args).await {
                    Ok(_) => lat.push(micros(t.elapsed())),
                    Err(_) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            lat
        }));
    }
    let mut peak = rss_kib(pid).unwrap_or(0);
    while start.elapsed() < duration {
        tokio::time::sleep(Duration::from_millis(100)).await;
        peak = peak.max(rss_kib(pid).unwrap_or(0));
    }
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await?);
    }
    let elapsed = start.elapsed().as_secs_f64();
    peak = peak.max(rss_kib(pid).unwrap_or(0));
    for c in clients {
        if let Ok(c) = Arc::try_unwrap(c) {
            c.cancel().await.ok();
        }
    }
    let n = all.len();
    Ok(Load {
        latency: summarize(all),
        calls_per_sec: n as f64 / elapsed,
        errors: errors.load(Ordering::Relaxed),
        peak_rss_kib: peak,
    })
}

/// The simulator's own round trip, measured with a direct ibapi client.
async fn direct_positions(ib: &IbClient, n: usize) -> Result<Summary> {
    let once = || async {
        let mut sub = ib.positions().await?;
        while let Some(item) = sub.next().await {
            match item {
                Ok(SubscriptionItem::Data(PositionUpdate::PositionEnd)) => break,
                Ok(_) => {}
                Err(e) => return Err(anyhow!(e)),
            }
        }
        Ok::<_, anyhow::Error>(())
    };
    for _ in 0..50.min(n) {
        once().await?;
    }
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        once().await?;
        lat.push(micros(t.elapsed()));
    }
    Ok(summarize(lat))
}

async fn direct_snapshot(ib: &IbClient, symbol: &str, n: usize) -> Result<Summary> {
    let contract = Contract::stock(symbol.to_string()).build();
    let once = || async {
        let mut sub = ib.market_data(&contract).snapshot().subscribe().await?;
        while let Some(item) = sub.next().await {
            match item {
                Ok(SubscriptionItem::Data(TickTypes::SnapshotEnd)) => break,
                Ok(_) => {}
                Err(e) => return Err(anyhow!(e)),
            }
        }
        Ok::<_, anyhow::Error>(())
    };
    for _ in 0..50.min(n) {
        once().await?;
    }
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        once().await?;
        lat.push(micros(t.elapsed()));
    }
    Ok(summarize(lat))
}

fn line(label: &str, s: &Summary) {
    println!(
        "  {label:<44} n={:<7} p50={:>8.1} us  p99={:>8.1} us  mean={:>8.1} us",
        s.n, s.p50, s.p99, s.mean
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let host_bin = match &args.host_bin {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("executable directory")?
            .join("ibkr-mcp"),
    };
    println!("mcp-bench: host {}", host_bin.display());
    println!(
        "  sessions={} duration={}s samples={} cpus={}",
        args.sessions,
        args.duration,
        args.samples,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let host = Host::start(&host_bin, &args.host_args)?;
    let pid = host.pid();
    println!("  MCP endpoint {} (pid {pid})", host.url);

    // Idle RSS: connected to the simulator, no MCP session yet.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss = rss_kib(pid)?;

    // Where the host's simulator listens.
    let probe = session(&host.url).await?;
    let status = call(&probe, "ibkr_get_status", &None).await?;
    if status["is_connected"] != json!(true) {
        bail!("the host is not connected to its simulator: {status}");
    }
    let sim_addr = format!(
        "{}:{}",
        status["host"].as_str().unwrap_or("127.0.0.1"),
        status["port"].as_u64().context("status.port")?
    );
    probe.cancel().await.ok();
    println!("  simulator {sim_addr}; idle RSS {:.1} MiB", mib(idle_rss));

    let ib = IbClient::connect(&sim_addr, 917)
        .await
        .context("ibapi connect to the simulator")?;
    println!("\nsimulator round trip (direct ibapi client, sequential):");
    let sim_pos = direct_positions(&ib, args.samples).await?;
    line("reqPositions -> positionEnd", &sim_pos);
    let sim_quote = direct_snapshot(&ib, &args.symbol, args.samples).await?;
    line(
        &format!("reqMktData snapshot {} -> snapshotEnd", args.symbol),
        &sim_quote,
    );
    ib.disconnect().await;

    let quote_args = args_of(json!({ "symbol": args.symbol }));
    let cases: [(&'static str, Option<JsonObject>, Summary); 2] = [
        ("ibkr_get_positions", None, sim_pos),
        ("ibkr_get_quote", quote_args, sim_quote),
    ];
    let mut report = Vec::new();
    for (tool, targs, sim) in &cases {
        println!("\n{tool}:");
        let seq = sequential(&host.url, tool, targs, args.samples).await?;
        line("1 session, sequential (MCP round trip)", &seq);
        let added = seq.p50 - sim.p50;
        println!(
            "  added latency over the simulator: p50 {:.1} us ({:.3} ms)",
            added,
            added / 1000.0
        );
        let l = load(
            &host.url,
            pid,
            tool,
            targs,
            args.sessions,
            Duration::from_secs_f64(args.duration),
        )
        .await?;
        line(
            &format!("{} sessions, concurrent", args.sessions),
            &l.latency,
        );
        println!(
            "  throughput {:.0} calls/s, errors {}, peak RSS {:.1} MiB",
            l.calls_per_sec,
            l.errors,
            mib(l.peak_rss_kib)
        );
        report.push(json!({
            "tool": tool,
            "simulator_us": { "p50": sim.p50, "p99": sim.p99 },
            "sequential_us": { "p50": seq.p50, "p99": seq.p99 },
            "added_latency_p50_us": added,
            "load": {
                "sessions": args.sessions,
                "p50_us": l.latency.p50,
                "p99_us": l.latency.p99,
                "calls_per_sec": l.calls_per_sec,
                "errors": l.errors,
                "peak_rss_mib": mib(l.peak_rss_kib),
            },
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after_rss = rss_kib(pid)?;
    println!(
        "\nRSS: idle {:.1} MiB, peak under load {:.1} MiB, after load {:.1} MiB",
        mib(idle_rss),
        report
            .iter()
            .filter_map(|r| r["load"]["peak_rss_mib"].as_f64())
            .fold(0.0, f64::max),
        mib(after_rss)
    );
    if args.json {
        println!(
            "{}",
            json!({ "idle_rss_mib": mib(idle_rss), "after_rss_mib": mib(after_rss), "tools": report })
        );
    }
    drop(host);
    Ok(())
}
