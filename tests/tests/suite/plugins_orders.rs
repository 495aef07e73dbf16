//! Plugin orders through the real host and simulator: a plugin modifies and cancels only the
//! orders it placed (not the MCP tools' orders, not other plugins'), unless the operator
//! allows it; brackets in a chosen account (WIT 0.1.1); a plugin built against the frozen
//! WIT release 0.1.0 still trades on this host; a restarted host restores from the audit log
//! which plugin placed which order.

use std::path::Path;
use std::time::Duration;

use anyhow::{Result, anyhow};
use e2e::ibkr_mcp::app::HostHandle;
use e2e::ibkr_mcp::broker::ConnectionState;
use e2e::ibkr_mcp::config::Config;
use e2e::ibkr_mcp::plugins::config::PluginSettings;
use e2e::ibkr_mcp::plugins::{Capability, Plugins, testing};
use e2e::{Client, TestEnv};
use serde_json::{Value, json};

struct Env {
    env: TestEnv,
    plugins: Plugins,
    _dir: tempfile::TempDir,
}

/// Simulator + host with the test plugins; `audit` = the audit log file (none: in memory).
async fn start(audit: Option<&Path>) -> Result<Env> {
    e2e::init_tracing();
    let dir = tempfile::tempdir()?;
    // The same component under three names: three plugins as far as the host is concerned.
    for name in ["sneaky", "other", "admin"] {
        testing::install_guest("sneaky", dir.path(), name);
    }
    testing::install_guest("compat_minor", dir.path(), "compat");
    let mut config = e2e::test_config();
    if let Some(path) = audit {
        config.audit.path = path.display().to_string();
    }
    let sim =
        e2e::ibkr_mcp::app::start_sim(&mut config, e2e::tws_sim::SimOptions::default()).await?;
    let p = &mut config.plugins;
    p.dir = Some(dir.path().to_path_buf());
    p.cache_dir = Some(testing::repo_root().join("target/plugin-cache-e2e"));
    p.hot_reload = false;
    for (name, all) in [("sneaky", false), ("other", false), ("admin", true)] {
        p.plugin.insert(
            name.into(),
            PluginSettings {
                grant: Some(vec![Capability::Orders]),
                manage_all_orders: Some(all),
                ..Default::default()
            },
        );
    }
    p.plugin.insert(
        "compat".into(),
        PluginSettings {
            grant: Some(vec![Capability::MarketData, Capability::Orders]),
            ..Default::default()
        },
    );
    let (host, plugins) = start_host(&config).await?;
    Ok(Env {
        env: TestEnv { sim, host, config },
        plugins,
        _dir: dir,
    })
}

/// The host and its plugins on `config` (the simulator already running), connected.
async fn start_host(config: &Config) -> Result<(HostHandle, Plugins)> {
    let (broker, registry) = e2e::ibkr_mcp::app::core(config)?;
    let plugins = e2e::ibkr_mcp::plugins::start(&config.plugins, broker.clone(), &registry)
        .await
        .map_err(|e| anyhow!("plugins: {e}"))?;
    let host = e2e::ibkr_mcp::app::start_http_with(config, broker, registry).await?;
    e2e::wait_state(&host, ConnectionState::Connected, Duration::from_secs(10)).await?;
    let loaded: Vec<String> = plugins
        .host
        .plugins()
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    for name in ["sneaky", "other", "admin", "compat"] {
        anyhow::ensure!(
            loaded.iter().any(|l| l == name),
            "{name} not loaded: {loaded:?}"
        );
    }
    Ok((host, plugins))
}

async fn open_order(client: &Client, id: i64) -> Result<Option<Value>> {
    let open = e2e::call(client, "ibkr_get_open_orders", json!({})).await?;
    Ok(open["orders"]
        .as_array()
        .ok_or_else(|| anyhow!("no orders array: {open}"))?
        .iter()
        .find(|x| x["orderId"].as_i64() == Some(id))
        .cloned())
}

/// A far-from-market AAPL limit order placed by the MCP tool `ibkr_place_order`; its id.
async fn place_tool_order(client: &Client) -> Result<i64> {
    let o = e2e::call(
        client,
        "ibkr_place_order",
        json!({"symbol": "AAPL", "action": "BUY", "totalQuantity": 1, "orderType": "LMT", "lmtPrice": 1.0}),
    )
    .await?;
    o["orderId"]
        .as_i64()
        .ok_or_else(|| anyhow!("no orderId: {o}"))
}

fn id_of(v: &Value) -> Result<i64> {
    v["order_id"]
        .as_i64()
        .ok_or_else(|| anyhow!("no order_id in {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_modify_and_cancel_only_their_own_orders() -> Result<()> {
    let env = start(None).await?;
    let c = env.env.client().await?;

    // An order of an MCP tool: out of reach of plugins.
    let tool_id = place_tool_order(&c).await?;
    for (tool, args) in [
        ("sneaky__cancel", json!({"order_id": tool_id})),
        (
            "sneaky__modify",
            json!({"order_id": tool_id, "limit_price": 2.0}),
        ),
    ] {
        let err = e2e::call_err(&c, tool, args).await?;
        assert!(
            err.contains("[permission-denied]") && err.contains(&format!("order {tool_id}")),
            "{tool}: {err}"
        );
    }
    let still = open_order(&c, tool_id)
        .await?
        .ok_or_else(|| anyhow!("tool order {tool_id} vanished"))?;
    assert_ne!(still["status"], "Cancelled", "{still}");
    assert_eq!(still["lmtPrice"], 1.0, "{still}");

    // Another plugin's order: out of reach too, and the error names the owner.
    let theirs = e2e::call(
        &c,
        "other__place_limit",
        json!({"symbol": "AAPL", "quantity": 1, "limit_price": 1.0}),
    )
    .await?;
    let other_id = id_of(&theirs)?;
    let err = e2e::call_err(&c, "sneaky__cancel", json!({"order_id": other_id})).await?;
    assert!(
        err.contains("[permission-denied]")
            && err.contains(&format!("order {other_id}"))
            && err.contains("`other`"),
        "{err}"
    );
    // Its owner may modify and cancel it.
    e2e::call(
        &c,
        "other__modify",
        json!({"order_id": other_id, "limit_price": 1.1}),
    )
    .await?;
    let cancelled = e2e::call(&c, "other__cancel", json!({"order_id": other_id})).await?;
    assert_eq!(cancelled["state"], "Cancelled", "{cancelled}");

    // The operator allowed `admin` to manage every order (and `plugins list` says so).
    let rows = env.plugins.host.summaries();
    let flag = |n: &str| rows.iter().any(|r| r.name == n && r.manage_all_orders);
    assert!(flag("admin") && !flag("sneaky") && !flag("other"));
    let cancelled = e2e::call(&c, "admin__cancel", json!({"order_id": tool_id})).await?;
    assert_eq!(cancelled["state"], "Cancelled", "{cancelled}");

    // Refused attempts never reached the order path; allowed ones are audited as plugins.
    let audit = env.env.host.broker.audit().recent();
    assert!(
        !audit.iter().any(|r| r.origin == "plugin:sneaky"),
        "sneaky reached the order path: {audit:?}"
    );
    assert!(
        audit
            .iter()
            .any(|r| r.event == "cancelled" && r.origin == "plugin:admin"),
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .any(|r| r.event == "cancelled" && r.origin == "plugin:other")
    );

    c.cancel().await?;
    drop(env.plugins);
    env.env.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brackets_go_to_the_chosen_account_and_stay_the_plugins_own() -> Result<()> {
    let env = start(None).await?;
    let c = env.env.client().await?;
    let args = |account: &str| {
        json!({"account": account, "symbol": "AAPL", "quantity": 1, "entry_price": 1.0,
               "take_profit": 1.5, "stop_loss": 0.5})
    };

    // An account the broker does not know: TWS refuses it (so it was really passed on).
    let err = e2e::call_err(&c, "sneaky__bracket_in", args("DU0000000")).await?;
    assert!(err.contains("DU0000000"), "{err}");

    let b = e2e::call(&c, "sneaky__bracket_in", args("DU1234567")).await?;
    let parent = id_of(&b["parent"])?;
    let legs = [parent, id_of(&b["take_profit"])?, id_of(&b["stop_loss"])?];
    for id in legs {
        let o = open_order(&c, id)
            .await?
            .ok_or_else(|| anyhow!("leg {id} not open"))?;
        assert_eq!(o["account"], "DU1234567", "{o}");
    }
    // Every leg is the plugin's own; another plugin may not touch them.
    let err = e2e::call_err(&c, "other__cancel", json!({"order_id": legs[2]})).await?;
    assert!(err.contains("[permission-denied]"), "{err}");
    e2e::call(
        &c,
        "sneaky__modify",
        json!({"order_id": legs[1], "limit_price": 1.6}),
    )
    .await?;
    let s = e2e::call(&c, "sneaky__cancel", json!({"order_id": parent})).await?;
    assert_eq!(s["state"], "Cancelled", "{s}");

    c.cancel().await?;
    drop(env.plugins);
    env.env.shutdown().await;
    Ok(())
}

/// A component built against the frozen WIT release 0.1.0 runs on this 0.1.1 host: quotes,
/// a bracket through the 0.1.0 `orders.bracket` and a cancel of its own parent order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_built_against_wit_0_1_0_trades_on_this_host() -> Result<()> {
    let env = start(None).await?;
    let c = env.env.client().await?;
    let summary = env
        .plugins
        .host
        .plugin("compat")
        .ok_or_else(|| anyhow!("compat not loaded"))?;
    assert_eq!(summary.wit_version, "0.1.0");

    let v = e2e::call(&c, "compat__version", json!({})).await?;
    assert_eq!(v["built_against"], "0.1.0");
    let q = e2e::call(&c, "compat__quote", json!({"symbol": "AAPL"})).await?;
    assert!(q["bid"].as_f64().is_some_and(|b| b > 0.0), "{q}");
    let b = e2e::call(
        &c,
        "compat__bracket",
        json!({"symbol": "AAPL", "quantity": 1, "entry_price": 1.0, "take_profit": 1.5, "stop_loss": 0.5}),
    )
    .await?;
    assert!(
        ["Cancelled", "PendingCancel"].contains(&b["cancel_state"].as_str().unwrap_or("")),
        "{b}"
    );
    let audit = env.env.host.broker.audit().recent();
    assert!(
        audit
            .iter()
            .any(|r| r.event == "placed" && r.origin == "plugin:compat"),
        "{audit:?}"
    );

    c.cancel().await?;
    drop(env.plugins);
    env.env.shutdown().await;
    Ok(())
}

/// Ownership outlives the host process: a new host over the same audit log and the same
/// gateway lets a plugin cancel the order it placed before the restart, and still keeps the
/// other plugins and the plugins' hands off orders that are not theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_host_restores_plugin_order_ownership_from_the_audit_log() -> Result<()> {
    let audit_dir = tempfile::tempdir()?;
    let audit = audit_dir.path().join("audit.jsonl");
    let env = start(Some(&audit)).await?;
    let c = env.env.client().await?;
    let mine = id_of(
        &e2e::call(
            &c,
            "sneaky__place_limit",
            json!({"symbol": "AAPL", "quantity": 1, "limit_price": 1.0}),
        )
        .await?,
    )?;
    let tool_id = place_tool_order(&c).await?;
    c.cancel().await?;

    // Restart the host only: the gateway keeps the orders working.
    let Env {
        env: TestEnv { sim, host, config },
        plugins,
        _dir,
    } = env;
    drop(plugins);
    host.shutdown().await;
    let (host, plugins) = start_host(&config).await?;
    let env = TestEnv { sim, host, config };
    let c = env.client().await?;
    assert!(
        open_order(&c, mine).await?.is_some(),
        "order {mine} is no longer working"
    );

    let err = e2e::call_err(&c, "other__cancel", json!({"order_id": mine})).await?;
    assert!(
        err.contains("[permission-denied]") && err.contains("`sneaky`"),
        "{err}"
    );
    let err = e2e::call_err(&c, "sneaky__cancel", json!({"order_id": tool_id})).await?;
    assert!(err.contains("[permission-denied]"), "{err}");
    let s = e2e::call(&c, "sneaky__cancel", json!({"order_id": mine})).await?;
    assert_eq!(s["state"], "Cancelled", "{s}");
    let text = std::fs::read_to_string(&audit)?;
    e2e::ibkr_mcp::broker::audit::verify_chain(&text).map_err(|e| anyhow!("{e}"))?;
    assert!(
        text.lines()
            .any(|l| l.contains("\"cancelled\"") && l.contains("plugin:sneaky")),
        "{text}"
    );

    c.cancel().await?;
    drop(plugins);
    env.shutdown().await;
    Ok(())
}
