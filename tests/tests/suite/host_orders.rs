//! The order path through MCP (real rmcp client -> host -> simulator): limit, market and stop
//! orders, cancel, guardrails, read-only mode, brackets and the audit log. Each test checks
//! the tool's structured answer, the simulator's order state and the host's audit records.

use crate::orders_common::{account, audit, client_id, events, sim_order, sim_orders_until};

use e2e::ibkr_mcp::broker::orders::bracket_legs;
use e2e::ibkr_mcp::broker::{
    BracketRequest, Broker, ContractSpec, OrderOrigin, OrderRequest, Side,
};
use e2e::ibkr_mcp::config::GuardrailsConfig;
use e2e::{TestEnv, call, call_err};
use serde_json::{Value, json};

/// The request the `ibkr_place_order` tool builds for an AAPL stock order.
fn aapl(
    action: Side,
    order_type: &str,
    qty: f64,
    lmt: Option<f64>,
    aux: Option<f64>,
) -> OrderRequest {
    OrderRequest {
        contract: ContractSpec::new("AAPL", "STK", "SMART", "USD"),
        action,
        total_quantity: qty,
        order_type: order_type.into(),
        lmt_price: lmt,
        aux_price: aux,
        tif: "DAY".into(),
        account: String::new(),
        order_ref: "ibkr-mcp".into(),
    }
}

/// The `ibkr_place_order` answer for a fresh, unfilled order.
fn placed_answer(id: i64, status: &str, r: &OrderRequest, perm_id: i64) -> Value {
    json!({
        "orderId": id,
        "status": status,
        "symbol": r.contract.symbol,
        "action": r.action.as_str(),
        "quantity": r.total_quantity,
        "orderType": r.order_type,
        "filled": 0.0,
        "remaining": r.total_quantity,
        "avgFillPrice": 0.0,
        "permId": perm_id,
    })
}

/// An order status record (tool answer of cancel / modify, audit `status`).
fn status(
    env: &TestEnv,
    id: i64,
    status: &str,
    remaining: f64,
    perm_id: i64,
    parent: i64,
) -> Value {
    json!({
        "orderId": id,
        "status": status,
        "filled": 0.0,
        "remaining": remaining,
        "avgFillPrice": 0.0,
        "lastFillPrice": 0.0,
        "permId": perm_id,
        "parentId": parent,
        "clientId": client_id(env),
        "whyHeld": "",
    })
}

#[tokio::test]
async fn limit_order_open_then_cancel() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    let o = call(&c, "ibkr_place_order", json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 2, "orderType": "lmt", "lmtPrice": 1.0})).await?;
    let id = o["orderId"].as_i64().unwrap();
    let s = sim_order(&env, id);
    let req = aapl(Side::Buy, "LMT", 2.0, Some(1.0), None);
    assert_eq!(o, placed_answer(id, "Submitted", &req, s.perm_id), "{o}");
    assert!(s.perm_id > 0, "{s:?}");
    assert_eq!(
        (
            s.symbol.as_str(),
            s.sec_type.as_str(),
            s.action.as_str(),
            s.order_type.as_str()
        ),
        ("AAPL", "STK", "BUY", "LMT"),
        "{s:?}"
    );
    assert_eq!(
        (s.quantity, s.lmt_price, s.aux_price, s.tif.as_str()),
        (2.0, Some(1.0), None, "DAY"),
        "{s:?}"
    );
    assert_eq!(
        (s.status.as_str(), s.filled, s.remaining),
        ("Submitted", 0.0, 2.0)
    );
    assert_eq!((s.parent_id, s.account.clone()), (0, account(&env)));

    let open = call(&c, "ibkr_get_open_orders", json!({})).await?;
    assert_eq!(open["count"], 1, "{open}");
    let found = &open["orders"][0];
    assert_eq!(found["orderId"].as_i64(), Some(id), "{open}");
    assert_eq!(found["orderType"], "LMT");
    assert_eq!(found["lmtPrice"], 1.0);
    assert_eq!(found["totalQuantity"], 2.0);
    assert_eq!(found["status"], "Submitted");
    assert_eq!(found["orderRef"], "ibkr-mcp");

    let x = call(&c, "ibkr_cancel_order", json!({"orderId": id})).await?;
    assert_eq!(x, status(&env, id, "Cancelled", 0.0, s.perm_id, 0), "{x}");
    assert_eq!(sim_order(&env, id).status, "Cancelled");
    let open = call(&c, "ibkr_get_open_orders", json!({})).await?;
    assert_eq!(open["count"], 0, "{open}");

    let a = audit(&env);
    let got: Vec<_> = a
        .iter()
        .map(|r| (r.event.as_str(), r.origin.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("place_requested", "tool:ibkr_place_order"),
            ("placed", "tool:ibkr_place_order"),
            ("cancel_requested", "tool:ibkr_cancel_order"),
            ("cancelled", "tool:ibkr_cancel_order"),
        ]
    );
    assert_eq!(a[0].details, json!({ "request": req }));
    assert_eq!(
        a[1].details,
        json!({ "request": req, "status": status(&env, id, "Submitted", 2.0, s.perm_id, 0) })
    );
    assert_eq!(a[2].details, json!({ "orderId": id }));
    assert_eq!(a[3].details, json!({ "orderId": id, "status": x }));
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn market_order_fills_in_the_simulator() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    let held_before = env
        .sim
        .admin()
        .positions()
        .iter()
        .filter(|p| p.symbol == "AAPL")
        .map(|p| p.position)
        .sum::<f64>();
    let o = call(
        &c,
        "ibkr_place_order",
        json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 3}),
    )
    .await?;
    let id = o["orderId"].as_i64().unwrap();
    let req = aapl(Side::Buy, "MKT", 3.0, None, None);
    // The first status TWS reports for a market order is its submission; the fill follows.
    let s = sim_orders_until(&env, "the market order's fill", |os| {
        os.iter()
            .any(|x| i64::from(x.order_id) == id && x.status == "Filled")
    })
    .await?;
    let s = s.iter().find(|x| i64::from(x.order_id) == id).unwrap();
    assert_eq!(o, placed_answer(id, "Submitted", &req, s.perm_id), "{o}");
    assert_eq!((s.order_type.as_str(), s.quantity), ("MKT", 3.0), "{s:?}");
    assert_eq!((s.filled, s.remaining), (3.0, 0.0), "{s:?}");
    assert!(s.avg_fill_price > 0.0, "{s:?}");
    let held_after = env
        .sim
        .admin()
        .positions()
        .iter()
        .filter(|p| p.symbol == "AAPL")
        .map(|p| p.position)
        .sum::<f64>();
    assert_eq!(held_after, held_before + 3.0);
    assert_eq!(events(&env), ["place_requested", "placed"]);
    let a = audit(&env);
    assert_eq!(a[1].details["request"], json!(req));
    assert_eq!(a[1].details["status"]["orderId"].as_i64(), Some(id));
    assert_eq!(a[1].details["status"]["status"], "Submitted");
    // A filled order cannot be cancelled: TWS's refusal is the tool's error, audited.
    let t = call_err(&c, "ibkr_cancel_order", json!({"orderId": id})).await?;
    assert!(t.starts_with("TWS error 161: "), "{t}");
    assert_eq!(
        events(&env),
        [
            "place_requested",
            "placed",
            "cancel_requested",
            "cancel_failed"
        ]
    );
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn stop_order_waits_untriggered() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    // A buy stop far above the market does not trigger.
    let o = call(&c, "ibkr_place_order", json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 4, "orderType": "STP", "auxPrice": 900.0, "tif": "GTC"})).await?;
    let id = o["orderId"].as_i64().unwrap();
    let s = sim_order(&env, id);
    let mut req = aapl(Side::Buy, "STP", 4.0, None, Some(900.0));
    req.tif = "GTC".into();
    assert_eq!(o, placed_answer(id, "PreSubmitted", &req, s.perm_id), "{o}");
    assert_eq!(
        (
            s.order_type.as_str(),
            s.aux_price,
            s.lmt_price,
            s.tif.as_str(),
            s.status.as_str()
        ),
        ("STP", Some(900.0), None, "GTC", "PreSubmitted"),
        "{s:?}"
    );
    assert_eq!(events(&env), ["place_requested", "placed"]);
    assert_eq!(audit(&env)[0].details, json!({ "request": req }));
    call(&c, "ibkr_cancel_order", json!({"orderId": id})).await?;
    assert_eq!(sim_order(&env, id).status, "Cancelled");
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
        c.guardrails.allowed_order_types = vec!["MKT".into(), "LMT".into()];
    })
    .await?;
    let c = env.client().await?;
    let t = call_err(
        &c,
        "ibkr_place_order",
        json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 101}),
    )
    .await?;
    assert_eq!(
        t,
        "order refused by guardrail `max_order_quantity`: quantity 101 exceeds the maximum 100"
    );
    // Market order valued at the quote: 99 x ~$270 > $10k.
    let t = call_err(
        &c,
        "ibkr_place_order",
        json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 99}),
    )
    .await?;
    let rest = t
        .strip_prefix("order refused by guardrail `max_order_notional`: notional ")
        .unwrap_or_else(|| panic!("{t}"));
    let (notional, rest) = rest.split_once(" (99 x ").unwrap_or_else(|| panic!("{t}"));
    let (price, rest) = rest.split_once(')').unwrap_or_else(|| panic!("{t}"));
    assert_eq!(rest, " exceeds the maximum 10000.00", "{t}");
    let (notional, price): (f64, f64) = (notional.parse()?, price.parse()?);
    assert!(price > 101.0, "priced at the quote: {t}");
    assert!((notional - 99.0 * price).abs() < 0.01, "{t}");
    let t = call_err(&c, "ibkr_place_order", json!({"symbol": "ES", "secType": "FUT", "exchange": "CME", "action": "BUY", "totalQuantity": 1})).await?;
    assert_eq!(
        t,
        "order refused by guardrail `allowed_sec_types`: secType FUT is not allowed (allowed: STK)"
    );
    let t = call_err(&c, "ibkr_place_order", json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1, "orderType": "STP", "auxPrice": 900.0})).await?;
    assert_eq!(
        t,
        "order refused by guardrail `allowed_order_types`: orderType STP is not allowed \
         (allowed: MKT, LMT)"
    );
    assert!(
        env.sim.admin().orders().is_empty(),
        "{:?}",
        env.sim.admin().orders()
    );
    let a = audit(&env);
    assert_eq!(a.len(), 8, "{a:#?}");
    for pair in a.chunks(2) {
        assert_eq!(
            (pair[0].event.as_str(), pair[1].event.as_str()),
            ("place_requested", "place_refused")
        );
        assert_eq!(pair[1].details["request"], pair[0].details["request"]);
        assert!(
            pair[1].details["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("order refused by guardrail `")),
            "{:?}",
            pair[1]
        );
    }
    // Within the limits an order goes through.
    let o = call(&c, "ibkr_place_order", json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1, "orderType": "LMT", "lmtPrice": 100.0})).await?;
    assert_eq!(o["status"], "Submitted", "{o}");
    assert_eq!(env.sim.admin().orders().len(), 1);
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn read_only_mode_refuses_all_order_actions() -> anyhow::Result<()> {
    let env = TestEnv::start_with(|c| c.guardrails.read_only = true).await?;
    // A working order of the host's client id, placed while the host is disconnected by a
    // second (read-write) connection with the same client id.
    env.host.broker.disconnect().await;
    let mut tws = env.config.tws.clone();
    tws.connect_on_start = false;
    tws.client_id = client_id(&env);
    let rw = Broker::new(
        tws,
        GuardrailsConfig::default(),
        e2e::ibkr_mcp::broker::audit::AuditLog::in_memory(),
    );
    rw.connect(None).await?;
    let origin = OrderOrigin::Tool {
        tool: "setup".into(),
    };
    let working = rw
        .place_order(&aapl(Side::Buy, "LMT", 1.0, Some(1.0), None), &origin)
        .await?;
    rw.shutdown().await;
    env.host.broker.connect(None).await?;
    let id = i64::from(working.order_id);
    assert_eq!(sim_order(&env, id).status, "Submitted");

    let c = env.client().await?;
    let read_only = "order refused by guardrail `read_only`: the host is in read-only mode";
    let t = call_err(
        &c,
        "ibkr_place_order",
        json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1}),
    )
    .await?;
    assert_eq!(t, read_only);
    let t = call_err(
        &c,
        "ibkr_modify_order",
        json!({"orderId": id, "lmtPrice": 1.5}),
    )
    .await?;
    assert_eq!(t, read_only);
    let t = call_err(&c, "ibkr_cancel_order", json!({"orderId": id})).await?;
    assert_eq!(t, read_only);
    let t = call_err(&c, "ibkr_place_bracket_order", json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1, "entryPrice": 1.0, "takeProfit": 2.0, "stopLoss": 0.5})).await?;
    assert_eq!(
        t,
        "order refused by guardrail `read_only`: bracket parent leg: the host is in read-only \
         mode"
    );
    // The working order is untouched and nothing else reached the simulator.
    let orders = env.sim.admin().orders();
    assert_eq!(orders.len(), 1, "{orders:#?}");
    let s = &orders[0];
    assert_eq!((s.status.as_str(), s.lmt_price), ("Submitted", Some(1.0)));
    assert_eq!(
        events(&env),
        [
            "place_requested",
            "place_refused",
            "modify_requested",
            "modify_refused",
            "cancel_requested",
            "cancel_failed",
            "place_requested",
            "place_requested",
            "place_requested",
            "place_refused",
            "place_refused",
            "place_refused",
        ]
    );
    // Queries still work.
    let open = call(&c, "ibkr_get_open_orders", json!({})).await?;
    assert_eq!(open["count"], 1, "{open}");
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn audit_log_file_is_hash_chained_across_restarts() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("audit.jsonl");
    let p = path.to_string_lossy().to_string();
    let env = TestEnv::start_with(|c| c.audit.path = p.clone()).await?;
    assert_eq!(env.host.broker.audit().path(), Some(path.as_path()));
    let c = env.client().await?;
    call(&c, "ibkr_place_order", json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1, "orderType": "LMT", "lmtPrice": 1.0})).await?;
    let _ = call_err(
        &c,
        "ibkr_place_order",
        json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1000000}),
    )
    .await?;
    let text = std::fs::read_to_string(&path)?;
    let n = e2e::ibkr_mcp::broker::audit::verify_chain(&text).map_err(anyhow::Error::msg)?;
    assert_eq!(n, 4, "{text}");
    assert_eq!(
        events(&env),
        [
            "place_requested",
            "placed",
            "place_requested",
            "place_refused"
        ]
    );
    assert!(
        audit(&env)
            .iter()
            .all(|r| r.origin == "tool:ibkr_place_order")
    );
    c.cancel().await?;
    env.shutdown().await;

    // A new host on the same file continues the chain.
    let env = TestEnv::start_with(|c| c.audit.path = p).await?;
    let c = env.client().await?;
    let _ = call_err(&c, "ibkr_cancel_order", json!({"orderId": 0})).await?;
    let text = std::fs::read_to_string(&path)?;
    let n = e2e::ibkr_mcp::broker::audit::verify_chain(&text).map_err(anyhow::Error::msg)?;
    assert_eq!(n, 6, "{text}");
    let a = audit(&env);
    let seqs: Vec<u64> = a.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    assert_eq!(a[4].event, "cancel_requested");
    assert_eq!(a[4].prev_hash, a[3].hash);
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
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
    let id = |k: &str| b[k]["orderId"].as_i64().unwrap();
    let (parent, tp, sl) = (id("parent"), id("takeProfit"), id("stopLoss"));
    assert_eq!((tp, sl), (parent + 1, parent + 2), "{b}");
    let oca = b["ocaGroup"].as_str().unwrap().to_string();
    assert!(oca.starts_with("ibkr-mcp-bracket-"), "{b}");

    let (p, t, s) = (
        sim_order(&env, parent),
        sim_order(&env, tp),
        sim_order(&env, sl),
    );
    assert_eq!(env.sim.admin().orders().len(), 3);
    assert_eq!(
        (p.parent_id, p.action.as_str(), p.order_type.as_str()),
        (0, "BUY", "LMT"),
        "{p:?}"
    );
    assert_eq!(
        (p.lmt_price, p.quantity, p.tif.as_str()),
        (Some(1.0), 10.0, "GTC")
    );
    assert_eq!(p.status, "Submitted", "{p:?}");
    assert!(
        p.oca_group.is_empty(),
        "the parent is not in the OCA group: {p:?}"
    );
    assert_eq!((t.order_type.as_str(), t.lmt_price), ("LMT", Some(2.0)));
    assert_eq!((s.order_type.as_str(), s.aux_price), ("STP", Some(0.5)));
    for x in [&t, &s] {
        assert_eq!(i64::from(x.parent_id), parent, "{x:?}");
        assert_eq!(x.action, "SELL", "{x:?}");
        assert_eq!(x.quantity, 10.0, "{x:?}");
        assert_eq!(x.tif, "GTC", "{x:?}");
        assert_eq!(x.oca_group, oca, "{x:?}");
        assert_eq!(x.status, "PreSubmitted", "waiting for the parent: {x:?}");
    }
    // The answer: each leg's first status. The parent is held (PreSubmitted) until the last
    // child transmits the group.
    assert_eq!(
        b,
        json!({
            "parent": status(&env, parent, "PreSubmitted", 10.0, p.perm_id, 0),
            "takeProfit": status(&env, tp, "PreSubmitted", 10.0, t.perm_id, parent),
            "stopLoss": status(&env, sl, "PreSubmitted", 10.0, s.perm_id, parent),
            "ocaGroup": oca,
        })
    );

    let req = BracketRequest {
        contract: ContractSpec::new("AAPL", "STK", "SMART", "USD"),
        action: Side::Buy,
        total_quantity: 10.0,
        entry_price: Some(1.0),
        take_profit: 2.0,
        stop_loss: 0.5,
        tif: "GTC".into(),
        account: String::new(),
        order_ref: "ibkr-mcp".into(),
    };
    let legs = bracket_legs(&req);
    let a = audit(&env);
    assert_eq!(a.len(), 6, "{a:#?}");
    for (i, leg) in ["parent", "takeProfit", "stopLoss"].iter().enumerate() {
        let bracket = json!({ "leg": leg, "ocaGroup": oca });
        assert_eq!(a[i].event, "place_requested");
        assert_eq!(a[i].origin, "tool:ibkr_place_bracket_order");
        assert_eq!(
            a[i].details,
            json!({ "request": legs[i], "bracket": bracket })
        );
        assert_eq!(a[3 + i].event, "placed");
        assert_eq!(
            a[3 + i].details,
            json!({ "request": legs[i], "bracket": bracket, "status": b[*leg] })
        );
    }

    // Cancelling the parent takes the children with it.
    call(&c, "ibkr_cancel_order", json!({"orderId": parent})).await?;
    let orders = sim_orders_until(&env, "the bracket's cancellation", |o| {
        o.iter().all(|x| x.status == "Cancelled")
    })
    .await?;
    assert_eq!(orders.len(), 3, "{orders:#?}");
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
    assert_eq!(
        t,
        "invalid argument `stopLoss`: 105 must be below the entry price 100 for a BUY bracket \
         (stop < entry < take-profit)"
    );
    // SELL: mirrored, the take-profit must be below the entry.
    let t = call_err(
        &c,
        "ibkr_place_bracket_order",
        json!({"symbol": "AAPL", "action": "SELL", "totalQuantity": 1, "entryPrice": 100.0,
               "takeProfit": 110.0, "stopLoss": 105.0}),
    )
    .await?;
    assert_eq!(
        t,
        "invalid argument `takeProfit`: 110 must be below the entry price 100 for a SELL \
         bracket (take-profit < entry < stop)"
    );
    // Guardrails apply to every leg: STP is not allowed here, so nothing is placed.
    let t = call_err(
        &c,
        "ibkr_place_bracket_order",
        json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1, "entryPrice": 1.0,
               "takeProfit": 2.0, "stopLoss": 0.5}),
    )
    .await?;
    assert_eq!(
        t,
        "order refused by guardrail `allowed_order_types`: bracket stopLoss leg: orderType STP \
         is not allowed (allowed: MKT, LMT)"
    );
    assert!(
        env.sim.admin().orders().is_empty(),
        "{:?}",
        env.sim.admin().orders()
    );
    let a = audit(&env);
    assert_eq!(
        a.len(),
        18,
        "three legs requested and refused per bracket: {a:#?}"
    );
    for (i, r) in a.iter().enumerate() {
        let expected = if i % 6 < 3 {
            "place_requested"
        } else {
            "place_refused"
        };
        assert_eq!(r.event, expected, "{i}: {r:?}");
    }
    assert_eq!(a[17].details["error"], t);
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
    assert_eq!(
        t,
        "TWS error 110: bracket stopLoss leg: The price does not conform to the minimum price \
         variation for this contract."
    );
    let orders = sim_orders_until(&env, "the withdrawal of the bracket's legs", |o| {
        o.iter().all(|x| x.status == "Cancelled")
    })
    .await?;
    // The stop-loss never entered the book; the parent and take-profit were cancelled.
    let mut got: Vec<_> = orders
        .iter()
        .map(|x| (x.order_type.as_str(), x.status.as_str()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [("LMT", "Cancelled"), ("LMT", "Cancelled")],
        "{orders:#?}"
    );
    assert_eq!(
        events(&env),
        [
            "place_requested",
            "place_requested",
            "place_requested",
            "placed",
            "placed",
            "place_failed",
            "cancel_requested",
            "cancelled",
        ]
    );
    // The held parent (and with it the take-profit) was withdrawn through the audited cancel
    // path.
    let a = audit(&env);
    let parent = a[3].details["status"]["orderId"].clone();
    assert_eq!(a[6].details, json!({ "orderId": parent }));
    assert_eq!(a[7].details["status"]["parentId"], 0, "{a:#?}");
    assert_eq!(a[7].details["status"]["status"], "Cancelled");
    assert_eq!(a[5].details["error"], t);
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}
