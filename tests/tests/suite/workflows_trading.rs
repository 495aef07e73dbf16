//! `execute_bracket_order` and `execute_options_strategy` end to end: plans from live data
//! (quotes, ATR from daily bars, the option chain and option quotes), then orders placed through
//! the host's order path against the simulator.

use crate::workflows_common;

use std::time::Duration;

use e2e::ibkr_mcp::broker::ContractSpec;
use serde_json::json;
use workflows_common::{Setup, start, start_with, workflow};

#[tokio::test]
async fn bracket_order_from_atr_is_placed_as_parent_and_two_children() -> anyhow::Result<()> {
    let w = start(Setup::default()).await?;
    let c = w.client().await?;

    // Plan: stop 2 ATR below the ask, target 2R, sized from a $2,000 risk budget.
    let p = workflow(
        &c,
        "execute_bracket_order__plan",
        json!({"symbol": "AAPL", "risk_amount": 2000, "stop_loss_atr": 2, "take_profit_r": 2}),
    )
    .await?;
    let b = &p["data"]["bracket"];
    let plan = &b["plan"];
    let (entry, tp, sl) = (
        plan["entry"].as_f64().unwrap(),
        plan["take_profit"].as_f64().unwrap(),
        plan["stop_loss"].as_f64().unwrap(),
    );
    let atr = b["atr"].as_f64().expect("ATR from daily bars");
    assert!(atr > 0.0 && atr < entry * 0.2, "{b}");
    assert!(sl < entry && entry < tp, "{plan}");
    // Stop about 2 ATR away (rounded away from entry to the tick), target 2R.
    assert!(((entry - sl) - 2.0 * atr).abs() <= 0.011, "{plan}");
    assert!(
        (plan["risk_reward"].as_f64().unwrap() - 2.0).abs() < 0.01,
        "{plan}"
    );
    let qty = plan["quantity"].as_f64().unwrap();
    assert_eq!(qty, (2000.0 / (entry - sl)).floor(), "{plan}");
    assert!(plan["max_loss"].as_f64().unwrap() <= 2000.0 + 1e-6);

    // Place: three linked orders through the host's bracket path.
    let args = json!({"symbol": "AAPL", "risk_amount": 2000, "stop_loss_atr": 2, "take_profit_r": 2, "execute": true, "tif": "GTC"});
    let r = workflow(&c, "execute_bracket_order__place", args).await?;
    assert_eq!(r["data"]["status"], "placed", "{}", r["report"]);
    // The market moved since the plan above: the placed orders follow the plan made at placing.
    let placed = &r["data"]["bracket"]["plan"];
    let (tp, sl, qty) = (
        placed["take_profit"].as_f64().unwrap(),
        placed["stop_loss"].as_f64().unwrap(),
        placed["quantity"].as_f64().unwrap(),
    );
    assert!(sl < tp, "{placed}");
    let o = &r["data"]["orders"];
    let ids: Vec<i64> = ["parent", "take_profit", "stop_loss"]
        .iter()
        .map(|k| o[k]["order_id"].as_i64().unwrap())
        .collect();
    assert!(
        ids[0] > 0 && ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{o}"
    );

    // In the simulator: the parent (a marketable limit at the ask) filled, and the two
    // children are working, linked to it and to each other (one OCA group).
    let sim_orders = e2e::wait_for(Duration::from_secs(15), "the parent to fill", || {
        let o = w.env.sim.admin().orders();
        o.iter()
            .any(|x| i64::from(x.order_id) == ids[0] && x.status == "Filled")
            .then_some(o)
    })
    .await?;
    let sim = |id: i64| {
        sim_orders
            .iter()
            .find(|x| i64::from(x.order_id) == id)
            .cloned()
            .unwrap_or_else(|| panic!("order {id} not in the simulator: {sim_orders:?}"))
    };
    let (parent, tp_sim, sl_sim) = (sim(ids[0]), sim(ids[1]), sim(ids[2]));
    assert_eq!(parent.parent_id, 0, "{parent:?}");
    assert_eq!(parent.action, "BUY");
    assert_eq!(parent.order_type, "LMT");
    assert_eq!(parent.quantity, qty);
    assert_eq!(parent.status, "Filled", "{parent:?}");
    // Working: the take-profit limit is Submitted, the untriggered stop PreSubmitted (as TWS
    // reports stops it holds).
    for (child, otype, status) in [
        (&tp_sim, "LMT", "Submitted"),
        (&sl_sim, "STP", "PreSubmitted"),
    ] {
        assert_eq!(i64::from(child.parent_id), ids[0], "{child:?}");
        assert_eq!(child.action, "SELL", "{child:?}");
        assert_eq!(child.order_type, otype, "{child:?}");
        assert_eq!(child.quantity, qty, "{child:?}");
        assert_eq!(child.tif, "GTC", "{child:?}");
        assert_eq!(child.status, status, "{child:?}");
    }
    assert!(!tp_sim.oca_group.is_empty(), "{tp_sim:?}");
    assert_eq!(tp_sim.oca_group, sl_sim.oca_group);
    assert!((tp_sim.lmt_price.unwrap() - tp).abs() < 1e-6, "{tp_sim:?}");
    assert!((sl_sim.aux_price.unwrap() - sl).abs() < 1e-6, "{sl_sim:?}");

    // The host's own open-orders tool sees the two working children at the planned prices.
    let open = e2e::call(&c, "ibkr_get_open_orders", json!({})).await?;
    let orders = open["orders"].as_array().unwrap();
    let child = |id: i64| {
        orders
            .iter()
            .find(|x| x["orderId"].as_i64() == Some(id))
            .cloned()
    };
    let tp_order =
        child(ids[1]).unwrap_or_else(|| panic!("take-profit {} not open: {open}", ids[1]));
    let sl_order = child(ids[2]).unwrap_or_else(|| panic!("stop-loss {} not open: {open}", ids[2]));
    assert_eq!(tp_order["orderType"], "LMT", "{tp_order}");
    assert!(
        (tp_order["lmtPrice"].as_f64().unwrap() - tp).abs() < 1e-6,
        "{tp_order}"
    );
    assert_eq!(sl_order["orderType"], "STP", "{sl_order}");
    assert!(
        (sl_order["auxPrice"].as_f64().unwrap() - sl).abs() < 1e-6,
        "{sl_order}"
    );
    assert_eq!(tp_order["action"], "SELL");
    assert_eq!(sl_order["action"], "SELL");

    // Every leg went through the audit log as a plugin order.
    let audit = w.env.host.broker.audit().recent();
    let placed: Vec<_> = audit
        .iter()
        .filter(|r| r.event == "placed" && r.origin == "plugin:execute_bracket_order")
        .collect();
    assert_eq!(placed.len(), 3, "{audit:?}");

    // Invalid levels are refused before anything reaches the broker.
    let err = e2e::call_err(&c, "execute_bracket_order__plan", json!({"symbol": "AAPL", "quantity": 10, "stop_loss_price": entry * 1.1, "take_profit_price": entry * 1.2})).await?;
    assert!(err.contains("stop < entry < take-profit"), "{err}");

    c.cancel().await?;
    w.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn options_strategies_from_the_live_chain() -> anyhow::Result<()> {
    let w = start(Setup::default()).await?;
    let c = w.client().await?;

    // Covered call on SPY (the default account holds 300 shares): short ~0.30 delta call.
    let p = workflow(
        &c,
        "execute_options_strategy__plan",
        json!({"symbol": "SPY", "strategy": "covered_call", "target_dte": 30}),
    )
    .await?;
    let s = &p["data"]["strategy"];
    let spot = s["spot"].as_f64().unwrap();
    let legs = s["legs"].as_array().unwrap();
    assert_eq!(legs.len(), 2, "{s}");
    assert_eq!(legs[0]["instrument"]["type"], "stock");
    assert_eq!(legs[0]["existing"], true, "300 SPY are held: {s}");
    let call_leg = &legs[1];
    assert_eq!(call_leg["quantity"], -1.0);
    let strike = call_leg["instrument"]["strike"].as_f64().unwrap();
    let premium = call_leg["price"].as_f64().unwrap();
    assert!(strike > spot, "OTM call: {strike} vs spot {spot}");
    let delta = s["contracts"][0]["delta"].as_f64().unwrap();
    assert!((0.1..0.5).contains(&delta), "delta {delta}");
    let sum = &s["summary"];
    // Hand formulas: max profit (K - S + c) x 100, max loss (S - c) x 100, breakeven S - c.
    assert!(
        (sum["max_profit"].as_f64().unwrap() - (strike - spot + premium) * 100.0).abs() < 1e-6,
        "{sum}"
    );
    assert!(
        (sum["max_loss"].as_f64().unwrap() - (spot - premium) * 100.0).abs() < 1e-6,
        "{sum}"
    );
    assert!(
        (sum["breakevens"][0].as_f64().unwrap() - (spot - premium)).abs() < 1e-4,
        "{sum}"
    );
    let dte = s["dte"].as_i64().unwrap();
    assert!((7..=75).contains(&dte), "{dte}");

    // A bull call spread (debit): defined risk, max loss = debit, max profit = width - debit.
    let v = workflow(
        &c,
        "execute_options_strategy__plan",
        json!({"symbol": "QQQ", "strategy": "bull_call_spread"}),
    )
    .await?;
    let vs = &v["data"]["strategy"]["summary"];
    let vl = v["data"]["strategy"]["legs"].as_array().unwrap().clone();
    let (k1, k2) = (
        vl[0]["instrument"]["strike"].as_f64().unwrap(),
        vl[1]["instrument"]["strike"].as_f64().unwrap(),
    );
    assert!(k1 < k2);
    let debit = vs["net_debit"].as_f64().unwrap();
    assert!(debit > 0.0, "{vs}");
    assert!(
        (vs["max_loss"].as_f64().unwrap() - debit).abs() < 1e-6,
        "{vs}"
    );
    assert!(
        (vs["max_profit"].as_f64().unwrap() - ((k2 - k1) * 100.0 - debit)).abs() < 1e-6,
        "{vs}"
    );

    // Place a collar on SPY with the default guardrails, which do not allow BAG: the combo is
    // refused by the host and the plugin places the two option legs, saying so.
    let r = workflow(
        &c,
        "execute_options_strategy__place",
        json!({"symbol": "SPY", "strategy": "collar", "execute": true}),
    )
    .await?;
    assert_eq!(r["data"]["status"], "placed", "{}", r["report"]);
    let ex = &r["data"]["execution"];
    assert_eq!(ex["placed_as"], "legs", "{ex}");
    let orders = ex["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 2, "{ex}");
    let notes: Vec<&str> = ex["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(notes.len(), 2, "{ex}");
    assert!(
        notes[0].starts_with("combo (BAG) order refused (")
            && notes[0].ends_with("; placed the legs individually instead"),
        "{notes:?}"
    );
    assert_eq!(
        notes[1],
        "legs were sent separately: until all fill, the position is exposed to legging risk"
    );
    assert!(
        r["report"].as_str().unwrap().contains("## Placed as legs"),
        "{}",
        r["report"]
    );
    // Two single-option orders reached the simulator, no BAG.
    let sim_orders = w.env.sim.admin().orders();
    let ids: Vec<i64> = orders
        .iter()
        .map(|o| o["order_id"].as_i64().unwrap())
        .collect();
    let mut sim_ids: Vec<i64> = sim_orders.iter().map(|o| i64::from(o.order_id)).collect();
    sim_ids.sort_unstable();
    let mut want = ids.clone();
    want.sort_unstable();
    assert_eq!(sim_ids, want, "{sim_orders:?}");
    assert!(
        sim_orders
            .iter()
            .all(|o| o.sec_type == "OPT" && o.combo_legs.is_empty() && o.quantity == 1.0),
        "{sim_orders:?}"
    );

    c.cancel().await?;
    w.shutdown().await;
    Ok(())
}

#[tokio::test]
#[ignore = "the host cannot place combo (BAG) orders yet: plugins/broker_backend.rs `spec` refuses \
            every BAG contract and ContractSpec has no combo legs, so allowing BAG in the \
            guardrails changes nothing (the plugin falls back to legs); run with --ignored once \
            combo orders are supported"]
async fn collar_is_placed_as_one_combo_order_when_bag_is_allowed() -> anyhow::Result<()> {
    // Options strategies as combos: the host allows BAG next to the default security types.
    let w = start_with(Setup::default(), |cfg| {
        cfg.guardrails.allowed_sec_types.push("BAG".into())
    })
    .await?;
    let c = w.client().await?;
    let r = workflow(
        &c,
        "execute_options_strategy__place",
        json!({"symbol": "SPY", "strategy": "collar", "execute": true}),
    )
    .await?;
    assert_eq!(r["data"]["status"], "placed", "{}", r["report"]);
    let ex = &r["data"]["execution"];
    assert_eq!(ex["placed_as"], "combo", "{ex}");
    assert_eq!(ex["notes"], json!([]), "{ex}");
    let orders = ex["orders"].as_array().unwrap();
    assert_eq!(orders.len(), 1, "{ex}");
    let combo = &orders[0];
    assert_eq!(combo["leg"], "combo", "{combo}");
    let order_id = combo["order_id"].as_i64().unwrap();
    assert!(order_id > 0, "{combo}");
    let report = r["report"].as_str().unwrap();
    assert!(report.contains("## Placed as combo"), "{report}");

    // The legs of the plan: the held stock, a long put and a short call of one expiry.
    let s = &r["data"]["strategy"];
    let expiry = s["expiry"].as_str().unwrap().to_string();
    let legs = s["legs"].as_array().unwrap();
    assert_eq!(legs.len(), 3, "{s}");
    assert_eq!(legs[0]["instrument"]["type"], "stock", "{s}");
    assert_eq!(legs[0]["existing"], true, "{s}");
    // Per-spread limit = long put price - short call price, in cents.
    let mut want_legs = Vec::new();
    let mut net = 0.0;
    for leg in &legs[1..] {
        let i = &leg["instrument"];
        let right = i["right"].as_str().unwrap();
        let strike = i["strike"].as_f64().unwrap();
        let qty = leg["quantity"].as_f64().unwrap();
        net += qty.signum() * leg["price"].as_f64().unwrap();
        let mut spec = ContractSpec::new("SPY", "OPT", "SMART", "USD");
        spec.last_trade_date_or_contract_month = expiry.clone();
        spec.strike = strike;
        spec.right = right[..1].to_ascii_uppercase();
        let d = w.env.host.broker.contract_details(&spec).await?;
        assert_eq!(d.len(), 1, "{spec:?}: {d:?}");
        let action = if qty > 0.0 { "BUY" } else { "SELL" };
        want_legs.push((d[0].con_id, 1, action.to_string()));
    }
    assert_eq!(
        want_legs.iter().map(|l| l.2.as_str()).collect::<Vec<_>>(),
        ["BUY", "SELL"],
        "long put, short call: {s}"
    );
    let limit = (net * 100.0).round() / 100.0;
    assert_eq!(combo["limit"].as_f64(), Some(limit), "{combo}");

    // In the simulator: one BAG order with exactly those legs, bought at that limit.
    let sim_orders = w.env.sim.admin().orders();
    assert_eq!(sim_orders.len(), 1, "{sim_orders:?}");
    let o = &sim_orders[0];
    assert_eq!(i64::from(o.order_id), order_id, "{o:?}");
    assert_eq!(
        (o.symbol.as_str(), o.sec_type.as_str(), o.action.as_str()),
        ("SPY", "BAG", "BUY"),
        "{o:?}"
    );
    assert_eq!(o.order_type, "LMT", "{o:?}");
    assert_eq!(o.quantity, 1.0, "{o:?}");
    assert_eq!(o.lmt_price, Some(limit), "{o:?}");
    let got_legs: Vec<(i32, i32, String)> = o
        .combo_legs
        .iter()
        .map(|l| (l.con_id, l.ratio, l.action.clone()))
        .collect();
    assert_eq!(got_legs, want_legs, "{o:?}");

    // One audited placement, by the plugin, of a BAG contract.
    let audit = w.env.host.broker.audit().recent();
    let placed: Vec<_> = audit
        .iter()
        .filter(|r| r.event == "placed" && r.origin == "plugin:execute_options_strategy")
        .collect();
    assert_eq!(placed.len(), 1, "{audit:?}");

    c.cancel().await?;
    w.shutdown().await;
    Ok(())
}
