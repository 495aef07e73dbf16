//! Stdio transport: spawn `ibkr-mcp --stdio --sim` and speak MCP over its stdin/stdout with
//! rmcp's child-process transport.

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};

#[tokio::test]
async fn stdio_sim_serves_tools() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let transport = TokioChildProcess::new(
        tokio::process::Command::new(env!("CARGO_BIN_EXE_ibkr-mcp")).configure(|cmd| {
            cmd.arg("--stdio")
                .arg("--sim")
                .arg("--audit-log")
                .arg("")
                .arg("--env-file")
                .arg(dir.path().join("none.env"))
                .current_dir(dir.path())
                .env("LOG_LEVEL", "warn");
        }),
    )?;
    let client = ().serve(transport).await?;
    let info = client.peer_info().expect("server info");
    assert_eq!(info.server_info.as_ref().expect("server").name, "ibkr-mcp");
    let tools = client.list_all_tools().await?;
    assert!(tools.iter().any(|t| t.name == "ibkr_get_positions"));
    // The in-process paper gateway is connected shortly after start: until then the tool
    // answers with an error, so ask again until it succeeds (with a deadline).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let positions = loop {
        let r = client
            .call_tool(CallToolRequestParams::new("ibkr_get_positions"))
            .await?;
        if r.is_error != Some(true) {
            break r
                .structured_content
                .expect("positions as structured content");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "positions over stdio still failing after 30 s: {:?}",
            r.content
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(positions["count"].as_u64().unwrap() > 0, "{positions}");
    client.cancel().await?;
    Ok(())
}
