//! Guest SDK for ibkr-mcp WebAssembly plugins.
//!
//! A plugin implements [`Plugin`] and calls [`register!`]:
//!
//! ```ignore
//! use ibkr_plugin_sdk::prelude::*;
//!
//! struct Hello;
//!
//! impl Plugin for Hello {
//!     fn workflows() -> Vec<Workflow> {
//!         vec![Workflow::read_only("last_price", "Last price of a stock",
//!             json!({"type": "object", "properties": {"symbol": {"type": "string"}}, "required": ["symbol"]}))]
//!     }
//!     fn run_workflow(name: &str, input: Value) -> Result<Value, Error> {
//!         let symbol = input["symbol"].as_str().ok_or_else(|| Error::invalid("symbol is required"))?;
//!         let q = market_data::quote(&Contract::stock(symbol))?;
//!         Ok(json!({"symbol": symbol, "last": q.last}))
//!     }
//! }
//!
//! ibkr_plugin_sdk::register!(Hello);
//! ```
//!
//! Build with `cargo build --target wasm32-wasip2 --release`; the `.wasm` file is the plugin.
//! Only the host interfaces a plugin actually calls end up as imports of the component, and
//! each capability interface (`market-data`, `account`, `orders`) must be granted by the
//! operator in the host configuration.

#![allow(clippy::too_many_arguments)]

mod helpers;

/// Raw generated bindings (WIT package `ibkr:plugin`). Prefer the safe wrappers.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "trading-plugin",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__export_plugin",
        default_bindings_module: "ibkr_plugin_sdk::bindings",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
    });
}

pub use serde_json::{Value, json};

/// WIT package version this SDK builds against.
pub const WIT_VERSION: &str = "0.1.1";

/// Records shared with the host (contracts, quotes, bars, positions, orders, ...).
pub use bindings::ibkr::plugin::types::{
    AccountSummary, AccountValue, Action, Bar, BarSize, BarsRequest, BracketRequest, BracketStatus,
    BrokerError, ComboLeg, Contract, ContractDetails, Duration, Error, Execution, ExecutionFilter,
    OpenOrder, OptionChain, OptionRight, Order, OrderModification, OrderPreview, OrderState,
    OrderStatus, OrderType, Pnl, PnlSingle, Position, Quote, SecType, TimeInForce, WhatToShow,
};

/// Prompt definitions a plugin exports.
pub use bindings::exports::ibkr::plugin::prompts::{
    ArgumentKind, Prompt, PromptArgument, PromptMessage, Role,
};
/// Workflow definitions a plugin exports.
pub use bindings::exports::ibkr::plugin::workflows::{Access, Workflow};

pub use helpers::PromptArgs;

/// Everything a plugin usually needs.
pub mod prelude {
    pub use crate::{
        Access, Action, ArgumentKind, Bar, BarSize, BarsRequest, BracketRequest, Contract,
        Duration, Error, Order, OrderType, Plugin, Prompt, PromptArgs, PromptMessage, SecType,
        TimeInForce, Value, WhatToShow, Workflow, account, host, json, market_data, orders,
        parse_input, to_output,
    };
}

/// The trait a plugin implements. Every call runs in a fresh sandbox instance, so a plugin
/// keeps no state between calls; all methods are associated functions.
pub trait Plugin {
    /// Prompts shown in MCP `prompts/list`.
    fn prompts() -> Vec<Prompt> {
        Vec::new()
    }

    /// Render the prompt `name` with the client's arguments.
    fn render_prompt(name: &str, args: &PromptArgs) -> Result<Vec<PromptMessage>, Error> {
        let _ = args;
        Err(Error::invalid(format!("unknown prompt `{name}`")))
    }

    /// Workflow tools shown in MCP `tools/list`.
    fn workflows() -> Vec<Workflow> {
        Vec::new()
    }

    /// Run the workflow `name` with its JSON input; return JSON output.
    fn run_workflow(name: &str, input: Value) -> Result<Value, Error> {
        let _ = input;
        Err(Error::invalid(format!("unknown workflow `{name}`")))
    }
}

/// Deserialize a workflow input into a typed struct; errors become `invalid-argument`.
pub fn parse_input<T: serde::de::DeserializeOwned>(input: Value) -> Result<T, Error> {
    serde_json::from_value(input).map_err(|e| Error::InvalidArgument(format!("input: {e}")))
}

/// Serialize a typed output into JSON.
pub fn to_output<T: serde::Serialize>(output: &T) -> Result<Value, Error> {
    serde_json::to_value(output).map_err(|e| Error::Failed(format!("output: {e}")))
}

/// Market data (capability `market-data`).
pub mod market_data {
    use super::*;
    use crate::bindings::ibkr::plugin::market_data as raw;

    /// Snapshot quote.
    pub fn quote(contract: &Contract) -> Result<Quote, Error> {
        raw::get_quote(contract)
    }
    /// Snapshot quotes for many contracts.
    pub fn quotes(contracts: &[Contract]) -> Result<Vec<Quote>, Error> {
        raw::get_quotes(contracts)
    }
    /// Historical bars, oldest first.
    pub fn bars(request: &BarsRequest) -> Result<Vec<Bar>, Error> {
        raw::get_bars(request)
    }
    /// Daily bars (trades, regular hours) for the last `days` days.
    pub fn daily_bars(contract: &Contract, days: u32) -> Result<Vec<Bar>, Error> {
        raw::get_bars(&BarsRequest::daily(contract.clone(), days))
    }
    /// Contract details.
    pub fn contract_details(contract: &Contract) -> Result<Vec<ContractDetails>, Error> {
        raw::get_contract_details(contract)
    }
    /// Option chain parameters of an underlying.
    pub fn option_chain(underlying: &Contract) -> Result<Vec<OptionChain>, Error> {
        raw::get_option_chain(underlying)
    }
}

/// Account and portfolio (capability `account`).
pub mod account {
    use super::*;
    use crate::bindings::ibkr::plugin::account as raw;

    /// Managed accounts.
    pub fn accounts() -> Result<Vec<String>, Error> {
        raw::get_accounts()
    }
    /// Account summary (`None` = default account).
    pub fn summary(account: Option<&str>) -> Result<AccountSummary, Error> {
        raw::get_summary(account)
    }
    /// Positions (`None` = all accounts).
    pub fn positions(account: Option<&str>) -> Result<Vec<Position>, Error> {
        raw::get_positions(account)
    }
    /// Account PnL.
    pub fn pnl(account: Option<&str>) -> Result<Pnl, Error> {
        raw::get_pnl(account)
    }
    /// PnL of one position.
    pub fn pnl_single(account: Option<&str>, con_id: i64) -> Result<PnlSingle, Error> {
        raw::get_pnl_single(account, con_id)
    }
}

/// Orders (capability `orders`). Every call passes the host's guardrails, confirmation
/// policy and audit log, with this plugin as the origin.
pub mod orders {
    use super::*;
    use crate::bindings::ibkr::plugin::orders as raw;

    /// What-if preview: margin and commission impact; nothing is placed.
    pub fn preview(contract: &Contract, order: &Order) -> Result<OrderPreview, Error> {
        raw::preview(contract, order)
    }
    /// Place an order.
    pub fn place(contract: &Contract, order: &Order) -> Result<OrderStatus, Error> {
        raw::place(contract, order)
    }
    /// Place a bracket order (entry + take-profit + stop-loss).
    pub fn bracket(request: &BracketRequest) -> Result<BracketStatus, Error> {
        raw::bracket(request)
    }

    /// Place a bracket order in `account` (none = the host's default account).
    /// Needs a host with WIT `ibkr:plugin@0.1.1` or newer.
    pub fn bracket_in_account(
        request: &BracketRequest,
        account: Option<&str>,
    ) -> Result<BracketStatus, Error> {
        raw::bracket_in_account(request, account)
    }
    /// Modify a working order.
    /// Only orders this plugin placed can be modified (unless the operator allows more).
    pub fn modify(order_id: i32, changes: OrderModification) -> Result<OrderStatus, Error> {
        raw::modify(order_id, changes)
    }
    /// Cancel a working order.
    pub fn cancel(order_id: i32) -> Result<OrderStatus, Error> {
        raw::cancel(order_id)
    }
    /// Open orders.
    pub fn open_orders() -> Result<Vec<OpenOrder>, Error> {
        raw::open_orders()
    }
    /// Executions matching a filter.
    pub fn executions(filter: &ExecutionFilter) -> Result<Vec<Execution>, Error> {
        raw::executions(filter)
    }
}

/// Host services: logging, progress, cancellation, confirmation, configuration.
pub mod host {
    use crate::Error;
    use crate::bindings::ibkr::plugin::host as raw;
    pub use raw::LogLevel;

    /// Log at a level (tagged with the plugin name by the host).
    pub fn log(level: LogLevel, message: &str) {
        raw::log(level, message)
    }
    /// Log at debug level.
    pub fn debug(message: &str) {
        raw::log(LogLevel::Debug, message)
    }
    /// Log at info level.
    pub fn info(message: &str) {
        raw::log(LogLevel::Info, message)
    }
    /// Log at warn level.
    pub fn warn(message: &str) {
        raw::log(LogLevel::Warn, message)
    }
    /// Log at error level.
    pub fn error(message: &str) {
        raw::log(LogLevel::Error, message)
    }
    /// Report progress to the MCP client.
    pub fn progress(progress: f64, total: Option<f64>, message: Option<&str>) {
        raw::progress(progress, total, message)
    }
    /// True when the client cancelled this call.
    pub fn is_cancelled() -> bool {
        raw::is_cancelled()
    }
    /// `Err(Error::Cancelled)` when the client cancelled this call (use with `?`).
    pub fn check_cancelled() -> Result<(), Error> {
        if raw::is_cancelled() {
            Err(Error::Cancelled)
        } else {
            Ok(())
        }
    }
    /// Ask the user to confirm; `Ok(false)` = declined.
    pub fn confirm(message: &str) -> Result<bool, Error> {
        raw::confirm(message)
    }
    /// A configuration value set by the operator for this plugin.
    pub fn config(key: &str) -> Option<String> {
        raw::config(key)
    }
    /// All configuration keys set for this plugin.
    pub fn config_keys() -> Vec<String> {
        raw::config_keys()
    }
}

#[doc(hidden)]
pub mod __private {
    use super::*;

    pub fn render<P: Plugin>(
        name: String,
        arguments: Vec<(String, String)>,
    ) -> Result<Vec<PromptMessage>, Error> {
        P::render_prompt(&name, &PromptArgs::new(arguments))
    }

    pub fn run<P: Plugin>(name: String, input: String) -> Result<String, Error> {
        let value = if input.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_str(&input)
                .map_err(|e| Error::InvalidArgument(format!("input is not JSON: {e}")))?
        };
        let out = P::run_workflow(&name, value)?;
        serde_json::to_string(&out).map_err(|e| Error::Failed(format!("output: {e}")))
    }
}

/// Export a [`Plugin`] implementation as the component's `prompts` and `workflows`.
#[macro_export]
macro_rules! register {
    ($plugin:ty) => {
        const _: () = {
            struct __IbkrPluginExports;

            impl $crate::bindings::exports::ibkr::plugin::prompts::Guest for __IbkrPluginExports {
                fn list_prompts() -> ::std::vec::Vec<$crate::Prompt> {
                    <$plugin as $crate::Plugin>::prompts()
                }
                fn render_prompt(
                    name: ::std::string::String,
                    arguments: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
                ) -> ::std::result::Result<::std::vec::Vec<$crate::PromptMessage>, $crate::Error>
                {
                    $crate::__private::render::<$plugin>(name, arguments)
                }
            }

            impl $crate::bindings::exports::ibkr::plugin::workflows::Guest for __IbkrPluginExports {
                fn list_workflows() -> ::std::vec::Vec<$crate::Workflow> {
                    <$plugin as $crate::Plugin>::workflows()
                }
                fn run_workflow(
                    name: ::std::string::String,
                    input: ::std::string::String,
                ) -> ::std::result::Result<::std::string::String, $crate::Error> {
                    $crate::__private::run::<$plugin>(name, input)
                }
            }

    $crate::bindings::__export_plugin!(__IbkrPluginExports with_types_in $crate::bindings);
        };
    };
}

#[cfg(test)]
mod tests;
