//! Shared setup of the plugin workflow end-to-end tests (`workflows_*.rs`): the simulator, the
//! host with the bundled plugins loaded from a plugin directory, and an rmcp client over
//! Streamable HTTP.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use e2e::ibkr_mcp::config::Config;
use e2e::ibkr_mcp::plugins::config::PluginSettings;
use e2e::ibkr_mcp::plugins::{Capability, Plugins, testing};
use e2e::{Client, TestEnv};
use serde_json::Value;

/// Cargo package -> plugin name (file stem) of the bundled Rust plugins.
pub const RUST_PLUGINS: &[(&str, &str)] = &[
    ("rebalance-portfolio", "rebalance_portfolio"),
    ("execute-bracket-order", "execute_bracket_order"),
    ("execute-options-strategy", "execute_options_strategy"),
    ("assess-portfolio-risk", "assess_portfolio_risk"),
    ("analyze-market-conditions", "analyze_market_conditions"),
    ("setup-trading-workspace", "setup_trading_workspace"),
];

/// The Python plugin's name.
pub const PY_PLUGIN: &str = "py_market_snapshot";

/// Simulator + host + loaded plugins.
pub struct WorkflowEnv {
    pub env: TestEnv,
    pub plugins: Plugins,
    _dir: tempfile::TempDir,
}

/// Options of [`start`].
#[derive(Default)]
pub struct Setup {
    /// Load the Python plugin too.
    pub python: bool,
    /// Keep the plugins' `require_confirmation` default (no waiver): orders then need a client
    /// that can confirm.
    pub require_confirmation: bool,
}

fn cache_dir() -> PathBuf {
    testing::repo_root().join("target/plugin-cache-e2e")
}

/// The Python component: from `scripts/build-plugins.sh` output, else built now.
pub fn python_wasm() -> Result<PathBuf> {
    let root = testing::repo_root();
    for p in [
        root.join("target/plugins")
            .join(format!("{PY_PLUGIN}.wasm")),
        root.join("plugins/target/py")
            .join(format!("{PY_PLUGIN}.wasm")),
    ] {
        if p.exists() {
            return Ok(p);
        }
    }
    let status = Command::new(root.join("plugins/py-market-snapshot/build.sh"))
        .status()
        .context("run plugins/py-market-snapshot/build.sh")?;
    anyhow::ensure!(status.success(), "building the Python plugin failed");
    Ok(root
        .join("plugins/target/py")
        .join(format!("{PY_PLUGIN}.wasm")))
}

fn install(dir: &Path, setup: &Setup) -> Result<()> {
    for (package, name) in RUST_PLUGINS {
        testing::install_guest(package, dir, name);
    }
    if setup.python {
        std::fs::copy(python_wasm()?, dir.join(format!("{PY_PLUGIN}.wasm")))?;
    }
    Ok(())
}

/// Start the simulator and the host with the bundled plugins (bundled grants), wait until TWS
/// is connected, and check that every plugin loaded.
pub async fn start(setup: Setup) -> Result<WorkflowEnv> {
    start_with(setup, |_| {}).await
}

/// Like [`start`] with a host configuration tweak.
pub async fn start_with(setup: Setup, tweak: impl FnOnce(&mut Config)) -> Result<WorkflowEnv> {
    e2e::init_tracing();
    let dir = tempfile::tempdir()?;
    install(dir.path(), &setup)?;
    let mut config = e2e::test_config();
    let sim =
        e2e::ibkr_mcp::app::start_sim(&mut config, e2e::tws_sim::SimOptions::default()).await?;
    config.plugins.dir = Some(dir.path().to_path_buf());
    config.plugins.cache_dir = Some(cache_dir());
    config.plugins.hot_reload = false;
    if !setup.require_confirmation {
        for name in [
            "rebalance_portfolio",
            "execute_bracket_order",
            "execute_options_strategy",
        ] {
            let mut s = PluginSettings::default();
            s.config
                .insert("require_confirmation".into(), "false".into());
            config.plugins.plugin.insert(name.into(), s);
        }
    }
    if setup.python {
        let s = PluginSettings {
            grant: Some(vec![Capability::MarketData]),
            ..PluginSettings::default()
        };
        config.plugins.plugin.insert(PY_PLUGIN.into(), s);
    }
    tweak(&mut config);
    let (broker, registry) = e2e::ibkr_mcp::app::core(&config)?;
    let plugins = e2e::ibkr_mcp::plugins::start(&config.plugins, broker.clone(), &registry)
        .await
        .map_err(|e| anyhow!("plugins: {e}"))?;
    let host = e2e::ibkr_mcp::app::start_http_with(&config, broker, registry).await?;
    let env = TestEnv { sim, host, config };
    env.wait_connected(Duration::from_secs(10)).await?;
    let loaded: Vec<String> = plugins
        .host
        .plugins()
        .iter()
        .map(|p| p.name.to_string())
        .collect();
    for (_, name) in RUST_PLUGINS {
        anyhow::ensure!(
            loaded.iter().any(|l| l == name),
            "{name} not loaded; loaded {loaded:?}"
        );
    }
    if setup.python {
        anyhow::ensure!(
            loaded.iter().any(|l| l == PY_PLUGIN),
            "{PY_PLUGIN} not loaded"
        );
    }
    Ok(WorkflowEnv {
        env,
        plugins,
        _dir: dir,
    })
}

impl WorkflowEnv {
    /// An rmcp client.
    pub async fn client(&self) -> Result<Client> {
        self.env.client().await
    }

    /// Stop everything.
    pub async fn shutdown(self) {
        let WorkflowEnv { env, plugins, .. } = self;
        drop(plugins);
        env.shutdown().await;
    }
}

/// Call a workflow tool that must succeed and return its `data` object (checking that a
/// markdown report came with it).
pub async fn workflow(client: &Client, tool: &str, args: Value) -> Result<Value> {
    let out = e2e::call(client, tool, args).await?;
    let report = out["report"].as_str().unwrap_or_default();
    anyhow::ensure!(
        report.starts_with('#'),
        "{tool}: no markdown report in {out}"
    );
    Ok(out)
}

/// Quantity of `symbol` (stocks) from the host's own `ibkr_get_positions` tool.
pub async fn position(client: &Client, symbol: &str) -> Result<f64> {
    let p = e2e::call(client, "ibkr_get_positions", serde_json::json!({})).await?;
    Ok(p["positions"]
        .as_array()
        .ok_or_else(|| anyhow!("no positions array: {p}"))?
        .iter()
        .filter(|x| x["contract"]["symbol"] == symbol && x["contract"]["secType"] == "STK")
        .map(|x| x["position"].as_f64().unwrap_or(0.0))
        .sum())
}
