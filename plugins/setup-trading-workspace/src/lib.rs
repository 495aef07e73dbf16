//! `setup_trading_workspace`: one call that gathers what a trading session needs for a symbol —
//! account summary, positions, live quotes (symbol, held positions, benchmarks), contract
//! details, option-chain overview, recent price statistics — and suggests the subscriptions to
//! keep open. Read-only; needs `market-data` and `account`.

use ibkr_plugin_sdk::Position;
use ibkr_plugin_sdk::prelude::*;
use plugin_kit::{closes, money, pct, table};
use quant::indicators::{last_value, simple_returns, sma};
use quant::risk::annualized_volatility;
use serde::Deserialize;

const TOOLS: &str = "setup_trading_workspace__";

struct Workspace;

#[derive(Deserialize)]
#[serde(default)]
struct Input {
    symbol: String,
    account: Option<String>,
    watchlist: Vec<String>,
}

impl Default for Input {
    fn default() -> Self {
        Input {
            symbol: String::new(),
            account: None,
            watchlist: vec!["SPY".into(), "QQQ".into(), "TLT".into()],
        }
    }
}

fn workspace(input: Input) -> Result<Value, Error> {
    let symbol = input.symbol.trim().to_ascii_uppercase();
    if symbol.is_empty() {
        return Err(Error::invalid("symbol is required"));
    }
    let accounts = account::accounts().unwrap_or_default();
    let account_id = input.account.clone().or_else(|| accounts.first().cloned());
    let summary = account::summary(account_id.as_deref())?;
    let positions = account::positions(account_id.as_deref())?;
    host::progress(1.0, Some(4.0), Some("account read"));

    let contract = Contract::stock(&symbol);
    let details = market_data::contract_details(&contract).unwrap_or_default();
    let d0 = details.first();
    let symbols = quote_symbols(&symbol, &positions, &input.watchlist);
    let quotes = market_data::quotes(
        &symbols
            .iter()
            .map(|s| Contract::stock(s))
            .collect::<Vec<_>>(),
    )?;
    host::progress(2.0, Some(4.0), Some("quotes read"));
    let stats = price_stats(&plugin_kit::daily_bars(&symbol, 120).unwrap_or_default());
    let chain_result = plugin_kit::option_chain_of(&symbol);
    let chain = chain_result.as_ref().ok();
    let chain_info = chain.map(|c| {
        json!({
            "exchange": c.exchange, "trading_class": c.trading_class, "multiplier": c.multiplier,
            "expirations": c.expirations.len(),
            "next_expirations": c.expirations.iter().take(4).collect::<Vec<_>>(),
            "strikes": c.strikes.len(),
            "strike_range": [c.strikes.first(), c.strikes.last()],
        })
    });
    host::progress(3.0, Some(4.0), Some("contract and chain read"));

    let held = positions
        .iter()
        .find(|p| p.contract.symbol == symbol && p.contract.sec_type == SecType::Stock);
    let sym_quote = &quotes[0];
    let mut subscriptions = vec![
        json!({"kind": "market_data", "symbols": symbols, "why": "live quotes for the symbol, holdings and the watchlist"}),
        json!({"kind": "account_updates", "account": account_id, "why": "positions, cash and margin as orders fill"}),
        json!({"kind": "pnl", "account": account_id, "why": "daily and unrealized P&L"}),
        json!({"kind": "historical_bars", "symbol": symbol, "bar_size": "5 mins", "why": "intraday context for entries and stops"}),
    ];
    if chain.is_some() {
        subscriptions.push(json!({"kind": "option_quotes", "symbol": symbol, "why": "near-the-money options of the next expiries for hedges or income"}));
    }
    subscriptions
        .push(json!({"kind": "executions", "why": "fills and commissions of today's orders"}));

    let mut md = format!(
        "# Trading workspace: {symbol}\n\n## Account{}\n\n- Net liquidation {}, cash {}, buying power {}, available funds {}\n- Margin: initial {}, maintenance {}\n",
        account_id
            .as_deref()
            .map(|a| format!(" {a}"))
            .unwrap_or_default(),
        summary
            .net_liquidation
            .map(money)
            .unwrap_or_else(|| "n/a".into()),
        money(plugin_kit::summary_cash(&summary)),
        summary
            .buying_power
            .map(money)
            .unwrap_or_else(|| "n/a".into()),
        summary
            .available_funds
            .map(money)
            .unwrap_or_else(|| "n/a".into()),
        summary
            .init_margin
            .map(money)
            .unwrap_or_else(|| "n/a".into()),
        summary
            .maint_margin
            .map(money)
            .unwrap_or_else(|| "n/a".into()),
    );
    md.push_str(&format!(
        "\n## {symbol}\n\n- {}{}\n- Quote: bid {} / ask {} / last {}\n- Position: {}\n",
        d0.map(|d| d.long_name.clone())
            .unwrap_or_else(|| symbol.clone()),
        d0.map(|d| format!(" — {} {}, min tick {}", d.industry, d.category, d.min_tick))
            .unwrap_or_default(),
        sym_quote.bid.map(money).unwrap_or_else(|| "n/a".into()),
        sym_quote.ask.map(money).unwrap_or_else(|| "n/a".into()),
        sym_quote.last.map(money).unwrap_or_else(|| "n/a".into()),
        held.map(|p| format!("{} shares at avg cost {}", p.quantity, money(p.avg_cost)))
            .unwrap_or_else(|| "none".into()),
    ));
    if let Some(r) = stats["return_20d"].as_f64() {
        md.push_str(&format!(
            "- 20-day return {}, 20-day volatility {}, range {} – {}\n",
            pct(r, 2),
            stats["volatility_20d"]
                .as_f64()
                .map(|v| pct(v, 1))
                .unwrap_or_default(),
            money(stats["low"].as_f64().unwrap_or(0.0)),
            money(stats["high"].as_f64().unwrap_or(0.0)),
        ));
    }
    if let Some(ci) = &chain_info {
        md.push_str(&format!(
            "- Options: {} expirations (next: {}), {} strikes\n",
            ci["expirations"],
            ci["next_expirations"]
                .as_array()
                .map(|a| a
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default(),
            ci["strikes"]
        ));
    }
    let prow: Vec<Vec<String>> = positions
        .iter()
        .filter(|p| p.quantity != 0.0)
        .map(|p| {
            vec![
                p.contract.symbol.clone(),
                sec_type_code(p.contract.sec_type).to_string(),
                format!("{}", p.quantity),
                money(p.avg_cost),
                p.market_value.map(money).unwrap_or_else(|| "n/a".into()),
                p.unrealized_pnl.map(money).unwrap_or_else(|| "n/a".into()),
            ]
        })
        .collect();
    md.push_str(&format!(
        "\n## Positions\n\n{}",
        if prow.is_empty() {
            "No positions.\n".to_string()
        } else {
            table(
                &["Symbol", "Type", "Qty", "Avg cost", "Value", "Unrealized"],
                &prow,
            )
        }
    ));
    let qrow: Vec<Vec<String>> = symbols
        .iter()
        .zip(&quotes)
        .map(|(s, q)| {
            vec![
                s.clone(),
                q.bid.map(money).unwrap_or_else(|| "n/a".into()),
                q.ask.map(money).unwrap_or_else(|| "n/a".into()),
                q.last.map(money).unwrap_or_else(|| "n/a".into()),
            ]
        })
        .collect();
    md.push_str(&format!(
        "\n## Quotes\n\n{}",
        table(&["Symbol", "Bid", "Ask", "Last"], &qrow)
    ));
    md.push_str("\n## Suggested subscriptions\n\n");
    for s in &subscriptions {
        md.push_str(&format!(
            "- **{}**: {}\n",
            s["kind"].as_str().unwrap_or(""),
            s["why"].as_str().unwrap_or("")
        ));
    }
    host::progress(4.0, Some(4.0), Some("done"));
    Ok(plugin_kit::report(
        md,
        json!({
            "symbol": symbol,
            "accounts": accounts,
            "account": account_id,
            "summary": summary,
            "positions": positions,
            "quotes": quotes,
            "contract": d0,
            "price_stats": stats,
            "option_chain": chain_info,
            "option_chain_error": chain_result.as_ref().err().map(|e| format!("{e:?}")),
            "subscriptions": subscriptions,
        }),
    ))
}

/// Symbols to quote: the symbol, held stocks, then the watchlist; upper-cased, each once, at
/// most 25.
fn quote_symbols(symbol: &str, positions: &[Position], watchlist: &[String]) -> Vec<String> {
    let mut symbols = vec![symbol.to_string()];
    for p in positions
        .iter()
        .filter(|p| p.contract.sec_type == SecType::Stock)
    {
        if !symbols.contains(&p.contract.symbol) {
            symbols.push(p.contract.symbol.clone());
        }
    }
    for w in watchlist {
        let w = w.trim().to_ascii_uppercase();
        if !w.is_empty() && !symbols.contains(&w) {
            symbols.push(w);
        }
    }
    symbols.truncate(25);
    symbols
}

/// Recent price statistics from daily bars (only the bar count below 21 bars).
fn price_stats(bars: &[Bar]) -> Value {
    let c = closes(bars);
    if c.len() < 21 {
        return json!({"bars": c.len()});
    }
    let r = simple_returns(&c);
    json!({
        "bars": c.len(),
        "last_close": c[c.len() - 1],
        "sma20": sma(&c, 20).ok().and_then(|s| last_value(&s)),
        "sma50": sma(&c, 50).ok().and_then(|s| last_value(&s)),
        "return_20d": c[c.len() - 1] / c[c.len() - 21] - 1.0,
        "volatility_20d": annualized_volatility(&r[r.len() - 20..], 252.0).ok(),
        "high": bars.iter().map(|b| b.high).fold(f64::MIN, f64::max),
        "low": bars.iter().map(|b| b.low).fold(f64::MAX, f64::min),
    })
}

fn sec_type_code(s: SecType) -> &'static str {
    match s {
        SecType::Stock => "STK",
        SecType::Option => "OPT",
        SecType::Future => "FUT",
        SecType::FutureOption => "FOP",
        SecType::Forex => "CASH",
        SecType::Index => "IND",
        SecType::Combo => "BAG",
        SecType::Cfd => "CFD",
        SecType::Bond => "BOND",
        SecType::Commodity => "CMDTY",
        SecType::Fund => "FUND",
        SecType::Warrant => "WAR",
    }
}

impl Plugin for Workspace {
    fn prompts() -> Vec<Prompt> {
        vec![
            Prompt::new(
                "setup_trading_workspace",
                "Set up a trading session for a symbol: account status, positions, live quotes, contract and option-chain overview, and the subscriptions to keep open",
            )
            .with_title("Set up trading workspace")
            .arg("symbol", "Symbol to focus on, e.g. AAPL", true, ArgumentKind::Symbol)
            .arg("account", "Account id (default: the first managed account)", false, ArgumentKind::Account),
        ]
    }

    fn render_prompt(name: &str, args: &PromptArgs) -> Result<Vec<PromptMessage>, Error> {
        if name != "setup_trading_workspace" {
            return Err(Error::invalid(format!("unknown prompt `{name}`")));
        }
        let symbol = args.require("symbol")?.to_ascii_uppercase();
        let account_arg = args.get("account").map(str::to_string);
        let mut call = json!({"symbol": symbol});
        if let Some(a) = &account_arg {
            call["account"] = json!(a);
        }
        let live = match workspace(Input {
            symbol: symbol.clone(),
            account: account_arg,
            ..Input::default()
        }) {
            Ok(v) => v["report"]
                .as_str()
                .unwrap_or("")
                .replacen("# Trading workspace", "## Live workspace", 1)
                .replace("\n## ", "\n### "),
            Err(e) => format!(
                "## Live workspace\n\n_Not available right now ({}); call the tool below._\n",
                e.code()
            ),
        };
        let text = format!(
            r#"# Set up my trading workspace for {symbol}

Prepare a trading session focused on {symbol}.

{live}
## Workflow

1. Call `{TOOLS}setup` with `{call}` for a fresh snapshot: account (net liquidation, cash,
   buying power, margin), positions, quotes for {symbol}, my holdings and a benchmark watchlist,
   contract details (min tick, industry), recent price statistics and the option chain overview.
2. Tell me in a few lines: is the account healthy (cash vs margin use), how exposed am I to
   {symbol} already, and what the current spread and recent volatility imply for order types
   (limit vs market) and position size.
3. Keep the suggested subscriptions open (live quotes, account updates, P&L, intraday bars, option
   quotes, executions) using the host's streaming tools, so later questions use live data.
4. Offer next steps: `analyze_market_conditions` for a technical read, `execute_bracket_order`
   for a risk-defined entry, `execute_options_strategy` for hedges or income, and
   `assess_portfolio_risk` for the whole portfolio. This workflow itself only reads data.
"#
        );
        Ok(vec![PromptMessage::user(text)])
    }

    fn workflows() -> Vec<Workflow> {
        vec![
            Workflow::read_only(
                "setup",
                "Trading workspace for a symbol: account summary, positions, live quotes (symbol, holdings, watchlist), contract details, recent price statistics, option-chain overview and suggested subscriptions",
                json!({
                    "type": "object",
                    "properties": {
                        "symbol": {"type": "string", "description": "Symbol to focus on"},
                        "account": {"type": "string", "description": "Account id (default: first managed account)"},
                        "watchlist": {"type": "array", "items": {"type": "string"}, "default": ["SPY", "QQQ", "TLT"]}
                    },
                    "required": ["symbol"]
                }),
            )
            .with_title("Set up trading workspace"),
        ]
    }

    fn run_workflow(name: &str, input: Value) -> Result<Value, Error> {
        match name {
            "setup" => workspace(parse_input(input)?),
            _ => Err(Error::invalid(format!("unknown workflow `{name}`"))),
        }
    }
}

ibkr_plugin_sdk::register!(Workspace);

#[cfg(test)]
mod tests {
    use super::*;

    fn position(symbol: &str, sec_type: SecType, quantity: f64) -> Position {
        let mut contract = Contract::stock(symbol);
        contract.sec_type = sec_type;
        Position {
            account: "DU1".into(),
            contract,
            quantity,
            avg_cost: 10.0,
            market_price: None,
            market_value: None,
            unrealized_pnl: None,
            realized_pnl: None,
        }
    }

    fn bar(i: usize, close: f64) -> Bar {
        Bar {
            time: i as i64 * 86_400,
            open: close,
            high: close + 1.0,
            low: close - 1.0,
            close,
            volume: 0.0,
            wap: close,
            count: 0,
        }
    }

    #[test]
    fn quote_symbols_are_symbol_then_held_stocks_then_watchlist_once_each() {
        let positions = [
            position("MSFT", SecType::Stock, 10.0),
            position("AAPL", SecType::Stock, 5.0),
            position("TSLA", SecType::Option, 1.0),
            position("MSFT", SecType::Stock, 3.0),
        ];
        let watch = ["spy", " qqq ", "", "aapl", "AAPL"].map(String::from);
        assert_eq!(
            quote_symbols("AAPL", &positions, &watch),
            ["AAPL", "MSFT", "SPY", "QQQ"]
        );
    }

    #[test]
    fn at_most_25_quotes() {
        let watch: Vec<String> = (0..40).map(|i| format!("W{i}")).collect();
        let s = quote_symbols("AAPL", &[], &watch);
        assert_eq!(s.len(), 25);
        assert_eq!((s[0].as_str(), s[24].as_str()), ("AAPL", "W23"));
    }

    #[test]
    fn short_history_gives_only_the_bar_count() {
        let bars: Vec<Bar> = (0..20).map(|i| bar(i, 100.0)).collect();
        assert_eq!(price_stats(&bars), json!({"bars": 20}));
        assert_eq!(price_stats(&[]), json!({"bars": 0}));
    }

    #[test]
    fn price_stats_from_21_bars_or_more() {
        // Closes 100, 101, ..., 129.
        let bars: Vec<Bar> = (0..30).map(|i| bar(i, 100.0 + i as f64)).collect();
        let s = price_stats(&bars);
        assert_eq!(s["bars"], 30);
        assert_eq!(s["last_close"], 129.0);
        // 20-day return: 129 / 109 - 1.
        assert_eq!(s["return_20d"], json!(129.0 / 109.0 - 1.0));
        // Mean of 110..=129.
        assert_eq!(s["sma20"], 119.5);
        assert_eq!(s["sma50"], Value::Null);
        assert_eq!(
            (s["high"].clone(), s["low"].clone()),
            (json!(130.0), json!(99.0))
        );
        assert!(s["volatility_20d"].as_f64().unwrap() > 0.0, "{s}");
    }

    #[test]
    fn sec_type_codes_are_tws_codes() {
        assert_eq!(sec_type_code(SecType::Stock), "STK");
        assert_eq!(sec_type_code(SecType::Forex), "CASH");
        assert_eq!(sec_type_code(SecType::Combo), "BAG");
        assert_eq!(sec_type_code(SecType::FutureOption), "FOP");
    }

    #[test]
    fn symbol_is_required_before_touching_the_broker() {
        for v in [json!({}), json!({"symbol": "  "})] {
            assert_eq!(
                Workspace::run_workflow("setup", v).unwrap_err(),
                Error::InvalidArgument("symbol is required".into())
            );
        }
        assert_eq!(
            Workspace::run_workflow("setup", json!({"watchlist": "SPY"}))
                .unwrap_err()
                .code(),
            "invalid-argument"
        );
        assert_eq!(
            Workspace::run_workflow("teardown", json!({})).unwrap_err(),
            Error::InvalidArgument("unknown workflow `teardown`".into())
        );
        let i: Input = parse_input(json!({"symbol": "X"})).unwrap();
        assert_eq!(i.watchlist, ["SPY", "QQQ", "TLT"]);
    }
}
