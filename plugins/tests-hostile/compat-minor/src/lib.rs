//! Built with raw bindings against the frozen release `ibkr:plugin@0.1.0`
//! (`wit/versions/0.1.0`): proves that a plugin built against an older minor release keeps
//! loading and running when the host's package gains a minor version (0.1.1 added
//! `orders.bracket-in-account` to an interface this plugin imports).

mod bindings {
    wit_bindgen::generate!({
        world: "trading-plugin",
        path: "../../../wit/versions/0.1.0",
    });
}

use bindings::exports::ibkr::plugin::{prompts, workflows};
use bindings::ibkr::plugin::types::{
    Action, BracketRequest, Contract, Error, OrderState, SecType, TimeInForce,
};
use bindings::ibkr::plugin::{host, market_data, orders};
use serde_json::{Value, json};

struct Versioned;

impl prompts::Guest for Versioned {
    fn list_prompts() -> Vec<prompts::Prompt> {
        Vec::new()
    }
    fn render_prompt(
        name: String,
        _: Vec<(String, String)>,
    ) -> Result<Vec<prompts::PromptMessage>, Error> {
        Err(Error::InvalidArgument(format!("unknown prompt {name}")))
    }
}

fn workflow(name: &str, description: &str, access: workflows::Access) -> workflows::Workflow {
    workflows::Workflow {
        name: name.into(),
        title: None,
        description: description.into(),
        input_schema: r#"{"type":"object"}"#.into(),
        output_schema: None,
        access,
    }
}

fn stock(symbol: &str) -> Contract {
    Contract {
        con_id: 0,
        symbol: symbol.into(),
        sec_type: SecType::Stock,
        exchange: "SMART".into(),
        primary_exchange: None,
        currency: "USD".into(),
        last_trade_date: None,
        strike: None,
        right: None,
        multiplier: None,
        local_symbol: None,
        trading_class: None,
        combo_legs: Vec::new(),
    }
}

fn state(s: OrderState) -> &'static str {
    match s {
        OrderState::PendingSubmit => "PendingSubmit",
        OrderState::PreSubmitted => "PreSubmitted",
        OrderState::Submitted => "Submitted",
        OrderState::Filled => "Filled",
        OrderState::PendingCancel => "PendingCancel",
        OrderState::Cancelled => "Cancelled",
        OrderState::Inactive => "Inactive",
        OrderState::Unknown => "Unknown",
    }
}

fn num(input: &Value, key: &str) -> Result<f64, Error> {
    input[key]
        .as_f64()
        .ok_or_else(|| Error::InvalidArgument(format!("{key} (number) is required")))
}

impl workflows::Guest for Versioned {
    fn list_workflows() -> Vec<workflows::Workflow> {
        vec![
            workflow(
                "version",
                "Reports the WIT version it was built against",
                workflows::Access::ReadOnly,
            ),
            workflow(
                "quote",
                "market-data.get-quote through the 0.1.0 interface",
                workflows::Access::ReadOnly,
            ),
            workflow(
                "bracket",
                "orders.bracket (0.1.0 signature), then orders.cancel of its parent",
                workflows::Access::Destructive,
            ),
        ]
    }

    fn run_workflow(name: String, input: String) -> Result<String, Error> {
        let input: Value = serde_json::from_str(&input)
            .map_err(|e| Error::InvalidArgument(format!("input: {e}")))?;
        let symbol = input["symbol"].as_str().unwrap_or("AAPL");
        let out = match name.as_str() {
            "version" => {
                host::log(host::LogLevel::Info, "0.1.0 plugin running");
                json!({"built_against": "0.1.0"})
            }
            "quote" => {
                let q = market_data::get_quote(&stock(symbol))?;
                json!({"built_against": "0.1.0", "symbol": q.contract.symbol, "bid": q.bid, "ask": q.ask, "last": q.last})
            }
            "bracket" => {
                let st = orders::bracket(&BracketRequest {
                    contract: stock(symbol),
                    action: Action::Buy,
                    quantity: num(&input, "quantity")?,
                    entry_price: Some(num(&input, "entry_price")?),
                    take_profit: num(&input, "take_profit")?,
                    stop_loss: num(&input, "stop_loss")?,
                    tif: TimeInForce::Day,
                    order_ref: Some("compat_minor".into()),
                })?;
                // Its own order: the ownership rule lets it cancel the parent.
                let cancelled = orders::cancel(st.parent.order_id)?;
                json!({
                    "built_against": "0.1.0",
                    "parent": st.parent.order_id,
                    "take_profit": st.take_profit.order_id,
                    "stop_loss": st.stop_loss.order_id,
                    "cancel_state": state(cancelled.state),
                })
            }
            other => return Err(Error::InvalidArgument(format!("unknown workflow {other}"))),
        };
        Ok(out.to_string())
    }
}

bindings::export!(Versioned with_types_in bindings);
