//! The seeds' portfolio-rebalancing end-to-end case through MCP over HTTP against the paper
//! gateway: connect -> historical data -> positions and account summary -> orders ->
//! executions -> positions again.

use std::collections::HashMap;
use std::time::Duration;

use e2e::{TestEnv, call};
use serde_json::{Value, json};

fn qty(positions: &Value, symbol: &str) -> f64 {
    positions["positions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["contract"]["symbol"] == symbol)
        .map(|p| p["position"].as_f64().unwrap())
        .sum()
}

#[tokio::test]
async fn portfolio_rebalancing_end_to_end() -> anyhow::Result<()> {
    let env = TestEnv::start_with(|c| c.tws.connect_on_start = false).await?;
    let c = env.client().await?;

    // 1. Connect.
    let r = call(
        &c,
        "ibkr_connect",
        json!({"host": "127.0.0.1", "port": env.sim.addr().port(), "clientId": 1}),
    )
    .await?;
    assert_eq!(r["status"], "connected");

    // 2. Historical data for the target instruments.
    for sym in ["VTI", "TLT"] {
        let h = call(
            &c,
            "ibkr_get_historical_data",
            json!({"symbol": sym, "durationStr": "1 Y", "barSizeSetting": "1 day"}),
        )
        .await?;
        assert!(h["count"].as_u64().unwrap() > 100, "{sym}: {}", h["count"]);
        let d = call(&c, "ibkr_get_contract_details", json!({"symbol": sym})).await?;
        assert_eq!(d["contracts"][0]["symbol"], sym);
    }

    // 3. Current positions and account summary.
    let before = call(&c, "ibkr_get_positions", json!({})).await?;
    let summary = call(&c, "ibkr_get_account_summary", json!({})).await?;
    let net_liq: f64 = summary["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["tag"] == "NetLiquidation")
        .and_then(|v| v["value"].as_str())
        .and_then(|v| v.parse().ok())
        .expect("NetLiquidation");
    assert!(net_liq > 0.0);
    let vti0 = qty(&before, "VTI");
    let tlt0 = qty(&before, "TLT");

    // 4. Compute trades toward 45% VTI / 55% TLT of the VTI+TLT sleeve (client-side logic).
    let mut price = HashMap::new();
    for sym in ["VTI", "TLT"] {
        let q = call(&c, "ibkr_get_quote", json!({"symbol": sym})).await?;
        let p = q["last"].as_f64().or(q["close"].as_f64()).expect("price");
        price.insert(sym, p);
    }
    let sleeve = vti0 * price["VTI"] + tlt0 * price["TLT"];
    let vti_target = (0.45 * sleeve / price["VTI"]).floor();
    let tlt_target = (0.55 * sleeve / price["TLT"]).floor();
    // Keep each order inside the default notional guardrail.
    let cap = |d: f64, p: f64| d.signum() * d.abs().min((200_000.0 / p).floor());
    let vti_delta = cap(vti_target - vti0, price["VTI"]);
    let tlt_delta = cap(tlt_target - tlt0, price["TLT"]);
    assert!(vti_delta != 0.0 || tlt_delta != 0.0);

    // 5. Execute: next valid id, sells before buys.
    let id = call(&c, "ibkr_get_next_valid_id", json!({})).await?;
    assert!(id["orderId"].as_i64().unwrap() > 0);
    let mut trades: Vec<(&str, f64)> = vec![("VTI", vti_delta), ("TLT", tlt_delta)];
    trades.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap());
    let mut order_ids = Vec::new();
    for (sym, delta) in &trades {
        if *delta == 0.0 {
            continue;
        }
        let action = if *delta > 0.0 { "BUY" } else { "SELL" };
        let o = call(&c, "ibkr_place_order", json!({"symbol": sym, "action": action, "totalQuantity": delta.abs(), "orderType": "MKT"})).await?;
        let id = o["orderId"].as_i64().unwrap();
        assert!(id > 0, "{o}");
        // The first status TWS reports for a transmitted order is Submitted (the fill follows).
        assert_eq!(o["status"], "Submitted", "{o}");
        order_ids.push((id, *sym, action, delta.abs()));
    }
    // The simulator's book agrees, once every order filled.
    let sim_orders = e2e::wait_for(Duration::from_secs(30), "every order to fill", || {
        let o = env.sim.admin().orders();
        order_ids
            .iter()
            .all(|(id, ..)| {
                o.iter()
                    .any(|x| i64::from(x.order_id) == *id && x.status == "Filled")
            })
            .then_some(o)
    })
    .await?;
    for (id, sym, action, q) in &order_ids {
        let o = sim_orders
            .iter()
            .find(|o| i64::from(o.order_id) == *id)
            .unwrap_or_else(|| panic!("order {id} not in the simulator: {sim_orders:?}"));
        assert_eq!(
            (
                o.symbol.as_str(),
                o.action.as_str(),
                o.order_type.as_str(),
                o.quantity
            ),
            (*sym, *action, "MKT", *q),
            "{o:?}"
        );
        assert_eq!((o.status.as_str(), o.filled), ("Filled", *q), "{o:?}");
    }

    // 6. Verify: executions fill every order completely, then positions moved by the traded
    // amounts.
    let shares = |execs: &Value, id: i64| -> f64 {
        execs["executions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["orderId"].as_i64() == Some(id))
            .map(|e| e["shares"].as_f64().unwrap())
            .sum()
    };
    let execs = e2e::wait_for_async(
        Duration::from_secs(30),
        "executions of every order",
        || async {
            let execs = call(&c, "ibkr_get_executions", json!({})).await?;
            Ok(order_ids
                .iter()
                .all(|(id, _, _, q)| shares(&execs, *id) >= *q)
                .then_some(execs))
        },
    )
    .await?;
    for (id, sym, action, q) in &order_ids {
        assert_eq!(shares(&execs, *id), *q, "order {id}: {execs}");
        let side = if *action == "BUY" { "BOT" } else { "SLD" };
        for e in execs["executions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["orderId"].as_i64() == Some(*id))
        {
            assert_eq!(e["side"], side, "{e}");
            assert_eq!(e["contract"]["symbol"], *sym, "{e}");
        }
    }
    let after = call(&c, "ibkr_get_positions", json!({})).await?;
    assert_eq!(qty(&after, "VTI"), vti0 + vti_delta, "{after}");
    assert_eq!(qty(&after, "TLT"), tlt0 + tlt_delta, "{after}");
    let pnl = call(&c, "ibkr_get_pnl", json!({})).await?;
    assert!(
        pnl["dailyPnl"].as_f64().is_some_and(f64::is_finite),
        "{pnl}"
    );

    // Every order went through the audit log with its origin.
    let audit = env.host.broker.audit().recent();
    let placed: Vec<_> = audit.iter().filter(|r| r.event == "placed").collect();
    assert_eq!(placed.len(), order_ids.len());
    assert!(placed.iter().all(|r| r.origin == "tool:ibkr_place_order"));

    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}
