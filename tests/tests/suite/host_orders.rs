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

/// Poll the simulator until `pred` holds for its order list (up to 5 s).
async fn sim_orders_until(
    env: &TestEnv,
    pred: impl Fn(&[e2e::tws_sim::world::OrderInfo]) -> bool,
) -> Vec<e2e::tws_sim::world::OrderInfo> {
    let mut orders = env.sim.admin().orders();
    for _ in 0..50 {
        if pred(&orders) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        orders = env.sim.admin().orders();
    }
    orders
}

#[tokio::test]
async fn bracket_order_is_three_linked_orders() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    // A limit entry far below the market: the parent works, the children wait for its fill.
    let b = call(
        &c,
        "ibkr_place_bracket_order",
        json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 10, "entryPrice": 1.0,
               "takeProfit": 2.0, "stopLoss": 0.5, "tif": "GTC"}),
    )
    .await?;
    let id = |k: &str| b[k]["orderId"].as_i64().unwrap() as i32;
    let (parent, tp, sl) = (id("parent"), id("takeProfit"), id("stopLoss"));
    assert!(
        parent > 0 && tp != parent && sl != parent && sl != tp,
        "{b}"
    );
    let oca = b["ocaGroup"].as_str().unwrap().to_string();
    assert!(!oca.is_empty(), "{b}");

    let orders = sim_orders_until(&env, |o| {
        o.iter()
            .filter(|x| [parent, tp, sl].contains(&x.order_id))
            .count()
            == 3
    })
    .await;
    let find = |id: i32| {
        orders
            .iter()
            .find(|x| x.order_id == id)
            .cloned()
            .unwrap_or_else(|| panic!("order {id} not in the simulator: {orders:?}"))
    };
    let (p, t, s) = (find(parent), find(tp), find(sl));
    assert_eq!(
        (p.parent_id, p.action.as_str(), p.order_type.as_str()),
        (0, "BUY", "LMT"),
        "{p:?}"
    );
    assert_eq!(p.lmt_price, Some(1.0));
    assert_eq!(p.status, "Submitted", "{p:?}");
    assert!(
        p.oca_group.is_empty(),
        "the parent is not in the OCA group: {p:?}"
    );
    assert_eq!((t.order_type.as_str(), t.lmt_price), ("LMT", Some(2.0)));
    assert_eq!((s.order_type.as_str(), s.aux_price), ("STP", Some(0.5)));
    for x in [&t, &s] {
        assert_eq!(x.parent_id, parent, "{x:?}");
        assert_eq!(x.action, "SELL", "{x:?}");
        assert_eq!(x.quantity, 10.0, "{x:?}");
        assert_eq!(x.tif, "GTC", "{x:?}");
        assert_eq!(x.oca_group, oca, "{x:?}");
        assert_eq!(x.status, "PreSubmitted", "waiting for the parent: {x:?}");
    }
    let audit = env.host.broker.audit().recent();
    let placed = audit
        .iter()
        .filter(|r| r.event == "placed" && r.origin == "tool:ibkr_place_bracket_order")
        .count();
    assert_eq!(placed, 3, "{audit:?}");

    // Cancelling the parent takes the children with it.
    call(&c, "ibkr_cancel_order", json!({"orderId": parent})).await?;
    let orders = sim_orders_until(&env, |o| {
        o.iter()
            .filter(|x| [parent, tp, sl].contains(&x.order_id))
            .all(|x| x.status == "Cancelled")
    })
    .await;
    for x in orders
        .iter()
        .filter(|x| [parent, tp, sl].contains(&x.order_id))
    {
        assert_eq!(x.status, "Cancelled", "{x:?}");
    }
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn bracket_orders_are_validated_and_guarded_per_leg() -> anyhow::Result<()> {
    let env = TestEnv::start_with(|c| {
        c.guardrails.allowed_order_types = vec!["MKT".into(), "LMT".into()];
    })
    .await?;
    let c = env.client().await?;
    // BUY: the stop must be below the entry.
    let t = call_err(
        &c,
        "ibkr_place_bracket_order",
        json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1, "entryPrice": 100.0,
               "takeProfit": 110.0, "stopLoss": 105.0}),
    )
    .await?;
    assert!(
        t.contains("stopLoss") && t.contains("stop < entry < take-profit"),
        "{t}"
    );
    // SELL: mirrored, the take-profit must be below the entry.
    let t = call_err(
        &c,
        "ibkr_place_bracket_order",
        json!({"symbol": "AAPL", "action": "SELL", "totalQuantity": 1, "entryPrice": 100.0,
               "takeProfit": 110.0, "stopLoss": 105.0}),
    )
    .await?;
    assert!(
        t.contains("takeProfit") && t.contains("take-profit < entry < stop"),
        "{t}"
    );
    // Guardrails apply to every leg: STP is not allowed here, so nothing is placed.
    let t = call_err(
        &c,
        "ibkr_place_bracket_order",
        json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1, "entryPrice": 1.0,
               "takeProfit": 2.0, "stopLoss": 0.5}),
    )
    .await?;
    assert!(
        t.contains("allowed_order_types") && t.contains("stopLoss leg"),
        "{t}"
    );
    assert!(
        env.sim.admin().orders().is_empty(),
        "{:?}",
        env.sim.admin().orders()
    );
    let audit = env.host.broker.audit().recent();
    let refused = audit.iter().filter(|r| r.event == "place_refused").count();
    assert_eq!(refused, 9, "three legs refused per bracket: {audit:?}");
    assert!(!audit.iter().any(|r| r.event == "placed"));
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn rejected_bracket_leg_withdraws_the_others() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    // The stop price is off the $0.01 tick: TWS rejects the stop-loss child (code 110), so the
    // held parent and take-profit must not stay behind.
    let t = call_err(
        &c,
        "ibkr_place_bracket_order",
        json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 10, "entryPrice": 10.0,
               "takeProfit": 20.0, "stopLoss": 5.003}),
    )
    .await?;
    assert!(t.contains("110") && t.contains("stopLoss leg"), "{t}");
    let orders = sim_orders_until(&env, |o| {
        o.iter()
            .all(|x| !["Submitted", "PreSubmitted"].contains(&x.status.as_str()))
    })
    .await;
    assert!(
        orders
            .iter()
            .all(|x| !["Submitted", "PreSubmitted"].contains(&x.status.as_str())),
        "nothing left working: {orders:?}"
    );
    let audit = env.host.broker.audit().recent();
    assert!(audit.iter().any(|r| r.event == "place_failed"), "{audit:?}");
    // The held parent (and with it the take-profit) was withdrawn through the audited cancel
    // path.
    let cancelled: Vec<_> = audit.iter().filter(|r| r.event == "cancelled").collect();
    assert_eq!(cancelled.len(), 1, "{audit:?}");
    assert_eq!(cancelled[0].details["status"]["parentId"], 0, "{audit:?}");
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}
