//! The `tws-sim` binary end to end: start on ephemeral ports, serve ibapi and the admin API,
//! stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn binary_serves_ibapi_and_admin_then_stops_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tws-sim"))
        .args([
            "--port",
            "0",
            "--admin-port",
            "0",
            "--seed",
            "7",
            "--speed",
            "1",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tws-sim");
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    });
    let line = tokio::time::timeout(Duration::from_secs(30), line)
        .await
        .expect("ready line")
        .unwrap();
    // "tws-sim listening on 127.0.0.1:P admin http://127.0.0.1:Q"
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&words[..3], &["tws-sim", "listening", "on"], "{line}");
    let addr = words[3].to_string();
    let admin = words[5].trim_start_matches("http://").to_string();

    let client = tokio::time::timeout(Duration::from_secs(20), ibapi::Client::connect(&addr, 1))
        .await
        .unwrap()
        .unwrap();
    let accounts = client.managed_accounts().await.unwrap();
    assert_eq!(accounts, vec!["DU1234567".to_string()]);

    let mut s = tokio::net::TcpStream::connect(&admin).await.unwrap();
    s.write_all(b"GET /state HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(resp.contains("\"clients\""));
    client.disconnect().await;

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "exit status {status:?}");
}
