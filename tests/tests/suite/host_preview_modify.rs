//! What-if previews and order modification through the broker adapter
//! (`Broker::preview_order`, `Broker::modify_order`) and the plugin backend's
//! `orders.preview` / `orders.modify`, against the simulator.

use crate::orders_common::sim_order;
use e2e::ibkr_mcp::broker::{
    BrokerError, ContractSpec, OrderChanges, OrderOrigin, OrderPreview, OrderRequest, OrderStatus,
    Side,
};
use e2e::ibkr_mcp::plugins::PluginBackend;
use e2e::ibkr_mcp::plugins::backend::{CallContext, Origin};
use e2e::ibkr_mcp::plugins::bindings::types as w;
use e2e::ibkr_mcp::plugins::broker_backend::BrokerBackend;
use e2e::{TestEnv, call, call_err};
use serde_json::json;

fn origin() -> OrderOrigin {
    OrderOrigin::Tool {
        tool: "test".into(),
    }
}

fn plugin_origin() -> Origin {
    Origin {
        plugin: "test_plugin".into(),
        call: CallContext::default(),
    }
}

fn limit(symbol: &str, qty: f64, price: f64) -> OrderRequest {
    OrderRequest {
        contract: ContractSpec::stock(symbol),
        action: Side::Buy,
        total_quantity: qty,
        order_type: "LMT".into(),
        lmt_price: Some(price),
        aux_price: None,
        tif: "GTC".into(),
        account: String::new(),
        order_ref: "preview-modify".into(),
    }
}

fn wit_contract(symbol: &str) -> w::Contract {
    w::Contract {
        con_id: 0,
        symbol: symbol.into(),
        sec_type: w::SecType::Stock,
        exchange: "SMART".into(),
        primary_exchange: None,
        currency: "USD".into(),
        last_trade_date: None,
        strike: None,
        right: None,
        multiplier: None,
        local_symbol: None,
        trading_class: None,
        combo_legs: vec![],
    }
}

#[tokio::test]
async fn what_if_reports_margin_and_commission_and_places_nothing() -> anyhow::Result<()> {
    let env = TestEnv::start_with(|c| {
        c.guardrails.max_order_quantity = 1000.0;
    })
    .await?;
    let broker = env.host.broker.clone();
    assert!(env.sim.admin().orders().is_empty());

    let p = broker
        .preview_order(&limit("AAPL", 10.0, 150.0), &origin())
        .await?;
    let last = broker
        .quote(&ContractSpec::stock("AAPL"))
        .await?
        .reference_price()
        .expect("an AAPL price");
    assert_preview(&p, 10.0, last);

    assert!(
        env.sim.admin().orders().is_empty(),
        "what-if placed an order"
    );
    assert!(broker.open_orders().await?.is_empty());
    assert_eq!(broker.audit().records()?, [], "previews are not audited");

    // A preview of an order the guardrails refuse is refused with the same error.
    let big = limit("AAPL", 5000.0, 150.0);
    let e = broker.preview_order(&big, &origin()).await.unwrap_err();
    let placed = broker.place_order(&big, &origin()).await.unwrap_err();
    assert!(
        matches!(&e, BrokerError::Guardrail { rule, .. } if rule == "max_order_quantity"),
        "{e:?}"
    );
    assert_eq!(e, placed);
    // And an invalid one with the same invalid-argument error.
    let mut no_price = limit("AAPL", 1.0, 1.0);
    no_price.lmt_price = None;
    let e = broker
        .preview_order(&no_price, &origin())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, BrokerError::InvalidArgument { arg, .. } if arg == "lmtPrice"),
        "{e:?}"
    );
    assert!(env.sim.admin().orders().is_empty());

    // The plugin API's orders.preview answers from the same path.
    let backend = BrokerBackend::new(broker.clone());
    let order = w::Order {
        action: w::Action::Buy,
        quantity: 10.0,
        order_type: w::OrderType::Limit,
        limit_price: Some(150.0),
        stop_price: None,
        trailing_percent: None,
        tif: w::TimeInForce::Gtc,
        outside_rth: false,
        account: None,
        order_ref: None,
    };
    let wp = backend
        .preview_order(plugin_origin(), wit_contract("AAPL"), order.clone())
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    // The price moves between the two previews: the same rules, not the same cent.
    let change = wp.init_margin_change.expect("a margin change");
    assert!(
        (change - 0.25 * 10.0 * last).abs() <= 0.25 * 10.0 * last * 0.02,
        "{wp:?}"
    );
    assert_eq!(wp.maint_margin_change, wp.init_margin_change, "{wp:?}");
    assert_eq!(wp.equity_with_loan_change, Some(-1.0), "{wp:?}");
    assert_eq!(
        (wp.commission, wp.min_commission, wp.max_commission),
        (Some(1.0), Some(1.0), Some(1.0)),
        "{wp:?}"
    );
    assert_eq!(wp.commission_currency.as_deref(), Some("USD"));
    let big = w::Order {
        quantity: 5000.0,
        ..order
    };
    let we = backend
        .preview_order(plugin_origin(), wit_contract("AAPL"), big)
        .await
        .unwrap_err();
    assert!(
        matches!(&we, w::Error::GuardrailViolation(m) if m.contains("max_order_quantity")),
        "{we:?}"
    );
    assert!(env.sim.admin().orders().is_empty());
    let events: Vec<_> = broker
        .audit()
        .records()?
        .into_iter()
        .map(|r| r.event)
        .collect();
    // Only the refused placement is audited; the previews are not.
    assert_eq!(events, ["place_requested", "place_refused"]);

    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn modify_changes_a_resting_limit_order() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let broker = env.host.broker.clone();
    let s = broker
        .place_order(&limit("AAPL", 2.0, 1.0), &origin())
        .await?;
    let id = s.order_id;
    let sim_order = |id: i32| {
        env.sim
            .admin()
            .orders()
            .into_iter()
            .find(|o| o.order_id == id)
            .unwrap_or_else(|| panic!("order {id} not in the simulator"))
    };
    assert_eq!(sim_order(id).lmt_price, Some(1.0));

    let changes = OrderChanges {
        lmt_price: Some(1.5),
        ..Default::default()
    };
    let m = broker.modify_order(id, &changes, &origin()).await?;
    let perm_id = sim_order(id).perm_id;
    assert_eq!(
        m,
        OrderStatus {
            order_id: id,
            status: "Submitted".into(),
            remaining: 2.0,
            avg_fill_price: Some(0.0),
            last_fill_price: Some(0.0),
            perm_id,
            client_id: broker.status().client_id,
            ..OrderStatus::default()
        }
    );
    let o = sim_order(id);
    assert_eq!(o.lmt_price, Some(1.5), "{o:?}");
    assert_eq!(o.quantity, 2.0);
    assert_eq!(o.tif, "GTC");

    // Through the plugin backend: quantity.
    let backend = BrokerBackend::new(broker.clone());
    let ws = backend
        .modify_order(
            plugin_origin(),
            id,
            w::OrderModification {
                quantity: Some(3.0),
                limit_price: None,
                stop_price: None,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(ws.order_id, id);
    assert_eq!((ws.filled, ws.remaining), (0.0, 3.0), "{ws:?}");
    let o = sim_order(id);
    assert_eq!((o.quantity, o.lmt_price), (3.0, Some(1.5)), "{o:?}");
    assert_eq!(
        (o.perm_id, o.status.as_str()),
        (perm_id, "Submitted"),
        "{o:?}"
    );
    assert_eq!(
        env.sim.admin().orders().len(),
        1,
        "modify must not add an order"
    );

    // Audited as modifications through the same pipeline.
    let audit = broker.audit().records()?;
    let got: Vec<_> = audit
        .iter()
        .map(|r| (r.event.as_str(), r.origin.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("place_requested", "tool:test"),
            ("placed", "tool:test"),
            ("modify_requested", "tool:test"),
            ("modified", "tool:test"),
            ("modify_requested", "plugin:test_plugin"),
            ("modified", "plugin:test_plugin"),
        ]
    );
    let mut expected = limit("AAPL", 2.0, 1.5);
    expected.contract.con_id = o.con_id;
    // The modify re-sends the order as TWS reports it: the resolved contract.
    expected.contract.primary_exchange = "NASDAQ".into();
    expected.account = o.account.clone();
    assert_eq!(
        audit[2].details,
        json!({ "orderId": id, "request": expected })
    );
    assert_eq!(
        audit[3].details,
        json!({ "orderId": id, "request": expected, "status": m })
    );
    assert_eq!(audit[5].details["request"]["totalQuantity"], 3.0);
    assert_eq!(audit[5].details["request"]["lmtPrice"], 1.5);

    // The guardrails apply to the modified order.
    let e = broker
        .modify_order(
            id,
            &OrderChanges {
                total_quantity: Some(1_000_000.0),
                ..Default::default()
            },
            &origin(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e,
        BrokerError::Guardrail {
            rule: "max_order_quantity".into(),
            reason: "quantity 1000000 exceeds the maximum 10000".into(),
        }
    );
    assert_eq!(last_event(&broker), "modify_refused");
    assert_eq!(sim_order(id).quantity, 3.0);

    // A stop price on a limit order is refused.
    let e = broker
        .modify_order(
            id,
            &OrderChanges {
                aux_price: Some(2.0),
                ..Default::default()
            },
            &origin(),
        )
        .await
        .unwrap_err();
    assert_eq!(
        e,
        BrokerError::invalid(
            "auxPrice",
            format!("order {id} is a LMT order, which has no aux (stop) price")
        )
    );
    assert_eq!(last_event(&broker), "modify_refused");

    // Unknown id: NotFound naming it.
    let e = broker
        .modify_order(987_654, &changes, &origin())
        .await
        .unwrap_err();
    assert_eq!(
        e,
        BrokerError::NotFound("no open order with id 987654".into())
    );
    let we = backend
        .modify_order(
            plugin_origin(),
            987_654,
            w::OrderModification {
                quantity: None,
                limit_price: Some(1.2),
                stop_price: None,
            },
        )
        .await
        .unwrap_err();
    assert!(
        format!("{we:?}").contains("no open order with id 987654"),
        "{we:?}"
    );
    assert_eq!(sim_order(id).lmt_price, Some(1.5));
    assert_eq!(env.sim.admin().orders().len(), 1);

    broker.cancel_order(id, &origin()).await?;
    assert_eq!(sim_order(id).status, "Cancelled");
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn mcp_tools_preview_and_modify() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    let p = call(&c, "ibkr_preview_order", json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 5, "orderType": "LMT", "lmtPrice": 100.0})).await?;
    let last = env
        .host
        .broker
        .quote(&ContractSpec::stock("AAPL"))
        .await?
        .reference_price()
        .expect("an AAPL price");
    let preview: OrderPreview = serde_json::from_value(p.clone())?;
    assert_eq!(
        serde_json::to_value(&preview)?,
        p,
        "exactly the preview's fields: {p}"
    );
    assert_preview(&preview, 5.0, last);
    assert!(env.sim.admin().orders().is_empty());
    let t = call_err(&c, "ibkr_preview_order", json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1_000_000, "orderType": "LMT", "lmtPrice": 1.0})).await?;
    assert_eq!(
        t,
        "order refused by guardrail `max_order_quantity`: quantity 1000000 exceeds the maximum \
         10000"
    );
    assert_eq!(
        env.host.broker.audit().records()?,
        [],
        "previews are not audited"
    );

    let o = call(&c, "ibkr_place_order", json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1, "orderType": "LMT", "lmtPrice": 1.0})).await?;
    let id = o["orderId"].as_i64().unwrap();
    let m = call(
        &c,
        "ibkr_modify_order",
        json!({"orderId": id, "lmtPrice": 1.25}),
    )
    .await?;
    let s = sim_order(&env, id);
    assert_eq!(
        m,
        json!({
            "orderId": id,
            "status": "Submitted",
            "filled": 0.0,
            "remaining": 1.0,
            "avgFillPrice": 0.0,
            "lastFillPrice": 0.0,
            "permId": s.perm_id,
            "parentId": 0,
            "clientId": env.host.broker.status().client_id,
            "whyHeld": "",
        })
    );
    assert_eq!(
        (s.lmt_price, s.quantity, s.status.as_str()),
        (Some(1.25), 1.0, "Submitted"),
        "{s:?}"
    );
    assert_eq!(env.sim.admin().orders().len(), 1);
    let open = call(&c, "ibkr_get_open_orders", json!({})).await?;
    assert_eq!(open["count"], 1, "{open}");
    assert_eq!(open["orders"][0]["orderId"].as_i64(), Some(id), "{open}");
    assert_eq!(open["orders"][0]["lmtPrice"], 1.25, "{open}");
    let t = call_err(
        &c,
        "ibkr_modify_order",
        json!({"orderId": 424242, "lmtPrice": 1.0}),
    )
    .await?;
    assert_eq!(t, "not found: no open order with id 424242");
    let audit = env.host.broker.audit().records()?;
    let got: Vec<_> = audit
        .iter()
        .map(|r| (r.event.as_str(), r.origin.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("place_requested", "tool:ibkr_place_order"),
            ("placed", "tool:ibkr_place_order"),
            ("modify_requested", "tool:ibkr_modify_order"),
            ("modified", "tool:ibkr_modify_order"),
            ("modify_refused", "tool:ibkr_modify_order"),
        ]
    );
    assert_eq!(audit[3].details["status"], m);
    assert_eq!(audit[3].details["request"]["lmtPrice"], 1.25);
    assert_eq!(
        audit[4].details,
        json!({
            "orderId": 424242,
            "changes": {"totalQuantity": null, "lmtPrice": 1.0, "auxPrice": null},
            "error": t,
        })
    );
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

fn last_event(broker: &e2e::ibkr_mcp::broker::Broker) -> String {
    broker
        .audit()
        .records()
        .expect("audit records")
        .pop()
        .map(|r| r.event)
        .unwrap_or_default()
}

/// A what-if answer for buying `qty` shares of a stock priced about `price` (the simulator's
/// rules: stock margin 25% of the value; commission $0.005 a share, at least $1).
fn assert_preview(p: &OrderPreview, qty: f64, price: f64) {
    let near = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() <= 0.011);
    assert_eq!(
        (p.commission, p.min_commission, p.max_commission),
        (Some(1.0), Some(1.0), Some(1.0)),
        "{p:?}"
    );
    assert_eq!(p.commission_currency, "USD", "{p:?}");
    assert_eq!(p.warning_text, "", "{p:?}");
    assert_eq!(p.equity_with_loan_change, Some(-1.0), "{p:?}");
    let ewl = p.equity_with_loan_before.expect("equity before");
    assert!(ewl > 0.0, "{p:?}");
    assert!(near(p.equity_with_loan_after, ewl - 1.0), "{p:?}");
    let change = p.init_margin_change.expect("a margin change");
    assert_eq!(p.maint_margin_change, Some(change), "{p:?}");
    let (im, mm) = (
        p.init_margin_before.expect("initial margin before"),
        p.maint_margin_before.expect("maintenance margin before"),
    );
    assert!(near(p.init_margin_after, im + change), "{p:?}");
    assert!(near(p.maint_margin_after, mm + change), "{p:?}");
    let expected = 0.25 * qty * price;
    assert!(
        (change - expected).abs() <= expected * 0.02,
        "margin change {change} for {qty} x {price}: {p:?}"
    );
}
