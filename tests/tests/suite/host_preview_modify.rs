//! What-if previews and order modification through the broker adapter
//! (`Broker::preview_order`, `Broker::modify_order`) and the plugin backend's
//! `orders.preview` / `orders.modify`, against the simulator.

use e2e::ibkr_mcp::broker::{
    BrokerError, ContractSpec, OrderChanges, OrderOrigin, OrderRequest, Side,
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
    let before = env.sim.admin().orders().len();
    let audit_before = broker.audit().recent().len();

    let p = broker
        .preview_order(&limit("AAPL", 10.0, 150.0), &origin())
        .await?;
    assert!(p.init_margin_change.is_some_and(|m| m > 0.0), "{p:?}");
    assert!(p.maint_margin_change.is_some(), "{p:?}");
    assert!(
        p.init_margin_before.is_some() && p.init_margin_after.is_some(),
        "{p:?}"
    );
    assert!(p.equity_with_loan_after.is_some(), "{p:?}");
    assert!(p.commission.is_some_and(|c| c > 0.0), "{p:?}");
    assert_eq!(p.commission_currency, "USD");

    assert_eq!(
        env.sim.admin().orders().len(),
        before,
        "what-if placed an order"
    );
    assert!(broker.open_orders().await?.is_empty());
    assert_eq!(
        broker.audit().recent().len(),
        audit_before,
        "previews are not audited"
    );

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
    assert_eq!(env.sim.admin().orders().len(), before);

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
    assert_eq!(wp.init_margin_change, p.init_margin_change);
    assert_eq!(wp.commission, p.commission);
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
    assert_eq!(env.sim.admin().orders().len(), before);

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
    assert_eq!(m.order_id, id);
    assert!(
        ["PreSubmitted", "Submitted"].contains(&m.status.as_str()),
        "{m:?}"
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
    let o = sim_order(id);
    assert_eq!((o.quantity, o.lmt_price), (3.0, Some(1.5)), "{o:?}");
    assert_eq!(
        env.sim.admin().orders().len(),
        1,
        "modify must not add an order"
    );

    // Audited as modifications through the same pipeline.
    let audit = broker.audit().recent();
    let modified: Vec<_> = audit.iter().filter(|r| r.event == "modified").collect();
    assert_eq!(modified.len(), 2, "{audit:?}");
    assert!(modified.iter().any(|r| r.origin == "plugin:test_plugin"));
    assert!(audit.iter().any(|r| r.event == "modify_requested"));

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
    assert!(matches!(e, BrokerError::Guardrail { .. }), "{e:?}");
    assert!(audit_has(&broker, "modify_refused"));
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
    assert!(
        matches!(&e, BrokerError::InvalidArgument { arg, .. } if arg == "auxPrice"),
        "{e:?}"
    );

    // Unknown id: NotFound naming it.
    let e = broker
        .modify_order(987_654, &changes, &origin())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, BrokerError::NotFound(m) if m.contains("987654")),
        "{e:?}"
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
    assert!(format!("{we:?}").contains("987654"), "{we:?}");

    broker.cancel_order(id, &origin()).await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn mcp_tools_preview_and_modify() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    let before = env.sim.admin().orders().len();
    let p = call(&c, "ibkr_preview_order", json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 5, "orderType": "LMT", "lmtPrice": 100.0})).await?;
    assert!(
        p["initMarginChange"].as_f64().is_some_and(|m| m > 0.0),
        "{p}"
    );
    assert!(p["commission"].as_f64().is_some_and(|m| m > 0.0), "{p}");
    assert_eq!(env.sim.admin().orders().len(), before);
    let t = call_err(&c, "ibkr_preview_order", json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1_000_000, "orderType": "LMT", "lmtPrice": 1.0})).await?;
    assert!(t.contains("max_order_quantity"), "{t}");

    let o = call(&c, "ibkr_place_order", json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1, "orderType": "LMT", "lmtPrice": 1.0})).await?;
    let id = o["orderId"].as_i64().unwrap();
    let m = call(
        &c,
        "ibkr_modify_order",
        json!({"orderId": id, "lmtPrice": 1.25}),
    )
    .await?;
    assert_eq!(m["orderId"].as_i64(), Some(id), "{m}");
    let open = call(&c, "ibkr_get_open_orders", json!({})).await?;
    let found = open["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["orderId"].as_i64() == Some(id))
        .cloned()
        .unwrap_or_else(|| panic!("order {id} not open: {open}"));
    assert_eq!(found["lmtPrice"], 1.25, "{found}");
    let t = call_err(
        &c,
        "ibkr_modify_order",
        json!({"orderId": 424242, "lmtPrice": 1.0}),
    )
    .await?;
    assert!(t.contains("424242"), "{t}");
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

fn audit_has(broker: &e2e::ibkr_mcp::broker::Broker, event: &str) -> bool {
    broker.audit().recent().iter().any(|r| r.event == event)
}
