//! Typed domain records of the broker adapter (serde + schemars).
//!
//! These are what MCP tools return as structured content and what the plugin runtime maps
//! to its WIT records, so they are plain data: camelCase JSON, no library types.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Identifies an instrument in a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContractSpec {
    /// Ticker symbol, e.g. AAPL.
    pub symbol: String,
    /// Security type: STK, OPT, FUT, CASH, IND, ...
    pub sec_type: String,
    /// Exchange, e.g. SMART.
    pub exchange: String,
    /// Currency, e.g. USD.
    pub currency: String,
    /// IB contract id (0 = unknown).
    #[serde(default)]
    pub con_id: i32,
    /// Primary exchange (optional, empty = any).
    #[serde(default)]
    pub primary_exchange: String,
    /// Expiry YYYYMMDD or contract month YYYYMM for derivatives (empty otherwise).
    #[serde(default)]
    pub last_trade_date_or_contract_month: String,
    /// Option strike (0 otherwise).
    #[serde(default)]
    pub strike: f64,
    /// Option right C or P (empty otherwise).
    #[serde(default)]
    pub right: String,
    /// Contract multiplier (empty for stocks).
    #[serde(default)]
    pub multiplier: String,
}

impl ContractSpec {
    /// A SMART-routed USD stock.
    pub fn stock(symbol: impl Into<String>) -> Self {
        Self::new(symbol, "STK", "SMART", "USD")
    }

    pub fn new(
        symbol: impl Into<String>,
        sec_type: impl Into<String>,
        exchange: impl Into<String>,
        currency: impl Into<String>,
    ) -> Self {
        Self {
            symbol: symbol.into(),
            sec_type: sec_type.into(),
            exchange: exchange.into(),
            currency: currency.into(),
            con_id: 0,
            primary_exchange: String::new(),
            last_trade_date_or_contract_month: String::new(),
            strike: 0.0,
            right: String::new(),
            multiplier: String::new(),
        }
    }
}

/// A contract as reported by TWS.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContractRef {
    pub con_id: i32,
    pub symbol: String,
    pub sec_type: String,
    pub exchange: String,
    pub primary_exchange: String,
    pub currency: String,
    pub local_symbol: String,
    pub trading_class: String,
    pub last_trade_date_or_contract_month: String,
    pub strike: f64,
    pub right: String,
    pub multiplier: String,
}

/// Contract details (reqContractDetails).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContractInfo {
    pub con_id: i32,
    pub symbol: String,
    pub sec_type: String,
    pub exchange: String,
    pub primary_exchange: String,
    pub currency: String,
    pub local_symbol: String,
    pub trading_class: String,
    pub long_name: String,
    pub industry: String,
    pub category: String,
    pub subcategory: String,
    pub market_name: String,
    pub min_tick: f64,
    pub multiplier: String,
    pub last_trade_date_or_contract_month: String,
    pub strike: f64,
    pub right: String,
    pub time_zone_id: String,
    pub order_types: Vec<String>,
    pub valid_exchanges: Vec<String>,
}

/// One historical bar.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Bar {
    /// Bar start: `YYYY-MM-DD` for daily and longer bars, RFC 3339 otherwise.
    pub date: String,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
    pub wap: f64,
    pub count: i32,
}

/// Historical data request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoricalRequest {
    pub contract: ContractSpec,
    /// TWS duration string, e.g. `30 D`, `1 Y`.
    pub duration_str: String,
    /// TWS bar size, e.g. `1 day`, `1 hour`, `5 mins`.
    pub bar_size_setting: String,
    /// TRADES, MIDPOINT, BID, ASK, BID_ASK, ADJUSTED_LAST, ...
    pub what_to_show: String,
    /// Regular trading hours only.
    pub use_rth: bool,
}

/// A market data snapshot folded from ticks. Absent fields had no tick.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    pub symbol: String,
    pub bid: Option<f64>,
    pub ask: Option<f64>,
    pub last: Option<f64>,
    pub open: Option<f64>,
    pub high: Option<f64>,
    pub low: Option<f64>,
    pub close: Option<f64>,
    pub bid_size: Option<f64>,
    pub ask_size: Option<f64>,
    pub last_size: Option<f64>,
    pub volume: Option<f64>,
    /// real-time, frozen, delayed or delayed-frozen (when TWS said).
    pub market_data_type: Option<String>,
    /// Host time of the snapshot (RFC 3339).
    pub time: String,
}

impl Quote {
    /// Best price for valuation: last, else mid, else close.
    pub fn reference_price(&self) -> Option<f64> {
        let valid = |p: Option<f64>| p.filter(|v| v.is_finite() && *v > 0.0);
        valid(self.last)
            .or_else(|| match (valid(self.bid), valid(self.ask)) {
                (Some(b), Some(a)) => Some((a + b) / 2.0),
                _ => None,
            })
            .or_else(|| valid(self.close))
    }
}

/// Option chain parameters of an underlying on one exchange (reqSecDefOptParams).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OptionChain {
    pub underlying_con_id: i32,
    pub exchange: String,
    pub trading_class: String,
    pub multiplier: String,
    /// Expirations, YYYYMMDD, ascending.
    pub expirations: Vec<String>,
    /// Strikes, ascending.
    pub strikes: Vec<f64>,
}

/// A portfolio position (reqPositions).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    pub account: String,
    pub contract: ContractRef,
    /// Signed quantity.
    pub position: f64,
    pub avg_cost: f64,
}

/// One account summary value (reqAccountSummary) or account value (reqAccountUpdates).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountValue {
    pub account: String,
    pub tag: String,
    pub value: String,
    pub currency: String,
}

/// A position's valuation from the account updates stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PortfolioItem {
    pub account: String,
    pub contract: ContractRef,
    pub position: f64,
    pub market_price: f64,
    pub market_value: f64,
    pub average_cost: f64,
    pub unrealized_pnl: f64,
    pub realized_pnl: f64,
}

/// One event of the account updates stream.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum AccountUpdate {
    Value(AccountValue),
    Portfolio(PortfolioItem),
    Time { time: String },
    DownloadEnd,
}

/// Account (or model) PnL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pnl {
    pub account: String,
    pub model_code: String,
    pub daily_pnl: f64,
    pub unrealized_pnl: Option<f64>,
    pub realized_pnl: Option<f64>,
}

/// PnL of one position.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PnlSingle {
    pub account: String,
    pub model_code: String,
    pub con_id: i32,
    pub position: f64,
    pub daily_pnl: f64,
    pub unrealized_pnl: f64,
    pub realized_pnl: f64,
    pub value: f64,
}

/// Order side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Side {
    Buy,
    Sell,
}

impl Side {
    pub fn as_str(&self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
    pub fn parse(arg: &str, s: &str) -> Result<Self, super::BrokerError> {
        match s.trim().to_ascii_uppercase().as_str() {
            "BUY" => Ok(Side::Buy),
            "SELL" => Ok(Side::Sell),
            _ => Err(super::BrokerError::invalid(
                arg,
                format!("{s:?} is not BUY or SELL"),
            )),
        }
    }
}

/// An order to place. Every order (MCP tool or plugin) goes through
/// [`crate::broker::Broker::place_order`], which validates, applies guardrails and audits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderRequest {
    pub contract: ContractSpec,
    pub action: Side,
    pub total_quantity: f64,
    /// MKT, LMT, STP, STP LMT, ...
    pub order_type: String,
    /// Limit price (LMT, STP LMT).
    pub lmt_price: Option<f64>,
    /// Stop price (STP, STP LMT).
    pub aux_price: Option<f64>,
    /// DAY, GTC, IOC, ... (empty = DAY).
    #[serde(default)]
    pub tif: String,
    /// Account (empty = the connection's default account).
    #[serde(default)]
    pub account: String,
    /// Free-form reference stored with the order.
    #[serde(default)]
    pub order_ref: String,
}

/// A bracket: a parent entry order plus an OCA-linked take-profit limit and stop-loss stop,
/// both children of the parent. Placed by [`crate::broker::Broker::place_bracket`]; every leg
/// passes the same validation, guardrails and audit as a single order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BracketRequest {
    pub contract: ContractSpec,
    /// Side of the entry; the children take the opposite side.
    pub action: Side,
    /// Quantity of the entry and of each child.
    pub total_quantity: f64,
    /// Limit price of the entry; `None` = a market entry.
    pub entry_price: Option<f64>,
    /// Limit price of the take-profit child.
    pub take_profit: f64,
    /// Stop price of the stop-loss child.
    pub stop_loss: f64,
    /// DAY, GTC, ... for all three legs (empty = DAY).
    #[serde(default)]
    pub tif: String,
    /// Account (empty = the connection's default account).
    #[serde(default)]
    pub account: String,
    /// Free-form reference stored with every leg.
    #[serde(default)]
    pub order_ref: String,
}

/// The first status of each leg of a placed bracket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BracketStatus {
    pub parent: OrderStatus,
    pub take_profit: OrderStatus,
    pub stop_loss: OrderStatus,
    /// OCA group shared by the two children.
    pub oca_group: String,
}

/// What-if (preview) result of an order: the account's margin before / change / after and
/// the commission TWS expects. Nothing is placed. Absent fields were not reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderPreview {
    pub init_margin_before: Option<f64>,
    pub init_margin_change: Option<f64>,
    pub init_margin_after: Option<f64>,
    pub maint_margin_before: Option<f64>,
    pub maint_margin_change: Option<f64>,
    pub maint_margin_after: Option<f64>,
    pub equity_with_loan_before: Option<f64>,
    pub equity_with_loan_change: Option<f64>,
    pub equity_with_loan_after: Option<f64>,
    pub commission: Option<f64>,
    pub min_commission: Option<f64>,
    pub max_commission: Option<f64>,
    pub commission_currency: String,
    pub margin_currency: String,
    /// TWS warning text (empty = none).
    pub warning_text: String,
}

/// Changes to a working order for [`crate::broker::Broker::modify_order`]; `None` = unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderChanges {
    /// New total quantity.
    pub total_quantity: Option<f64>,
    /// New limit price (LMT, STP LMT, ...).
    pub lmt_price: Option<f64>,
    /// New stop / aux price (STP, STP LMT, ...).
    pub aux_price: Option<f64>,
}

impl OrderChanges {
    pub fn is_empty(&self) -> bool {
        self.total_quantity.is_none() && self.lmt_price.is_none() && self.aux_price.is_none()
    }
}

/// Who initiated an order action (recorded in the audit log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OrderOrigin {
    /// An MCP tool call.
    Tool { tool: String },
    /// A WASM plugin.
    Plugin { name: String },
}

impl std::fmt::Display for OrderOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderOrigin::Tool { tool } => write!(f, "tool:{tool}"),
            OrderOrigin::Plugin { name } => write!(f, "plugin:{name}"),
        }
    }
}

/// Order status (orderStatus callback).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderStatus {
    pub order_id: i32,
    /// ApiPending, PendingSubmit, PreSubmitted, Submitted, Cancelled, Filled, Inactive, ...
    pub status: String,
    pub filled: f64,
    pub remaining: f64,
    pub avg_fill_price: Option<f64>,
    pub last_fill_price: Option<f64>,
    pub perm_id: i64,
    pub parent_id: i32,
    pub client_id: i32,
    pub why_held: String,
}

/// A working order (reqOpenOrders).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpenOrder {
    pub order_id: i32,
    pub client_id: i32,
    pub perm_id: i64,
    pub contract: ContractRef,
    pub action: String,
    pub total_quantity: f64,
    pub order_type: String,
    pub lmt_price: Option<f64>,
    pub aux_price: Option<f64>,
    pub tif: String,
    pub account: String,
    pub order_ref: String,
    pub status: String,
    pub filled: f64,
    pub remaining: f64,
}

/// An execution (fill) with its commission when reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    pub exec_id: String,
    pub order_id: i32,
    pub client_id: i32,
    pub perm_id: i64,
    pub time: String,
    pub account: String,
    pub exchange: String,
    /// BOT or SLD.
    pub side: String,
    pub shares: f64,
    pub price: f64,
    pub cum_qty: f64,
    pub avg_price: f64,
    pub order_ref: String,
    pub contract: ContractRef,
    pub commission: Option<f64>,
    pub commission_currency: Option<String>,
    pub realized_pnl: Option<f64>,
}

/// Filter for executions; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecutionQuery {
    pub account: String,
    pub symbol: String,
    pub sec_type: String,
    pub side: String,
    pub client_id: Option<i32>,
}

/// Connection state of the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    Disconnected,
    Connecting,
    Connected,
}

/// What the connection supervisor reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStatus {
    pub state: ConnectionState,
    /// Same as `state == connected` (the predecessor's field name).
    #[serde(rename = "is_connected")]
    pub is_connected: bool,
    pub host: String,
    pub port: u16,
    /// Client id in use (or being tried).
    pub client_id: i32,
    pub server_version: Option<i32>,
    pub accounts: Vec<String>,
    /// Consecutive failed attempts while connecting.
    pub attempt: u32,
    pub last_error: Option<String>,
    pub last_error_code: Option<i32>,
    /// RFC 3339 time the current connection was established.
    pub connected_since: Option<String>,
    /// TWS reported that its own link to IB's servers is down (error 1100) and has not yet
    /// reported it restored (1101 / 1102). The socket to TWS stays up; requests fail fast
    /// with TWS error 1100 meanwhile.
    pub ib_connectivity_lost: bool,
}
