//! Shutdown: SIGINT (Ctrl-C) and SIGTERM (`docker stop`) stop `ibkr-mcp --sim` cleanly (exit status
//! 0) and promptly, even while an MCP client holds a session and a streaming tool call is in flight
//! (graceful, but bounded by `http::SHUTDOWN_GRACE`).

// MCP logging is deprecated by SEP-2577 but is what the stream tool sends (2025-11-25).
#![allow(deprecated)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::model::{CallToolRequestParams, LoggingMessageNotificationParam};
use rmcp::service::NotificationContext;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientHandler, RoleClient, ServiceExt};

/// A client that tells the test when the first log notification arrives (the stream tool
/// sends one once its subscription is open).
#[derive(Clone, Default)]
struct FirstLog(Arc<tokio::sync::Notify>);

impl ClientHandler for FirstLog {
    async fn on_logging_message(
        &self,
        _params: LoggingMessageNotificationParam,
        _ctx: NotificationContext<RoleClient>,
    ) {
        self.0.notify_one();
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_stops_the_host_with_a_session_and_a_stream_in_flight() {
    stops_cleanly_on("-INT").await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_host_with_a_session_and_a_stream_in_flight() {
    stops_cleanly_on("-TERM").await;
}

#[cfg(unix)]
async fn stops_cleanly_on(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ibkr-mcp"))
        .current_dir(dir.path())
        .env_remove("TWS_HOST")
        .env_remove("TWS_PORT")
        .env_remove("SERVER_PORT")
        .env_remove("MCP_BEARER_TOKENS")
        .args(["--sim", "--host", "127.0.0.1", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let start = Instant::now();
    let url = loop {
        let left = Duration::from_secs(90).saturating_sub(start.elapsed());
        let line = match rx.recv_timeout(left) {
            Ok(l) => l,
            Err(e) => {
                let _ = child.kill();
                panic!("host never reported its MCP URL: {e}");
            }
        };
        if let Some(i) = line.find("listening: MCP ") {
            let rest = &line[i + "listening: MCP ".len()..];
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };

    let logged = FirstLog::default();
    let streaming = logged.0.clone();
    let client = logged
        .serve(StreamableHttpClientTransport::from_uri(url))
        .await
        .expect("MCP initialize");
    let peer = client.peer().clone();
    // A 60-second stream keeps an HTTP request (and its SSE response) open across the shutdown.
    let stream = tokio::spawn(async move {
        let mut p = CallToolRequestParams::new("ibkr_stream_market_data");
        p.arguments = serde_json::json!({ "symbol": "SPY", "duration_seconds": 60 })
            .as_object()
            .cloned();
        peer.call_tool(p).await
    });
    // In flight once its first log notification ("streaming market data for SPY") arrives.
    tokio::time::timeout(Duration::from_secs(60), streaming.notified())
        .await
        .expect("no log notification from the stream within 60 s");
    assert!(
        !stream.is_finished(),
        "the stream ended early: {:?}",
        stream.await
    );

    let sent = Instant::now();
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if sent.elapsed() > Duration::from_secs(45) {
            let _ = child.kill();
            panic!("host still running 45 s after {signal} with a session open");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let took = sent.elapsed();
    // The bound is the feature: the host stops after its grace period (3 s), it does not wait
    // for the 60 s stream. Half the stream's length leaves a generous margin.
    assert!(
        took < Duration::from_secs(30),
        "shutdown took {took:?} (exit {exit:?})"
    );
    assert!(exit.success(), "{signal}: not a clean shutdown: {exit:?}");
    stream.abort();
    drop(client);
}
