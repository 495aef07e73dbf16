//! Built-in tools, one file per concern. Each tool is defined once (name, title, description,
//! typed parameters and output) with [`crate::mcp::registry::tool`]; the registry serves the
//! definitions over MCP and `ibkr-mcp docs` renders them into `docs/API.md`.
//!
//! | Concern | File | Tools |
//! |---|---|---|
//! | connection | `connection.rs` | ibkr_connect, ibkr_disconnect, ibkr_get_status |
//! | contracts | `contracts.rs` | ibkr_get_contract_details, ibkr_search_symbols |
//! | market data | `market_data.rs` | ibkr_get_historical_data, ibkr_stream_market_data, ibkr_get_quote |
//! | account | `account.rs` | ibkr_get_account_summary, ibkr_get_positions, ibkr_stream_account_updates, ibkr_get_pnl, ibkr_get_pnl_single |
//! | orders | `orders.rs` | ibkr_place_order, ibkr_place_bracket_order, ibkr_cancel_order, ibkr_get_open_orders, ibkr_get_executions, ibkr_get_next_valid_id |

pub mod account;
pub mod connection;
pub mod contracts;
pub mod market_data;
pub mod orders;

use schemars::JsonSchema;
use serde::Deserialize;

use super::registry::ToolDef;

/// All built-in tools in documentation order.
pub fn all() -> Vec<ToolDef> {
    let mut v = Vec::new();
    v.extend(connection::tools());
    v.extend(contracts::tools());
    v.extend(market_data::tools());
    v.extend(account::tools());
    v.extend(orders::tools());
    v
}

/// Parameters of tools that take none.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct NoParams {}

pub(crate) fn default_sec_type() -> String {
    "STK".into()
}
pub(crate) fn default_exchange() -> String {
    "SMART".into()
}
pub(crate) fn default_currency() -> String {
    "USD".into()
}
pub(crate) fn default_duration_seconds() -> u64 {
    60
}

/// Longest allowed streaming duration.
pub(crate) const MAX_STREAM_SECONDS: u64 = 3600;

pub(crate) fn check_duration(d: u64) -> Result<std::time::Duration, crate::broker::BrokerError> {
    if d == 0 || d > MAX_STREAM_SECONDS {
        return Err(crate::broker::BrokerError::invalid(
            "duration_seconds",
            format!("{d} must be between 1 and {MAX_STREAM_SECONDS}"),
        ));
    }
    Ok(std::time::Duration::from_secs(d))
}
