//! Template plugin: one prompt and one read-only workflow.
//!
//! Copy this directory, rename the package, add it to `plugins/Cargo.toml` members,
//! and build with `scripts/build-plugins.sh`.

use ibkr_plugin_sdk::prelude::*;
use serde::Deserialize;

struct Template;

#[derive(Deserialize)]
struct SpreadInput {
    symbol: String,
}

impl Plugin for Template {
    fn prompts() -> Vec<Prompt> {
        vec![
            Prompt::new(
                "quote_brief",
                "Brief the user on the current quote of a symbol",
            )
            .with_title("Quote brief")
            .arg(
                "symbol",
                "Ticker symbol, e.g. AAPL",
                true,
                ArgumentKind::Symbol,
            ),
        ]
    }

    fn render_prompt(name: &str, args: &PromptArgs) -> Result<Vec<PromptMessage>, Error> {
        match name {
            "quote_brief" => {
                let symbol = args.require("symbol")?;
                Ok(vec![PromptMessage::user(format!(
                    "Call the tool `template__quote_spread` with symbol {symbol} and summarise \
                     the bid/ask spread for me in two sentences."
                ))])
            }
            _ => Err(Error::invalid(format!("unknown prompt `{name}`"))),
        }
    }

    fn workflows() -> Vec<Workflow> {
        vec![
            Workflow::read_only(
                "quote_spread",
                "Bid/ask spread of a stock in absolute terms and basis points",
                json!({
                    "type": "object",
                    "properties": {
                        "symbol": {"type": "string", "description": "Ticker symbol, e.g. AAPL"}
                    },
                    "required": ["symbol"]
                }),
            )
            .with_title("Quote spread"),
        ]
    }

    fn run_workflow(name: &str, input: Value) -> Result<Value, Error> {
        match name {
            "quote_spread" => {
                let input: SpreadInput = parse_input(input)?;
                host::info(&format!("quote_spread for {}", input.symbol));
                let q = market_data::quote(&Contract::stock(&input.symbol))?;
                let (bid, ask) = match (q.bid, q.ask) {
                    (Some(b), Some(a)) => (b, a),
                    _ => return Err(Error::failed(format!("no bid/ask for {}", input.symbol))),
                };
                let mid = (bid + ask) / 2.0;
                let spread = ask - bid;
                Ok(json!({
                    "symbol": input.symbol,
                    "bid": bid,
                    "ask": ask,
                    "spread": spread,
                    "spread_bps": if mid > 0.0 { spread / mid * 10_000.0 } else { 0.0 },
                }))
            }
            _ => Err(Error::invalid(format!("unknown workflow `{name}`"))),
        }
    }
}

ibkr_plugin_sdk::register!(Template);
