//! `execute_bracket_order` and `execute_options_strategy` end to end: plans from live data
//! (quotes, ATR from daily bars, the option chain and option quotes), then orders placed through
//! the host's order path against the simulator.

use crate::workflows_common;

use serde_json::json;
use workflows_common::{Setup, start, workflow};

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
    let mut sim_orders = w.env.sim.admin().orders();
    for _ in 0..50 {
        if sim_orders
            .iter()
            .any(|x| i64::from(x.order_id) == ids[0] && x.status == "Filled")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        sim_orders = w.env.sim.admin().orders();
    }
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

    // Place a collar on SPY: a combo if the host accepts BAG orders, otherwise the legs — the
    // output says which.
    let r = workflow(
        &c,
        "execute_options_strategy__place",
        json!({"symbol": "SPY", "strategy": "collar", "execute": true}),
    )
    .await?;
    assert_eq!(r["data"]["status"], "placed", "{}", r["report"]);
    let ex = &r["data"]["execution"];
    let placed_as = ex["placed_as"].as_str().unwrap();
    let orders = ex["orders"].as_array().unwrap();
    match placed_as {
        "combo" => assert_eq!(orders.len(), 1, "{ex}"),
        "legs" => {
            assert_eq!(orders.len(), 2, "{ex}");
            assert!(
                !ex["notes"].as_array().unwrap().is_empty(),
                "says why: {ex}"
            );
        }
        other => panic!("placed as {other}"),
    }
    assert!(
        r["report"]
            .as_str()
            .unwrap()
            .contains(&format!("Placed as {placed_as}"))
    );
    assert!(
        orders.iter().all(|o| o["order_id"].as_i64().unwrap() > 0),
        "{ex}"
    );

    c.cancel().await?;
    w.shutdown().await;
    Ok(())
}
