//! Plugin overhead benchmark.
//!
//! ```sh
//! cargo run --release -p ibkr-mcp --bin plugin-bench [-- --calls 5000]
//! ```
//!
//! Prints (1) the cost of one plugin call — fresh `Store` + instantiate from the cached
//! `InstancePre` + one host call + return — with and without the pooling allocator, and
//! (2) plugin subsystem start time with all bundled plugins (cold compile, then from the
//! precompiled cache).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ibkr_mcp::plugins::config::PluginSettings;
use ibkr_mcp::plugins::{
    CallContext, Capability, Disconnected, PluginHost, PluginsConfig, testing,
};
use serde_json::json;

const BUNDLED: &[(&str, &str)] = &[
    ("rebalance-portfolio", "rebalance_portfolio"),
    ("execute-bracket-order", "execute_bracket_order"),
    ("execute-options-strategy", "execute_options_strategy"),
    ("assess-portfolio-risk", "assess_portfolio_risk"),
    ("analyze-market-conditions", "analyze_market_conditions"),
    ("setup-trading-workspace", "setup_trading_workspace"),
];

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn us(d: Duration) -> String {
    format!("{:.1} us", d.as_secs_f64() * 1e6)
}

async fn overhead(pooling: bool, calls: usize, dir: &std::path::Path) -> Result<()> {
    let mut cfg = PluginsConfig {
        dir: Some(dir.into()),
        cache_dir: Some(dir.join(".cache")),
        hot_reload: false,
        pooling,
        ..PluginsConfig::default()
    };
    let mut s = PluginSettings {
        grant: Some(vec![Capability::MarketData]),
        ..Default::default()
    };
    s.config.insert("greeting".into(), "hello".into());
    cfg.plugin.insert("hostile".into(), s);
    let host = PluginHost::new(cfg, Arc::new(Disconnected)).map_err(anyhow::Error::msg)?;
    host.scan().await;
    let p = host
        .plugin("hostile")
        .context("hostile plugin not loaded")?;
    for _ in 0..200 {
        p.run_workflow("ping", json!({}), CallContext::default())
            .await?;
    }
    let mut times = Vec::with_capacity(calls);
    let all = Instant::now();
    for _ in 0..calls {
        let t = Instant::now();
        let out = p
            .run_workflow("ping", json!({}), CallContext::default())
            .await?;
        times.push(t.elapsed());
        debug_assert_eq!(out["greeting"], "hello");
    }
    let total = all.elapsed();
    times.sort();
    println!(
        "plugin call (fresh Store + instantiate + 1 host call + return), pooling={pooling}: \
         p50 {}  p90 {}  p99 {}  max {}  ({calls} calls, {:.0} calls/s sequential)",
        us(pct(&times, 0.5)),
        us(pct(&times, 0.9)),
        us(pct(&times, 0.99)),
        us(*times.last().unwrap()),
        calls as f64 / total.as_secs_f64()
    );
    Ok(())
}

async fn start_time(dir: &std::path::Path) -> Result<()> {
    let cfg = PluginsConfig {
        dir: Some(dir.into()),
        cache_dir: Some(dir.join(".cache")),
        hot_reload: false,
        ..PluginsConfig::default()
    };
    let _ = std::fs::remove_dir_all(dir.join(".cache"));
    let t = Instant::now();
    let host = PluginHost::new(cfg.clone(), Arc::new(Disconnected)).map_err(anyhow::Error::msg)?;
    let r = host.scan().await;
    let cold = t.elapsed();
    anyhow::ensure!(r.refused.is_empty(), "refused: {:?}", r.refused);
    drop(host);
    let mut warm = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let host =
            PluginHost::new(cfg.clone(), Arc::new(Disconnected)).map_err(anyhow::Error::msg)?;
        let r = host.scan().await;
        warm.push(t.elapsed());
        anyhow::ensure!(r.loaded.len() == BUNDLED.len(), "loaded {:?}", r.loaded);
        anyhow::ensure!(
            host.plugins().iter().all(|p| p.from_cache),
            "not from cache"
        );
    }
    warm.sort();
    println!(
        "plugin start with {} bundled plugins: cold (compile + cache write) {:.0} ms; \
         from cache median {:.1} ms (min {:.1} ms)",
        BUNDLED.len(),
        cold.as_secs_f64() * 1e3,
        pct(&warm, 0.5).as_secs_f64() * 1e3,
        warm[0].as_secs_f64() * 1e3
    );
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let calls: usize = std::env::args()
        .skip_while(|a| a != "--calls")
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(5_000);
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; run with --release for meaningful figures");
    }
    let root = std::env::temp_dir().join(format!("ibkr-mcp-plugin-bench-{}", std::process::id()));
    let (dir, bundled) = (root.join("hostile"), root.join("bundled"));
    std::fs::create_dir_all(&dir)?;
    std::fs::create_dir_all(&bundled)?;
    let result = async {
        testing::install_guest("hostile", &dir, "hostile");
        overhead(false, calls, &dir).await?;
        overhead(true, calls, &dir).await?;
        for (package, name) in BUNDLED {
            testing::install_guest(package, &bundled, name);
        }
        start_time(&bundled).await
    }
    .await;
    let _ = std::fs::remove_dir_all(&root);
    result
}
