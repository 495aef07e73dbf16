//! `completion/complete` for plugin prompt arguments, end to end: the simulator answers
//! reqMatchingSymbols, the host (with the bundled plugins) completes symbol-like arguments, an
//! rmcp client asks.

use crate::workflows_common;

use std::time::Duration;

use e2e::Client;
use rmcp::model::{ArgumentInfo, CompleteRequestParams, CompletionInfo, Reference};
use serde_json::json;
use workflows_common::{Setup, start};

async fn complete(
    c: &Client,
    prompt: &str,
    arg: &str,
    value: &str,
) -> anyhow::Result<CompletionInfo> {
    let r = c
        .complete(CompleteRequestParams::new(
            Reference::for_prompt(prompt),
            ArgumentInfo::new(arg, value),
        ))
        .await?;
    Ok(r.completion)
}

#[tokio::test]
async fn prompt_arguments_complete_symbols() -> anyhow::Result<()> {
    let w = start(Setup::default()).await?;
    let c = w.client().await?;

    let info = c.peer_info().expect("server info");
    assert!(
        info.capabilities.completions.is_some(),
        "completions capability not advertised"
    );

    // Symbol argument: prefix search through the broker.
    let aa = complete(
        &c,
        "setup_trading_workspace__setup_trading_workspace",
        "symbol",
        "AA",
    )
    .await?;
    assert!(aa.values.iter().any(|v| v == "AAPL"), "{aa:?}");
    assert!(aa.values.len() <= CompletionInfo::MAX_VALUES);
    assert!(aa.values.iter().all(|v| *v == v.to_ascii_uppercase()));
    let mut dedup = aa.values.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), aa.values.len(), "duplicates in {aa:?}");
    assert_eq!(aa.total, Some(aa.values.len() as u32));
    assert_eq!(aa.has_more, Some(false));

    // Lowercase input, symbol-named argument of another plugin.
    let sp = complete(
        &c,
        "analyze_market_conditions__analyze_market_conditions",
        "benchmark",
        "sp",
    )
    .await?;
    assert!(sp.values.iter().any(|v| v == "SPY"), "{sp:?}");
    // Prefix matches come before name matches.
    assert!(sp.values[..2].iter().all(|v| v.starts_with("SP")), "{sp:?}");

    // Comma-separated list: the last item completes, earlier ones are kept.
    let list = complete(
        &c,
        "analyze_market_conditions__analyze_market_conditions",
        "symbols",
        "AAPL,QQ",
    )
    .await?;
    assert!(list.values.iter().any(|v| v == "AAPL,QQQ"), "{list:?}");

    // Kind-marked symbol argument of the options plugin.
    let opt = complete(
        &c,
        "execute_options_strategy__execute_options_strategy",
        "symbol",
        "SP",
    )
    .await?;
    assert!(opt.values.iter().any(|v| v == "SPY"), "{opt:?}");

    // Non-symbol and unknown arguments: empty, not an error.
    for (prompt, arg) in [
        (
            "setup_trading_workspace__setup_trading_workspace",
            "account",
        ),
        (
            "execute_options_strategy__execute_options_strategy",
            "strategy",
        ),
        (
            "analyze_market_conditions__analyze_market_conditions",
            "days",
        ),
        (
            "setup_trading_workspace__setup_trading_workspace",
            "no_such_argument",
        ),
    ] {
        let r = complete(&c, prompt, arg, "A").await?;
        assert!(r.values.is_empty(), "{prompt}.{arg}: {r:?}");
    }
    // Empty value: nothing to search.
    let r = complete(
        &c,
        "setup_trading_workspace__setup_trading_workspace",
        "symbol",
        "",
    )
    .await?;
    assert!(r.values.is_empty());

    // Unknown prompt: invalid params.
    let err = complete(&c, "no_such_prompt", "symbol", "AA")
        .await
        .expect_err("unknown prompt must fail");
    assert!(err.to_string().contains("unknown prompt"), "{err}");

    // The same search as a read-only tool.
    let found = e2e::call(&c, "ibkr_search_symbols", json!({"pattern": "AAP"})).await?;
    let matches = found["matches"].as_array().expect("matches");
    assert_eq!(found["count"].as_u64(), Some(matches.len() as u64));
    let aapl = matches
        .iter()
        .find(|m| m["symbol"] == "AAPL")
        .unwrap_or_else(|| panic!("AAPL not found: {found}"));
    assert_eq!(aapl["secType"], "STK");
    assert!(aapl["conId"].as_i64().unwrap_or(0) > 0, "{aapl}");
    let err = e2e::call_err(&c, "ibkr_search_symbols", json!({"pattern": ""})).await?;
    assert!(err.contains("pattern"), "{err}");

    // Broker disconnected: empty list, not an error.
    e2e::call(&c, "ibkr_disconnect", json!({})).await?;
    e2e::wait_state(
        &w.env.host,
        e2e::ibkr_mcp::broker::ConnectionState::Disconnected,
        Duration::from_secs(10),
    )
    .await?;
    let r = complete(
        &c,
        "setup_trading_workspace__setup_trading_workspace",
        "symbol",
        "AA",
    )
    .await?;
    assert!(r.values.is_empty(), "{r:?}");

    c.cancel().await?;
    w.shutdown().await;
    Ok(())
}
