//! Read-only workflows end to end: `analyze_market_conditions`, `assess_portfolio_risk`,
//! `setup_trading_workspace`, the six guided prompts rendered with live data, and the Python
//! plugin `py_market_snapshot` (proof that the WIT package is language-neutral).

use crate::workflows_common;

use rmcp::model::GetPromptRequestParams;
use serde_json::{Value, json};
use workflows_common::{Setup, start, workflow};

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The regime the plugin must report for a row, recomputed from the row's own indicators
/// (price vs SMA50 and SMA200, SMA50 vs SMA200, MACD histogram; RSI; ATR as % of price).
fn expected_regime(r: &Value) -> (&'static str, &'static str, &'static str) {
    let last = num(&r["last"]);
    let (fast, slow) = (num(&r["sma"]["50"]), num(&r["sma"]["200"]));
    let sign = |b: bool| if b { 1 } else { -1 };
    let score = sign(last > fast)
        + sign(last > slow)
        + sign(fast > slow)
        + sign(num(&r["macd"]["histogram"]) > 0.0);
    let trend = match score {
        s if s >= 3 => "strong uptrend",
        1..=2 => "uptrend",
        0 => "sideways",
        -2..=-1 => "downtrend",
        _ => "strong downtrend",
    };
    let rsi = num(&r["rsi14"]);
    let momentum = match rsi {
        x if x >= 70.0 => "overbought",
        x if x <= 30.0 => "oversold",
        x if x >= 55.0 => "bullish",
        x if x <= 45.0 => "bearish",
        _ => "neutral",
    };
    let atr_pct = num(&r["atr14"]) / last;
    let volatility = match atr_pct {
        v if v >= 0.03 => "high",
        v if v >= 0.015 => "normal",
        _ => "low",
    };
    (trend, momentum, volatility)
}

#[tokio::test]
async fn read_only_workflows_compute_from_live_data() -> anyhow::Result<()> {
    let w = start(Setup::default()).await?;
    let c = w.client().await?;

    // Read-only plugins got read-only grants: no `orders` capability.
    for name in [
        "assess_portfolio_risk",
        "analyze_market_conditions",
        "setup_trading_workspace",
    ] {
        let p = w.plugins.host.plugin(name).unwrap();
        assert!(
            !p.settings
                .grant
                .contains(&e2e::ibkr_mcp::plugins::Capability::Orders),
            "{name} must not hold orders"
        );
    }

    // analyze_market_conditions: indicators from daily bars.
    let a = workflow(
        &c,
        "analyze_market_conditions__analyze",
        json!({"symbols": ["AAPL", "QQQ"], "benchmark": "SPY"}),
    )
    .await?;
    let rows = a["data"]["symbols"].as_array().unwrap();
    let syms: Vec<&str> = rows.iter().map(|r| r["symbol"].as_str().unwrap()).collect();
    assert_eq!(syms, ["AAPL", "QQQ"]);
    for r in rows {
        let last = num(&r["last"]);
        assert!(r["bars"].as_u64().unwrap() >= 200, "{r}");
        let rsi = num(&r["rsi14"]);
        assert!((0.0..=100.0).contains(&rsi), "{r}");
        for k in ["20", "50", "200"] {
            let s = num(&r["sma"][k]);
            assert!(s > last * 0.3 && s < last * 3.0, "{r}");
        }
        assert!(num(&r["atr14"]) > 0.0);
        let bb = &r["bollinger"];
        assert!(num(&bb["lower"]) < num(&bb["middle"]) && num(&bb["middle"]) < num(&bb["upper"]));
        let h = num(&r["macd"]["histogram"]);
        assert!((h - (num(&r["macd"]["line"]) - num(&r["macd"]["signal"]))).abs() < 1e-9);
        let rs = &r["relative_strength"]["60d"];
        assert!(
            (num(&rs["relative"])
                - ((1.0 + num(&rs["asset_return"])) / (1.0 + num(&rs["benchmark_return"])) - 1.0))
                .abs()
                < 1e-9
        );
        let (trend, momentum, volatility) = expected_regime(r);
        assert_eq!(r["regime"]["trend"], trend, "{r}");
        assert_eq!(r["regime"]["momentum"], momentum, "{r}");
        assert_eq!(r["regime"]["volatility"], volatility, "{r}");
    }

    // assess_portfolio_risk: the default account's five ETFs/stocks.
    let r = workflow(
        &c,
        "assess_portfolio_risk__assess",
        json!({"benchmark": "SPY", "days": 365}),
    )
    .await?;
    let d = &r["data"];
    assert_eq!(d["positions"].as_array().unwrap().len(), 5, "{d}");
    let vol = num(&d["volatility"]);
    assert!(vol > 0.01 && vol < 1.0, "{vol}");
    let beta = num(&d["beta"]);
    assert!(beta > 0.0 && beta < 2.0, "{beta}");
    let var = d["var"].as_array().unwrap();
    assert_eq!(var.len(), 2);
    let (v95, v99) = (&var[0], &var[1]);
    assert!(num(&v95["var_pct"]) > 0.0);
    assert!(num(&v95["cvar_pct"]) >= num(&v95["var_pct"]));
    assert!(num(&v99["var_pct"]) >= num(&v95["var_pct"]));
    assert!(
        (num(&v95["var_amount"]) - num(&v95["var_pct"]) * num(&d["net_liquidation"])).abs() < 1e-6
    );
    let conc = &d["concentration"];
    let wsum: f64 = conc["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| num(&w[1]))
        .sum();
    assert!((wsum - 1.0).abs() < 1e-9);
    let hhi = num(&conc["hhi"]);
    assert!(hhi > 0.2 && hhi < 1.0, "{conc}");
    let dd = num(&d["max_drawdown"]["max_drawdown"]);
    assert!(dd > 0.0 && dd < 1.0);
    let stress = d["stress"].as_array().unwrap();
    assert_eq!(stress.len(), 4);
    assert!(
        num(&stress[0]["pnl"]) < 0.0,
        "equity -20% loses money: {}",
        stress[0]
    );
    let rates = stress
        .iter()
        .find(|s| s["scenario"] == "rates_up_100bp")
        .unwrap();
    let tlt = rates["positions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == "TLT")
        .unwrap();
    assert!(num(&tlt[1]) < 0.0, "long bonds lose when rates rise");

    // setup_trading_workspace: account, positions, quotes, chain, subscriptions.
    let s = workflow(
        &c,
        "setup_trading_workspace__setup",
        json!({"symbol": "AAPL"}),
    )
    .await?;
    let d = &s["data"];
    assert_eq!(d["account"], "DU1234567");
    assert!(num(&d["summary"]["net_liquidation"]) > 0.0);
    // The default account's five holdings.
    let mut held: Vec<&str> = d["positions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["contract"]["symbol"].as_str().unwrap())
        .collect();
    held.sort_unstable();
    assert_eq!(held, ["AAPL", "BND", "SPY", "TLT", "VTI"], "{d}");
    // Quotes (one per symbol) and the market-data subscription: the symbol, then the held
    // stocks, then the watchlist, each once.
    let market_data = &d["subscriptions"][0];
    assert_eq!(market_data["kind"], "market_data", "{d}");
    let subscribed: Vec<&str> = market_data["symbols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(
        d["quotes"].as_array().unwrap().len(),
        subscribed.len(),
        "{d}"
    );
    assert_eq!(subscribed[0], "AAPL");
    let mut rest = subscribed[1..].to_vec();
    rest.sort_unstable();
    assert_eq!(rest, ["BND", "QQQ", "SPY", "TLT", "VTI"], "{d}");
    assert!(
        d["option_chain"]["expirations"].as_u64().unwrap_or(0) > 0,
        "{}",
        d["option_chain_error"]
    );
    let kinds: Vec<&str> = d["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "market_data",
            "account_updates",
            "pnl",
            "historical_bars",
            "option_quotes",
            "executions"
        ]
    );
    assert!(
        s["report"]
            .as_str()
            .unwrap()
            .contains("Suggested subscriptions")
    );

    c.cancel().await?;
    w.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn the_six_guided_prompts_render_with_live_data() -> anyhow::Result<()> {
    let w = start(Setup::default()).await?;
    let c = w.client().await?;
    let prompts = c.list_all_prompts().await?;
    // Prompt, arguments, the tool it points to, the heading of its live section.
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "rebalance_portfolio__rebalance_portfolio",
            json!({"targets": "VTI:40,TLT:20,SPY:15,BND:20,AAPL:5"}),
            "rebalance_portfolio__plan",
            "## Live snapshot",
        ),
        (
            "execute_bracket_order__execute_bracket_order",
            json!({"symbol": "AAPL"}),
            "execute_bracket_order__place",
            "## Live plan — ",
        ),
        (
            "assess_portfolio_risk__assess_portfolio_risk",
            json!({}),
            "assess_portfolio_risk__assess",
            "## Live assessment\n\n",
        ),
        (
            "execute_options_strategy__execute_options_strategy",
            json!({"symbol": "SPY", "strategy": "collar"}),
            "execute_options_strategy__plan",
            "## Live proposal — ",
        ),
        (
            "analyze_market_conditions__analyze_market_conditions",
            json!({"symbols": "AAPL,QQQ"}),
            "analyze_market_conditions__analyze",
            "## Live indicators (computed now from daily bars)",
        ),
        (
            "setup_trading_workspace__setup_trading_workspace",
            json!({"symbol": "AAPL"}),
            "setup_trading_workspace__setup",
            "## Live workspace",
        ),
    ];
    for (name, args, tool, live) in cases {
        let p = prompts
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name} not listed"));
        assert!(p.description.as_deref().unwrap_or("").len() > 20);
        let mut params = GetPromptRequestParams::new(name.to_string());
        params.arguments = args.as_object().cloned();
        let r = c.get_prompt(params).await?;
        let text: String = r
            .messages
            .iter()
            .filter_map(|m| m.content.as_text().map(|t| t.text.clone()))
            .collect();
        assert!(text.contains(tool), "{name} references {tool}:\n{text}");
        assert!(text.contains(live), "{name} has no `{live}`:\n{text}");
        assert!(
            !text.contains("Not available right now"),
            "{name} rendered without live data:\n{text}"
        );
    }
    c.cancel().await?;
    w.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn python_plugin_snapshot() -> anyhow::Result<()> {
    let w = start(Setup {
        python: true,
        ..Setup::default()
    })
    .await?;
    let c = w.client().await?;
    let tools = c.list_all_tools().await?;
    let t = tools
        .iter()
        .find(|t| t.name == "py_market_snapshot__snapshot")
        .expect("listed");
    assert_eq!(
        t.annotations.as_ref().and_then(|a| a.read_only_hint),
        Some(true)
    );
    let s = workflow(
        &c,
        "py_market_snapshot__snapshot",
        json!({"symbols": ["SPY", "TLT"], "days": 30}),
    )
    .await?;
    let rows = s["data"]["symbols"].as_array().unwrap();
    let syms: Vec<&str> = rows.iter().map(|r| r["symbol"].as_str().unwrap()).collect();
    assert_eq!(syms, ["SPY", "TLT"], "{s}");
    for r in rows {
        assert!(num(&r["price"]) > 0.0, "{r}");
        assert!(r["bars"].as_u64().unwrap() >= 15, "{r}");
        assert!(num(&r["realized_vol_pct"]) > 0.0, "{r}");
    }
    let mut params = GetPromptRequestParams::new("py_market_snapshot__market_snapshot".to_string());
    params.arguments = json!({"symbols": "SPY,QQQ"}).as_object().cloned();
    let r = c.get_prompt(params).await?;
    assert_eq!(r.messages.len(), 1);
    let text = r.messages[0]
        .content
        .as_text()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert!(
        text.starts_with("# Market snapshot\n\nCall `py_market_snapshot__snapshot` with `{\"symbols\": [\"SPY\", \"QQQ\"]}`"),
        "{text}"
    );
    c.cancel().await?;
    w.shutdown().await;
    Ok(())
}
