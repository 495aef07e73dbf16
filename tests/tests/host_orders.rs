//! The order path through MCP: limit order lifecycle, cancel, guardrails, audit log.

use e2e::{TestEnv, call, call_err};
use serde_json::json;

#[tokio::test]
async fn limit_order_open_then_cancel() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    let o = call(&c, "ibkr_place_order", json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1, "orderType": "LMT", "lmtPrice": 1.0})).await?;
    let id = o["orderId"].as_i64().unwrap();
    assert!(
        ["PreSubmitted", "Submitted"].contains(&o["status"].as_str().unwrap()),
        "{o}"
    );
    let open = call(&c, "ibkr_get_open_orders", json!({})).await?;
    let found = open["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["orderId"].as_i64() == Some(id))
        .cloned();
    let found = found.unwrap_or_else(|| panic!("order {id} not open: {open}"));
    assert_eq!(found["orderType"], "LMT");
    assert_eq!(found["lmtPrice"], 1.0);
    let s = call(&c, "ibkr_cancel_order", json!({"orderId": id})).await?;
    assert_eq!(s["status"], "Cancelled", "{s}");
    let open = call(&c, "ibkr_get_open_orders", json!({})).await?;
    assert!(
        !open["orders"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["orderId"].as_i64() == Some(id) && x["status"] != "Cancelled")
    );
    let audit = env.host.broker.audit().recent();
    assert!(audit.iter().any(|r| r.event == "cancelled"));
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn guardrails_refuse_orders() -> anyhow::Result<()> {
    let env = TestEnv::start_with(|c| {
        c.guardrails.max_order_quantity = 100.0;
        c.guardrails.max_order_notional = 10_000.0;
        c.guardrails.allowed_sec_types = vec!["STK".into()];
    })
    .await?;
    let c = env.client().await?;
    let t = call_err(
        &c,
        "ibkr_place_order",
        json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 101}),
    )
    .await?;
    assert!(t.contains("max_order_quantity"), "{t}");
    // Market order valued at the quote: 99 x ~$200 > $10k.
    let t = call_err(
        &c,
        "ibkr_place_order",
        json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 99}),
    )
    .await?;
    assert!(t.contains("max_order_notional"), "{t}");
    let t = call_err(&c, "ibkr_place_order", json!({"symbol": "ES", "secType": "FUT", "exchange": "CME", "action": "BUY", "totalQuantity": 1})).await?;
    assert!(t.contains("allowed_sec_types"), "{t}");
    let refused = env
        .host
        .broker
        .audit()
        .recent()
        .iter()
        .filter(|r| r.event == "place_refused")
        .count();
    assert_eq!(refused, 3);
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn read_only_mode_refuses_all_order_actions() -> anyhow::Result<()> {
    let env = TestEnv::start_with(|c| c.guardrails.read_only = true).await?;
    let c = env.client().await?;
    let t = call_err(
        &c,
        "ibkr_place_order",
        json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1}),
    )
    .await?;
    assert!(t.contains("read_only"), "{t}");
    let t = call_err(&c, "ibkr_cancel_order", json!({"orderId": 1})).await?;
    assert!(t.contains("read_only"), "{t}");
    // Queries still work.
    call(&c, "ibkr_get_positions", json!({})).await?;
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn audit_log_file_is_hash_chained() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("audit.jsonl");
    let p = path.to_string_lossy().to_string();
    let env = TestEnv::start_with(|c| c.audit.path = p).await?;
    let c = env.client().await?;
    call(&c, "ibkr_place_order", json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1, "orderType": "LMT", "lmtPrice": 1.0})).await?;
    let _ = call_err(
        &c,
        "ibkr_place_order",
        json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1000000}),
    )
    .await?;
    let text = std::fs::read_to_string(&path)?;
    let n = ibkr_mcp::broker::audit::verify_chain(&text).map_err(anyhow::Error::msg)?;
    assert_eq!(n, 4, "{text}");
    assert!(text.contains("tool:ibkr_place_order"));
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}
