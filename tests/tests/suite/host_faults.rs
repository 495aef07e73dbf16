//! Gateway faults seen through the host: latency above the request timeout (read and order
//! tools, then the simulator's order state and the audit log), TWS's link to IB lost and
//! restored (1100 / 1101 / 1102), historical-data pacing (162).

use std::time::{Duration, Instant};

use e2e::{TestEnv, call, call_err};
use serde_json::json;

#[tokio::test]
async fn latency_above_the_request_timeout_is_a_timeout_error() -> anyhow::Result<()> {
    let timeout = Duration::from_millis(1_000);
    let env = TestEnv::start_with(|c| c.tws.request_timeout_ms = 1_000).await?;
    let c = env.client().await?;
    let admin = env.sim.admin();
    // Usable before the fault.
    call(&c, "ibkr_get_positions", json!({})).await?;
    assert!(admin.orders().is_empty());

    // Every request now waits 4 s at the gateway (the scenario), four times the timeout.
    let latency = Duration::from_millis(4_000);
    admin.set_latency(latency);

    let t = Instant::now();
    let text = call_err(&c, "ibkr_get_positions", json!({})).await?;
    let took = t.elapsed();
    assert_eq!(text, "positions timed out after 1.0s");
    // Answered at the timeout, not when the gateway answers.
    assert!(took >= timeout && took < latency, "took {took:?}");

    let order = json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 3,
                       "orderType": "LMT", "lmtPrice": 1.23});
    let t = Instant::now();
    let text = call_err(&c, "ibkr_place_order", order).await?;
    let took = t.elapsed();
    assert_eq!(text, "place order timed out after 1.0s");
    assert!(took >= timeout && took < latency, "took {took:?}");

    // The audit log recorded the order request before it was sent.
    let audit = env.host.broker.audit().recent();
    let requested: Vec<_> = audit
        .iter()
        .filter(|r| r.event == "place_requested")
        .collect();
    assert_eq!(requested.len(), 1, "{audit:?}");
    let r = &requested[0];
    assert_eq!(r.origin, "tool:ibkr_place_order");
    assert_eq!(r.details["request"]["contract"]["symbol"], "AAPL");
    assert_eq!(r.details["request"]["orderType"], "LMT");
    assert_eq!(r.details["request"]["totalQuantity"], 3.0);
    assert_eq!(r.details["request"]["lmtPrice"], 1.23);

    // The gateway still handles the delayed placeOrder: the order is live there although the
    // caller was told it timed out (see the report on issue 8: the host does not reconcile).
    admin.set_latency(Duration::ZERO);
    e2e::wait_until(
        Duration::from_secs(15),
        "the delayed order at the gateway",
        || !admin.orders().is_empty(),
    )
    .await?;
    let orders = admin.orders();
    assert_eq!(orders.len(), 1, "{orders:?}");
    let o = &orders[0];
    assert_eq!(
        (
            o.symbol.as_str(),
            o.action.as_str(),
            o.quantity,
            o.order_type.as_str()
        ),
        ("AAPL", "BUY", 3.0, "LMT")
    );
    assert_eq!(o.lmt_price, Some(1.23));
    assert_eq!(o.client_id, env.config.tws.client_id);

    // Latency removed and the delayed requests drained: the host is usable again on the same
    // connection, and it can see the order placed during the timeout.
    assert_eq!(admin.stats().accepted, 1, "the host did not reconnect");
    call(&c, "ibkr_get_positions", json!({})).await?;
    let open = call(&c, "ibkr_get_open_orders", json!({})).await?;
    let ids: Vec<i64> = open["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["orderId"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [o.order_id as i64], "{open}");
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn connectivity_lost_fails_calls_fast_until_restored() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    let admin = env.sim.admin();
    let lost_text = tws_sim::admin::notice_text(1100).unwrap();
    let mut status = env.host.broker.watch_status();
    let s = call(&c, "ibkr_get_status", json!({})).await?;
    assert_eq!(s["ibConnectivityLost"], false);

    for restore in [1102, 1101] {
        admin.connectivity(1100)?;
        tokio::time::timeout(
            Duration::from_secs(5),
            status.wait_for(|s| s.ib_connectivity_lost),
        )
        .await??;
        // The socket to TWS is up; TWS's link to IB is not.
        let s = call(&c, "ibkr_get_status", json!({})).await?;
        assert_eq!(s["state"], "connected");
        assert_eq!(s["ibConnectivityLost"], true);
        assert_eq!(s["lastErrorCode"], 1100);
        assert_eq!(s["lastError"], lost_text);

        // Calls fail fast with the notice instead of waiting for the 10 s request timeout.
        let want = format!("TWS error 1100: {lost_text}");
        let t = Instant::now();
        let text = call_err(&c, "ibkr_get_positions", json!({})).await?;
        assert_eq!(text, want);
        let text = call_err(
            &c,
            "ibkr_place_order",
            json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1,
                   "orderType": "LMT", "lmtPrice": 1.0}),
        )
        .await?;
        assert_eq!(text, want);
        assert!(
            t.elapsed() < env.config.tws.request_timeout() / 2,
            "took {:?}",
            t.elapsed()
        );
        assert!(admin.orders().is_empty(), "an order reached the gateway");

        admin.connectivity(restore)?;
        tokio::time::timeout(
            Duration::from_secs(5),
            status.wait_for(|s| !s.ib_connectivity_lost),
        )
        .await??;
        let s = call(&c, "ibkr_get_status", json!({})).await?;
        assert_eq!(s["ibConnectivityLost"], false, "after {restore}");
        assert_eq!(s["lastErrorCode"], serde_json::Value::Null);
        let p = call(&c, "ibkr_get_positions", json!({})).await?;
        assert!(!p["positions"].as_array().unwrap().is_empty(), "{p}");
    }
    // A data-farm notice is not a connectivity change.
    admin.farm(2103)?;
    admin.farm(2104)?;
    call(&c, "ibkr_get_positions", json!({})).await?;
    assert!(!env.host.broker.status().ib_connectivity_lost);
    assert_eq!(admin.stats().accepted, 1, "the host reconnected");
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn historical_pacing_violation_is_a_tool_error_with_code_162() -> anyhow::Result<()> {
    let env = TestEnv::start().await?;
    let c = env.client().await?;
    let admin = env.sim.admin();
    admin.set_pacing(true);
    // Small bars are paced: the same request twice within 15 s is a violation.
    let args = json!({"symbol": "AAPL", "durationStr": "1800 S", "barSizeSetting": "5 secs",
                      "useRTH": false});
    let bars = call(&c, "ibkr_get_historical_data", args.clone()).await?;
    assert!(bars["count"].as_u64().unwrap() > 0, "{bars}");
    let text = call_err(&c, "ibkr_get_historical_data", args).await?;
    assert_eq!(
        text,
        "TWS error 162: Historical Market Data Service error message:Pacing violation"
    );
    assert_eq!(admin.stats().pacing_violations, 1);
    // Only that request is refused: daily bars are not paced.
    let bars = call(
        &c,
        "ibkr_get_historical_data",
        json!({"symbol": "AAPL", "durationStr": "5 D", "barSizeSetting": "1 day"}),
    )
    .await?;
    assert!(bars["count"].as_u64().unwrap() > 0, "{bars}");
    c.cancel().await?;
    env.shutdown().await;
    Ok(())
}
