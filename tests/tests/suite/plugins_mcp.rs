//! Plugins through MCP: real simulator + host on loopback, rmcp client over Streamable HTTP.
//! Hostile plugins fail with specific errors while other calls and plugins keep working;
//! hot reload changes tools/list and notifies the client. Nothing here trades or touches the
//! simulator's state: each test runs its own host on the binary's shared simulator.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow};
use e2e::ibkr_mcp::plugins::config::{PartialLimits, PluginSettings};
use e2e::ibkr_mcp::plugins::{Capability, PluginSummary, Plugins, testing};
use e2e::{Client, SharedEnv};
use serde_json::json;

struct Env {
    env: SharedEnv,
    plugins: Plugins,
    dir: tempfile::TempDir,
}

/// The hostile plugin's deadline. Calls made while `hostile__spin` runs must return before it
/// ends, so it leaves them a generous margin.
const SPIN_LIMIT_MS: u64 = 3_000;

async fn start() -> Result<Env> {
    e2e::init_tracing();
    let dir = tempfile::tempdir()?;
    testing::install_guest("template", dir.path(), "template");
    testing::install_guest("hostile", dir.path(), "hostile");
    let mut config = e2e::shared_config();
    let p = &mut config.plugins;
    p.dir = Some(dir.path().to_path_buf());
    p.cache_dir = Some(testing::repo_root().join("target/plugin-cache-e2e"));
    p.hot_reload = true;
    p.poll_ms = 100;
    p.plugin.insert(
        "template".into(),
        PluginSettings {
            grant: Some(vec![Capability::MarketData]),
            ..Default::default()
        },
    );
    p.plugin.insert(
        "hostile".into(),
        PluginSettings {
            grant: Some(vec![Capability::MarketData]),
            limits: Some(PartialLimits {
                memory_mib: Some(32),
                timeout_ms: Some(SPIN_LIMIT_MS),
                max_output_kib: Some(512),
                max_host_calls: Some(1_000),
                ..Default::default()
            }),
            ..Default::default()
        },
    );
    p.plugin.insert(
        "compat".into(),
        PluginSettings {
            grant: Some(vec![Capability::MarketData]),
            ..Default::default()
        },
    );
    let (broker, registry) = e2e::ibkr_mcp::app::core(&config)?;
    let plugins = e2e::ibkr_mcp::plugins::start(&config.plugins, broker.clone(), &registry)
        .await
        .map_err(|e| anyhow!("plugins: {e}"))?;
    let host = e2e::ibkr_mcp::app::start_http_with(&config, broker, registry).await?;
    let env = SharedEnv {
        sim: e2e::shared_sim(),
        host,
        config,
    };
    env.wait_connected(Duration::from_secs(10)).await?;
    Ok(Env { env, plugins, dir })
}

async fn tool_names(client: &Client) -> Result<Vec<String>> {
    Ok(client
        .list_all_tools()
        .await?
        .into_iter()
        .map(|t| t.name.to_string())
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_tools_and_prompts_are_listed_and_callable() -> Result<()> {
    let env = start().await?;
    let client = env.env.client().await?;

    let tools = client.list_all_tools().await?;
    let t = tools
        .iter()
        .find(|t| t.name == "template__quote_spread")
        .ok_or_else(|| anyhow!("template tool missing"))?;
    let ann = t.annotations.as_ref().unwrap();
    assert_eq!(ann.read_only_hint, Some(true));
    assert_eq!(ann.destructive_hint, Some(false));
    assert_eq!(t.input_schema["required"], json!(["symbol"]));
    assert!(
        tools.iter().any(|t| t.name == "ibkr_get_positions"),
        "built-ins still listed"
    );
    for t in &tools {
        let n = t.name.as_ref();
        assert!(
            n.len() <= 64
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
            "tool name {n} violates MCP naming rules"
        );
    }

    let prompts = client.list_all_prompts().await?;
    let p = prompts
        .iter()
        .find(|p| p.name == "template__quote_brief")
        .ok_or_else(|| anyhow!("template prompt missing"))?;
    let args = p.arguments.as_ref().unwrap();
    assert_eq!(args[0].name, "symbol");
    assert_eq!(args[0].required, Some(true));

    let mut req = rmcp::model::GetPromptRequestParams::new("template__quote_brief");
    req.arguments = Some(json!({"symbol": "MSFT"}).as_object().unwrap().clone());
    let r = client.get_prompt(req).await?;
    let text = serde_json::to_string(&r.messages)?;
    assert!(text.contains("MSFT"), "{text}");

    // A real quote from the simulator through the plugin's market-data import.
    let out = e2e::call(&client, "template__quote_spread", json!({"symbol": "AAPL"})).await?;
    assert!(out["bid"].as_f64().unwrap() > 0.0, "{out}");
    assert!(
        out["ask"].as_f64().unwrap() >= out["bid"].as_f64().unwrap(),
        "{out}"
    );

    let err = e2e::call_err(&client, "template__quote_spread", json!({})).await?;
    assert!(
        err.contains("[invalid-argument]") && err.contains("symbol"),
        "{err}"
    );

    client.cancel().await?;
    drop(env.plugins);
    env.env.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_plugins_fail_specifically_while_the_host_keeps_serving() -> Result<()> {
    let env = start().await?;
    let client = env.env.client().await?;

    // An infinite loop in flight while the other plugin and built-in tools answer: both
    // calls return while the spin is still running (it ends only at its 3 s deadline).
    // (host/src/plugins/tests.rs checks the same in-process, where the loop's start is
    // observable.)
    let spin_client = env.env.client().await?;
    let spin = tokio::spawn(async move {
        let t = Instant::now();
        let r = e2e::call_err(&spin_client, "hostile__spin", json!({})).await;
        (r, t.elapsed())
    });
    e2e::call(&client, "template__quote_spread", json!({"symbol": "MSFT"})).await?;
    e2e::call(&client, "ibkr_get_positions", json!({})).await?;
    assert!(
        !spin.is_finished(),
        "the spinning call ended before the concurrent calls returned: {:?}",
        spin.await
    );
    let (spin, took) = spin.await?;
    let spin = spin?;
    assert!(
        spin.contains("[timeout]") && spin.contains(&format!("{SPIN_LIMIT_MS} ms")),
        "{spin}"
    );
    // Generous: without the deadline the loop would never end.
    assert!(
        took < Duration::from_secs(30),
        "spin stopped after {took:?}"
    );

    let cases = [
        ("hostile__bomb", "[memory-limit]"),
        ("hostile__panic", "[trap]"),
        ("hostile__flood", "[host-call-budget]"),
    ];
    for (tool, want) in cases {
        let err = e2e::call_err(&client, tool, json!({})).await?;
        assert!(err.contains(want), "{tool}: {err}");
    }
    let huge = e2e::call_err(&client, "hostile__huge", json!({})).await?;
    assert!(
        huge.contains("[output-too-large]") || huge.contains("[memory-limit]"),
        "{huge}"
    );

    // Same plugin still works, the other plugin still works.
    let ok = e2e::call(&client, "hostile__ok", json!({"x": 1})).await?;
    assert_eq!(ok["echo"]["x"], 1);
    let q = e2e::call(&client, "hostile__quote", json!({})).await?;
    assert!(q["last"].as_f64().is_some(), "{q}");
    e2e::call(&client, "template__quote_spread", json!({"symbol": "AAPL"})).await?;

    client.cancel().await?;
    drop(env.plugins);
    env.env.shutdown().await;
    Ok(())
}

async fn wait_for(client: &Client, pred: impl Fn(&[String]) -> bool) -> Result<Vec<String>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let names = tool_names(client).await?;
        if pred(&names) {
            return Ok(names);
        }
        if Instant::now() > deadline {
            return Err(anyhow!("tools/list never changed as expected: {names:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The host's report on plugin `name`, once a directory scan has seen its file.
async fn wait_summary(plugins: &Plugins, name: &str) -> Result<PluginSummary> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(s) = plugins
            .host
            .summaries()
            .into_iter()
            .find(|s| s.name == name)
        {
            return Ok(s);
        }
        if Instant::now() > deadline {
            return Err(anyhow!("plugin {name} never reported by a scan"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn install(package: &str, dir: &Path, name: &str) {
    testing::install_guest(package, dir, name);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_changes_tools_and_notifies_clients() -> Result<()> {
    let env = start().await?;
    let client = env.env.client().await?;
    let before = tool_names(&client).await?;
    assert!(!before.iter().any(|n| n.starts_with("compat__")));
    let notified = |c: &Client| c.service().received.lock().tool_list_changed;
    let n0 = notified(&client);

    // A new plugin appears (built against a compatible newer minor version; the older
    // release 0.1.0 is exercised in plugins_orders.rs).
    install("compat_next", env.dir.path(), "compat");
    wait_for(&client, |n| n.iter().any(|x| x == "compat__version")).await?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while notified(&client) == n0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(notified(&client) > n0, "no tools/list_changed notification");
    let out = e2e::call(&client, "compat__version", json!({})).await?;
    assert_eq!(out["built_against"], "next-minor");

    // A plugin whose imports exceed its grant is refused; nothing else changes.
    install("sneaky", env.dir.path(), "sneaky");
    let refused = wait_summary(&env.plugins, "sneaky").await?;
    assert_eq!(refused.status, "refused");
    let why = refused.error.unwrap_or_default();
    assert!(why.contains("capability `orders`"), "{why}");
    let names = tool_names(&client).await?;
    assert!(
        !names.iter().any(|n| n.starts_with("sneaky__")),
        "{names:?}"
    );

    // A plugin built against an incompatible WIT version is refused with the version.
    install("wrong_version", env.dir.path(), "future");
    let future = wait_summary(&env.plugins, "future").await?;
    assert_eq!(future.status, "refused");
    let why = future.error.unwrap_or_default();
    assert!(why.contains("@1.0.0"), "{why}");

    // Replacing a plugin file swaps the version; removing it removes its tools.
    install("template", env.dir.path(), "compat");
    wait_for(&client, |n| {
        n.iter().any(|x| x == "compat__quote_spread") && !n.iter().any(|x| x == "compat__version")
    })
    .await?;
    std::fs::remove_file(env.dir.path().join("hostile.wasm"))?;
    wait_for(&client, |n| !n.iter().any(|x| x.starts_with("hostile__"))).await?;
    let err = e2e::call_raw(&client, "hostile__ok", json!({}))
        .await
        .expect_err("a removed plugin's tool is an unknown tool");
    assert!(
        format!("{err:#}").contains("unknown tool: hostile__ok"),
        "{err:#}"
    );

    client.cancel().await?;
    drop(env.plugins);
    env.env.shutdown().await;
    Ok(())
}
