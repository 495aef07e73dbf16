//! `rebalance_portfolio` end to end: MCP client -> host -> WebAssembly plugin -> simulator.
//! The plugin reads live positions and quotes, plans whole-share trades (sells first), places
//! them through the host's order path, waits for the fills and verifies the weights; the test
//! then checks the simulated portfolio independently through the host's own tools.

use crate::workflows_common;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use workflows_common::{Setup, position, start, workflow};

/// Targets for the simulator's default DU1234567 portfolio (VTI/TLT/SPY/AAPL/BND + cash): every
/// trade stays under the default $250k per-order notional guardrail.
fn targets() -> Value {
    json!({"VTI": 0.40, "TLT": 0.20, "SPY": 0.15, "BND": 0.20, "AAPL": 0.05})
}

fn plan_trades(plan: &Value) -> Vec<Value> {
    plan["trades"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn rebalance_moves_the_simulated_portfolio_to_its_targets() -> anyhow::Result<()> {
    let w = start(Setup::default()).await?;
    let c = w.client().await?;

    // The plugin's tools are listed with the right annotations.
    let tools = c.list_all_tools().await?;
    let find = |n: &str| tools.iter().find(|t| t.name == n).cloned();
    for t in ["drift_report", "plan", "rebalance", "verify"] {
        assert!(
            find(&format!("rebalance_portfolio__{t}")).is_some(),
            "missing {t}"
        );
    }
    let exec = find("rebalance_portfolio__rebalance").unwrap();
    assert_eq!(
        exec.annotations.as_ref().and_then(|a| a.destructive_hint),
        Some(true)
    );
    let plan_tool = find("rebalance_portfolio__plan").unwrap();
    assert_eq!(
        plan_tool
            .annotations
            .as_ref()
            .and_then(|a| a.read_only_hint),
        Some(true)
    );

    // 1. Drift against the targets, from live positions.
    let d = workflow(
        &c,
        "rebalance_portfolio__drift_report",
        json!({"targets": targets(), "cash_buffer_pct": 0.01}),
    )
    .await?;
    let data = &d["data"];
    assert_eq!(data["account"], "DU1234567", "{data}");
    assert!(
        data["net_liquidation"].as_f64().unwrap() > 500_000.0,
        "{data}"
    );
    assert!(data["max_drift"].as_f64().unwrap() > 0.02, "{data}");
    assert_eq!(data["rebalance_needed"], true);

    // 2. The plan: sells strictly before buys, whole shares, commissions, non-negative cash.
    let p = workflow(
        &c,
        "rebalance_portfolio__plan",
        json!({"targets": targets(), "cash_buffer_pct": 0.01}),
    )
    .await?;
    let plan = &p["data"]["plan"];
    let trades = plan_trades(plan);
    assert!(trades.len() >= 3, "{plan}");
    let first_buy = trades
        .iter()
        .position(|t| t["side"] == "BUY")
        .expect("a buy");
    assert!(trades[..first_buy].iter().all(|t| t["side"] == "SELL"));
    assert!(
        trades[first_buy..].iter().all(|t| t["side"] == "BUY"),
        "sells before buys: {plan}"
    );
    for t in &trades {
        let q = t["quantity"].as_f64().unwrap();
        assert!(q > 0.0 && q.fract() == 0.0, "whole shares: {t}");
        assert!(
            t["commission"].as_f64().unwrap() > 0.0,
            "estimated commission: {t}"
        );
    }
    assert!(plan["residual_cash"].as_f64().unwrap() >= 0.0, "{plan}");

    // 3. Without `execute` nothing is placed.
    let before: BTreeMap<&str, f64> = {
        let mut m = BTreeMap::new();
        for s in ["VTI", "TLT", "SPY", "AAPL", "BND"] {
            m.insert(s, position(&c, s).await?);
        }
        m
    };
    let dry = workflow(
        &c,
        "rebalance_portfolio__rebalance",
        json!({"targets": targets(), "cash_buffer_pct": 0.01}),
    )
    .await?;
    assert_eq!(dry["data"]["status"], "dry_run");
    for (s, q) in &before {
        assert_eq!(position(&c, s).await?, *q, "{s} changed by a dry run");
    }

    // 4. Execute: orders go through the host's order path; the plugin verifies the result.
    let r = workflow(
        &c,
        "rebalance_portfolio__rebalance",
        json!({"targets": targets(), "cash_buffer_pct": 0.01, "execute": true}),
    )
    .await?;
    let data = &r["data"];
    assert_eq!(data["status"], "rebalanced", "{}", r["report"]);
    assert_eq!(data["fills_complete"], true, "{}", r["report"]);
    let orders = data["orders"].as_array().unwrap();
    assert_eq!(orders.len(), trades.len(), "{data}");
    assert!(orders.iter().all(|o| o.get("error").is_none()), "{data}");
    assert_eq!(
        data["verification"]["all_within_one_lot"], true,
        "{}",
        r["report"]
    );

    // 5. Independent check with the host's own tools: every position within one share of the
    // quantity its target weight implies at current prices.
    let summary = e2e::call(&c, "ibkr_get_account_summary", json!({})).await?;
    let tag = |t: &str| -> f64 {
        summary["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["tag"] == t)
            .and_then(|v| v["value"].as_str())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {t} in {summary}"))
    };
    let cash = tag("TotalCashValue");
    let mut values = BTreeMap::new();
    let mut prices = BTreeMap::new();
    for (s, _) in targets().as_object().unwrap() {
        let q = e2e::call(&c, "ibkr_get_quote", json!({"symbol": s})).await?;
        let px = q["last"].as_f64().or(q["close"].as_f64()).expect("price");
        prices.insert(s.clone(), px);
        values.insert(s.clone(), position(&c, s).await? * px);
    }
    let nav = values.values().sum::<f64>() + cash;
    let investable = nav * 0.99;
    for (s, w) in targets().as_object().unwrap() {
        let ideal = w.as_f64().unwrap() * investable / prices[s];
        let held = position(&c, s).await?;
        assert!(
            (held - ideal).abs() <= 1.0 + 1e-6,
            "{s}: holds {held}, target {ideal:.2} shares (weight {:.4} vs {w})",
            values[s] / nav
        );
    }
    assert!(cash >= 0.0, "no margin used: cash {cash}");

    // 6. The plugin's own verification agrees, and the audit log attributes the orders.
    let v = workflow(
        &c,
        "rebalance_portfolio__verify",
        json!({"targets": targets(), "cash_buffer_pct": 0.01}),
    )
    .await?;
    assert_eq!(
        v["data"]["verification"]["all_within_one_lot"], true,
        "{}",
        v["report"]
    );
    // One audited placement per trade, attributed to the plugin; nothing else placed.
    let audit = w.env.host.broker.audit().recent();
    let placed: Vec<_> = audit.iter().filter(|r| r.event == "placed").collect();
    assert_eq!(placed.len(), orders.len(), "{audit:?}");
    assert!(
        placed
            .iter()
            .all(|r| r.origin == "plugin:rebalance_portfolio"),
        "{placed:?}"
    );
    // The simulator received exactly the orders the plugin reports.
    let mut sim: Vec<(String, String, f64)> = w
        .env
        .sim
        .admin()
        .orders()
        .iter()
        .map(|o| (o.symbol.clone(), o.action.clone(), o.quantity))
        .collect();
    let mut planned: Vec<(String, String, f64)> = orders
        .iter()
        .map(|t| {
            (
                t["symbol"].as_str().unwrap().to_string(),
                t["side"].as_str().unwrap().to_string(),
                t["quantity"].as_f64().unwrap(),
            )
        })
        .collect();
    sim.sort_by(|a, b| a.partial_cmp(b).unwrap());
    planned.sort_by(|a, b| a.partial_cmp(b).unwrap());
    assert_eq!(sim, planned);

    c.cancel().await?;
    w.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn rebalance_refuses_to_trade_without_confirmation() -> anyhow::Result<()> {
    // No waiver and a client without a confirmation channel: nothing may be placed.
    let w = start(Setup {
        require_confirmation: true,
        ..Setup::default()
    })
    .await?;
    let c = w.client().await?;
    let vti = position(&c, "VTI").await?;
    let err = e2e::call_err(
        &c,
        "rebalance_portfolio__rebalance",
        json!({"targets": targets(), "execute": true}),
    )
    .await?;
    assert_eq!(
        err,
        "[permission-denied] plugin `rebalance_portfolio` failed: permission denied: no \
         confirmation channel: the MCP client cannot confirm"
    );
    assert!(
        w.env.sim.admin().orders().is_empty(),
        "nothing reached the gateway"
    );
    assert_eq!(position(&c, "VTI").await?, vti);

    // Invalid targets are refused with a message naming the problem.
    let err = e2e::call_err(
        &c,
        "rebalance_portfolio__plan",
        json!({"targets": {"VTI": 0.5, "TLT": 0.3}}),
    )
    .await?;
    assert!(err.contains("sum to 0.8"), "{err}");
    c.cancel().await?;
    w.shutdown().await;
    Ok(())
}
