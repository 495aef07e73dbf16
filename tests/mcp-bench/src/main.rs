//! `mcp-bench`: drives N concurrent MCP sessions against `ibkr-mcp --sim` and reports latency,
//! throughput and memory.
//!
//! 1. Starts the host binary as a child process (`--sim --port 0`), reads its MCP URL from the
//!    line it prints once listening, and samples its idle RSS (`/proc/<pid>/status` VmRSS).
//! 2. Measures the simulator's own round trip for the same requests directly with `ibapi`
//!    (a second API client on the simulator the host is connected to; the port comes from
//!    `ibkr_get_status`): reqPositions until positionEnd, reqMktData snapshot until snapshotEnd.
//! 3. For `ibkr_get_positions` and the quote snapshot tool `ibkr_get_quote`, in each protocol era
//!    (`--era session`: 2025-11-25 `initialize` + `Mcp-Session-Id`; `--era stateless`: 2026-07-28
//!    per-request `_meta`, no session): one session calling sequentially (latency; the host's
//!    added latency = host p50 - simulator p50), then N sessions calling concurrently for a fixed
//!    time (throughput, latency under load, peak RSS, CPU of the host and of this load generator).
//!
//! The default client (`--client raw`) speaks MCP Streamable HTTP directly with `reqwest`: a real
//! handshake per session (`initialize` + `notifications/initialized` in the session era), then
//! pre-serialised `tools/call` bodies, reading the `application/json` or `text/event-stream`
//! reply and checking it is a successful JSON-RPC result for the request id. It exists because
//! the load generator shares the CPU with the host: 32 full rmcp clients cost more CPU than the
//! host does. `--client rmcp` uses rmcp's `StreamableHttpClientTransport` instead.
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
use clap::{Parser, ValueEnum};
use ibapi::prelude::StreamExt;
use ibapi::{
    Client as IbClient, accounts::PositionUpdate, contracts::Contract,
    market_data::realtime::TickTypes, subscriptions::SubscriptionItem,
};
use rmcp::{
    ServiceExt,
    model::{CallToolRequestParams, JsonObject, ProtocolVersion},
    service::{ClientLifecycleMode, ClientServiceExt, RoleClient, RunningService},
    transport::StreamableHttpClientTransport,
};
use serde_json::{Value, json};

/// The MCP client the load generator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ClientKind {
    /// Raw Streamable HTTP with reqwest and pre-serialised requests (light on CPU).
    Raw,
    /// rmcp's `StreamableHttpClientTransport` (a full MCP client per session).
    Rmcp,
}

/// The MCP protocol era of the sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Era {
    /// 2025-11-25: `initialize` handshake, `Mcp-Session-Id`.
    Session,
    /// 2026-07-28: no session, per-request `_meta`.
    Stateless,
}

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
    /// MCP client of the load generator.
    #[arg(long, value_enum, default_value = "raw")]
    client: ClientKind,
    /// Protocol eras to measure (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "session,stateless"
    )]
    era: Vec<Era>,
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

const SESSION_PROTOCOL: &str = "2025-11-25";
const STATELESS_PROTOCOL: &str = "2026-07-28";
const ACCEPT: &str = "application/json, text/event-stream";

/// A raw Streamable HTTP MCP session (see the module docs).
struct RawSession {
    http: reqwest::Client,
    url: String,
    era: Era,
    /// `Mcp-Session-Id` (session era).
    session_id: Option<String>,
    next_id: AtomicU64,
}

impl RawSession {
    async fn open(url: &str, era: Era) -> Result<Self> {
        let http = reqwest::Client::builder()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(1)
            .build()?;
        let mut s = RawSession {
            http,
            url: url.to_string(),
            era,
            session_id: None,
            next_id: AtomicU64::new(1),
        };
        if era == Era::Session {
            let body = json!({
                "jsonrpc": "2.0",
                "id": 0,
                "method": "initialize",
                "params": {
                    "protocolVersion": SESSION_PROTOCOL,
                    "capabilities": {},
                    "clientInfo": { "name": "mcp-bench", "version": env!("CARGO_PKG_VERSION") },
                },
            });
            let resp = s
                .http
                .post(&s.url)
                .header("content-type", "application/json")
                .header("accept", ACCEPT)
                .body(body.to_string())
                .send()
                .await?;
            let sid = resp
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .context("initialize: no Mcp-Session-Id")?;
            let ct = content_type(&resp);
            let bytes = resp.bytes().await?;
            let r = jsonrpc_reply(&ct, &bytes, 0)?;
            if r.get("result").is_none() {
                bail!("initialize failed: {r}");
            }
            s.session_id = Some(sid);
            let resp = s
                .request()
                .body(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
                .send()
                .await?;
            if !resp.status().is_success() {
                bail!("notifications/initialized: HTTP {}", resp.status());
            }
        }
        Ok(s)
    }

    fn request(&self) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", ACCEPT);
        match &self.session_id {
            Some(sid) => {
                r = r
                    .header("mcp-session-id", sid)
                    .header("mcp-protocol-version", SESSION_PROTOCOL)
            }
            None => r = r.header("mcp-protocol-version", STATELESS_PROTOCOL),
        }
        r
    }

    /// The `"method":...,"params":...}` tail of a `tools/call` body (everything after the id).
    fn call_tail(&self, tool: &str, args: &Option<JsonObject>) -> String {
        let mut params = json!({ "name": tool, "arguments": args.clone().unwrap_or_default() });
        if self.era == Era::Stateless {
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": STATELESS_PROTOCOL,
                "io.modelcontextprotocol/clientInfo": { "name": "mcp-bench", "version": env!("CARGO_PKG_VERSION") },
                "io.modelcontextprotocol/clientCapabilities": {},
            });
        }
        let tail = json!({ "method": "tools/call", "params": params }).to_string();
        tail[1..].to_string()
    }

    async fn call(&self, tool: &str, tail: &str) -> Result<Value> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = format!(r#"{{"jsonrpc":"2.0","id":{id},{tail}"#);
        let mut req = self.request().body(body);
        if self.era == Era::Stateless {
            req = req
                .header("mcp-method", "tools/call")
                .header("mcp-name", tool);
        }
        let resp = req.send().await?;
        let status = resp.status();
        let ct = content_type(&resp);
        let bytes = resp.bytes().await?;
        if !status.is_success() {
            bail!("{tool}: HTTP {status}: {}", String::from_utf8_lossy(&bytes));
        }
        let mut r = jsonrpc_reply(&ct, &bytes, id)?;
        let Some(result) = r.get_mut("result") else {
            bail!("{tool}: JSON-RPC error: {r}");
        };
        if result["isError"] == json!(true) {
            bail!("{tool} returned a tool error: {}", result["content"]);
        }
        Ok(result["structuredContent"].take())
    }

    async fn close(self) {
        if let Some(sid) = &self.session_id {
            let _ = self
                .http
                .delete(&self.url)
                .header("mcp-session-id", sid)
                .header("mcp-protocol-version", SESSION_PROTOCOL)
                .send()
                .await;
        }
    }
}

fn content_type(resp: &reqwest::Response) -> String {
    resp.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The JSON-RPC response with `id` from a JSON or SSE body.
fn jsonrpc_reply(content_type: &str, body: &[u8], id: u64) -> Result<Value> {
    if content_type.starts_with("application/json") {
        let v: Value = serde_json::from_slice(body)?;
        if v["id"] != json!(id) {
            bail!("reply for id {} instead of {id}", v["id"]);
        }
        return Ok(v);
    }
    if !content_type.starts_with("text/event-stream") {
        bail!("unexpected content type {content_type:?}");
    }
    let text = std::str::from_utf8(body)?;
    // Events are separated by blank lines; `data:` lines of one event are joined with '\n'.
    for event in text.split("\n\n") {
        let data: Vec<&str> = event
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(|d| d.strip_prefix(' ').unwrap_or(d))
            .collect();
        if data.is_empty() || data.iter().all(|d| d.is_empty()) {
            continue;
        }
        let v: Value = serde_json::from_str(&data.join("\n"))?;
        if v["id"] == json!(id) && (v.get("result").is_some() || v.get("error").is_some()) {
            return Ok(v);
        }
    }
    bail!("no JSON-RPC reply for id {id} in the event stream")
}

type RmcpSession = RunningService<RoleClient, ()>;

/// One MCP session of the chosen client and era.
enum Session {
    Raw(RawSession),
    Rmcp(RmcpSession),
}

/// A prepared call: the tool and its arguments (pre-serialised for the raw client).
struct Prepared {
    tool: &'static str,
    args: Option<JsonObject>,
    tail: String,
}

impl Session {
    async fn open(url: &str, client: ClientKind, era: Era) -> Result<Self> {
        match client {
            ClientKind::Raw => Ok(Session::Raw(RawSession::open(url, era).await?)),
            ClientKind::Rmcp => {
                let transport = StreamableHttpClientTransport::from_uri(url.to_string());
                let s = match era {
                    Era::Session => ().serve(transport).await.context("MCP initialize")?,
                    Era::Stateless => ()
                        .serve_with_lifecycle(
                            transport,
                            ClientLifecycleMode::Discover {
                                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
                            },
                        )
                        .await
                        .context("MCP server/discover")?,
                };
                Ok(Session::Rmcp(s))
            }
        }
    }

    fn prepare(&self, tool: &'static str, args: &Option<JsonObject>) -> Prepared {
        let tail = match self {
            Session::Raw(r) => r.call_tail(tool, args),
            Session::Rmcp(_) => String::new(),
        };
        Prepared {
            tool,
            args: args.clone(),
            tail,
        }
    }

    async fn call(&self, p: &Prepared) -> Result<Value> {
        match self {
            Session::Raw(r) => r.call(p.tool, &p.tail).await,
            Session::Rmcp(s) => {
                let mut params = CallToolRequestParams::new(p.tool);
                params.arguments = p.args.clone();
                let r = s.call_tool(params).await?;
                if r.is_error == Some(true) {
                    bail!("{} returned a tool error: {:?}", p.tool, r.content);
                }
                Ok(r.structured_content.unwrap_or(Value::Null))
            }
        }
    }

    async fn close(self) {
        match self {
            Session::Raw(r) => r.close().await,
            Session::Rmcp(s) => {
                s.cancel().await.ok();
            }
        }
    }
}

fn args_of(v: Value) -> Option<JsonObject> {
    match v {
        Value::Object(m) if !m.is_empty() => Some(m),
        _ => None,
    }
}

/// CPU time (user + system) of a process, in seconds (`/proc/<pid>/stat`, USER_HZ = 100).
fn cpu_secs(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (ticks(11) + ticks(12)) as f64 / 100.0
}

/// One session, sequential calls.
async fn sequential(
    url: &str,
    mode: (ClientKind, Era),
    tool: &'static str,
    args: &Option<JsonObject>,
    n: usize,
) -> Result<Summary> {
    let s = Session::open(url, mode.0, mode.1).await?;
    let p = s.prepare(tool, args);
    for _ in 0..50.min(n) {
        s.call(&p).await?;
    }
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        s.call(&p).await?;
        lat.push(micros(t.elapsed()));
    }
    s.close().await;
    Ok(summarize(lat))
}

struct Load {
    latency: Summary,
    calls_per_sec: f64,
    errors: u64,
    peak_rss_kib: u64,
    /// CPU use during the load phase, in cores (1.0 = one core busy).
    host_cores: f64,
    client_cores: f64,
}

/// N sessions calling in a loop for `duration`.
async fn load(
    url: &str,
    pid: u32,
    mode: (ClientKind, Era),
    tool: &'static str,
    args: &Option<JsonObject>,
    sessions: usize,
    duration: Duration,
) -> Result<Load> {
    let mut clients = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        let s = Session::open(url, mode.0, mode.1).await?;
        let p = s.prepare(tool, args);
        clients.push(Arc::new((s, p)));
    }
    // Warm every session up.
    for c in &clients {
        c.0.call(&c.1).await?;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let host_pid = pid.to_string();
    let (host_cpu0, client_cpu0) = (cpu_secs(&host_pid), cpu_secs("self"));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(sessions);
    for c in &clients {
        let (c, stop, errors, first_error) =
            (c.clone(), stop.clone(), errors.clone(), first_error.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(65_536);
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                match c.0.call(&c.1).await {
                    Ok(_) => lat.push(micros(t.elapsed())),
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error
                            .lock()
                            .unwrap()
                            .get_or_insert_with(|| format!("{e:#}"));
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
    let host_cores = (cpu_secs(&host_pid) - host_cpu0) / elapsed;
    let client_cores = (cpu_secs("self") - client_cpu0) / elapsed;
    peak = peak.max(rss_kib(pid).unwrap_or(0));
    for c in clients {
        if let Ok((s, _)) = Arc::try_unwrap(c) {
            s.close().await;
        }
    }
    if let Some(e) = first_error.lock().unwrap().take() {
        eprintln!("  first error under load: {e}");
    }
    let n = all.len();
    Ok(Load {
        latency: summarize(all),
        calls_per_sec: n as f64 / elapsed,
        errors: errors.load(Ordering::Relaxed),
        peak_rss_kib: peak,
        host_cores,
        client_cores,
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
    let probe = Session::open(&host.url, args.client, Era::Session).await?;
    let status = probe.call(&probe.prepare("ibkr_get_status", &None)).await?;
    if status["is_connected"] != json!(true) {
        bail!("the host is not connected to its simulator: {status}");
    }
    let sim_addr = format!(
        "{}:{}",
        status["host"].as_str().unwrap_or("127.0.0.1"),
        status["port"].as_u64().context("status.port")?
    );
    probe.close().await;
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
    for &era in &args.era {
        let mode = (args.client, era);
        for (tool, targs, sim) in &cases {
            println!("\n{tool} ({era:?} era, {:?} client):", args.client);
            let seq = sequential(&host.url, mode, tool, targs, args.samples).await?;
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
                mode,
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
            println!(
                "  CPU under load: host (incl. in-process simulator) {:.2} cores, load generator {:.2} cores",
                l.host_cores, l.client_cores
            );
            report.push(json!({
                "tool": tool,
                "era": format!("{era:?}").to_lowercase(),
                "client": format!("{:?}", args.client).to_lowercase(),
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
                    "host_cpu_cores": l.host_cores,
                    "client_cpu_cores": l.client_cores,
                },
            }));
        }
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
