//! Order tools: ibkr_place_order, ibkr_preview_order, ibkr_place_bracket_order,
//! ibkr_modify_order, ibkr_cancel_order, ibkr_get_open_orders, ibkr_get_executions,
//! ibkr_get_next_valid_id. Orders go through the broker's single order path (validation,
//! guardrails, audit log) exactly like plugin-initiated orders.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{NoParams, default_currency, default_exchange, default_sec_type};
use crate::broker::{
    BracketRequest, BracketStatus, ContractSpec, Execution, ExecutionQuery, OpenOrder,
    OrderChanges, OrderOrigin, OrderPreview, OrderRequest, OrderStatus, Side,
};
use crate::mcp::registry::{Kind, ToolDef, tool};

fn default_order_type() -> String {
    "MKT".into()
}
fn default_tif() -> String {
    "DAY".into()
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PlaceOrderParams {
    /// Ticker symbol, e.g. "AAPL".
    pub symbol: String,
    /// BUY or SELL.
    pub action: String,
    /// Number of shares / contracts (> 0).
    #[serde(rename = "totalQuantity")]
    pub total_quantity: f64,
    /// Order type: MKT, LMT, STP, STP LMT (the host's guardrails may restrict the set).
    #[serde(default = "default_order_type", rename = "orderType")]
    pub order_type: String,
    /// Limit price; required for LMT and STP LMT.
    #[serde(default, rename = "lmtPrice")]
    #[schemars(with = "f64")]
    pub lmt_price: Option<f64>,
    /// Stop (aux) price; required for STP and STP LMT.
    #[serde(default, rename = "auxPrice")]
    #[schemars(with = "f64")]
    pub aux_price: Option<f64>,
    /// Time in force: DAY, GTC, IOC, ...
    #[serde(default = "default_tif")]
    pub tif: String,
    /// Security type: STK, OPT, FUT, CASH, ...
    #[serde(default = "default_sec_type", rename = "secType")]
    pub sec_type: String,
    /// Exchange; SMART for smart routing.
    #[serde(default = "default_exchange")]
    pub exchange: String,
    /// Currency, e.g. USD.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Account id (empty = the default account).
    #[serde(default)]
    pub account: String,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlaceOrderResult {
    pub order_id: i32,
    /// Order status after submission: PreSubmitted, Submitted, Filled, ...
    pub status: String,
    pub symbol: String,
    pub action: String,
    pub quantity: f64,
    pub order_type: String,
    pub filled: f64,
    pub remaining: f64,
    pub avg_fill_price: Option<f64>,
    pub perm_id: i64,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct PlaceBracketParams {
    /// Ticker symbol, e.g. "AAPL".
    pub symbol: String,
    /// Side of the entry, BUY or SELL; the take-profit and stop-loss take the other side.
    pub action: String,
    /// Quantity of the entry and of each exit (> 0).
    #[serde(rename = "totalQuantity")]
    pub total_quantity: f64,
    /// Limit price of the entry; omit for a market entry.
    #[serde(default, rename = "entryPrice")]
    #[schemars(with = "f64")]
    pub entry_price: Option<f64>,
    /// Limit price of the take-profit exit (above the entry for a BUY, below for a SELL).
    #[serde(rename = "takeProfit")]
    pub take_profit: f64,
    /// Stop price of the stop-loss exit (below the entry for a BUY, above for a SELL).
    #[serde(rename = "stopLoss")]
    pub stop_loss: f64,
    /// Time in force of all three orders: DAY, GTC, ...
    #[serde(default = "default_tif")]
    pub tif: String,
    /// Security type: STK, OPT, FUT, CASH, ...
    #[serde(default = "default_sec_type", rename = "secType")]
    pub sec_type: String,
    /// Exchange; SMART for smart routing.
    #[serde(default = "default_exchange")]
    pub exchange: String,
    /// Currency, e.g. USD.
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Account id (empty = the default account).
    #[serde(default)]
    pub account: String,
}

impl PlaceOrderParams {
    fn request(self) -> Result<OrderRequest, crate::broker::BrokerError> {
        Ok(OrderRequest {
            contract: ContractSpec::new(
                &self.symbol,
                &self.sec_type,
                &self.exchange,
                &self.currency,
            ),
            action: Side::parse("action", &self.action)?,
            total_quantity: self.total_quantity,
            order_type: self.order_type.trim().to_ascii_uppercase(),
            lmt_price: self.lmt_price,
            aux_price: self.aux_price,
            tif: self.tif,
            account: self.account,
            order_ref: "ibkr-mcp".into(),
        })
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct ModifyParams {
    /// Id of the working order to modify (placed by this host's connection).
    #[serde(rename = "orderId")]
    pub order_id: i32,
    /// New total quantity (omit = unchanged).
    #[serde(default, rename = "totalQuantity")]
    #[schemars(with = "f64")]
    pub total_quantity: Option<f64>,
    /// New limit price (omit = unchanged).
    #[serde(default, rename = "lmtPrice")]
    #[schemars(with = "f64")]
    pub lmt_price: Option<f64>,
    /// New stop (aux) price (omit = unchanged).
    #[serde(default, rename = "auxPrice")]
    #[schemars(with = "f64")]
    pub aux_price: Option<f64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct CancelParams {
    /// Id of the order to cancel.
    #[serde(rename = "orderId")]
    pub order_id: i32,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct OpenOrdersResult {
    pub count: usize,
    pub orders: Vec<OpenOrder>,
}

#[derive(Debug, Serialize, JsonSchema)]
pub struct ExecutionsResult {
    pub count: usize,
    pub executions: Vec<Execution>,
}

#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NextIdResult {
    pub order_id: i32,
}

pub fn tools() -> Vec<ToolDef> {
    vec![
        tool(
            "orders",
            "ibkr_place_order",
            "Place an order",
            "Place an order (BUY/SELL; MKT, LMT, STP, STP LMT). Subject to the host's guardrails \
             (read-only mode, maximum quantity and notional, allowed security and order types) and \
             recorded in the audit log. Returns the order id and its first status.",
            Kind::Trade,
            |broker, p: PlaceOrderParams, _ctx| async move {
                let req = p.request()?;
                let action = req.action;
                let origin = OrderOrigin::Tool {
                    tool: "ibkr_place_order".into(),
                };
                let s = broker.place_order(&req, &origin).await?;
                Ok(PlaceOrderResult {
                    order_id: s.order_id,
                    status: s.status,
                    symbol: req.contract.symbol.to_ascii_uppercase(),
                    action: action.as_str().into(),
                    quantity: req.total_quantity,
                    order_type: req.order_type,
                    filled: s.filled,
                    remaining: s.remaining,
                    avg_fill_price: s.avg_fill_price,
                    perm_id: s.perm_id,
                })
            },
        ),
        tool(
            "orders",
            "ibkr_preview_order",
            "Preview an order (what-if)",
            "What-if preview of an order (same parameters as ibkr_place_order): the account's \
             initial / maintenance margin and equity with loan before, change and after, and the \
             expected commission. Nothing is placed. The host's guardrails apply as for placing: \
             an order they refuse is refused here with the same error.",
            Kind::Query,
            |broker, p: PlaceOrderParams, _ctx| async move {
                let req = p.request()?;
                let origin = OrderOrigin::Tool {
                    tool: "ibkr_preview_order".into(),
                };
                let r: OrderPreview = broker.preview_order(&req, &origin).await?;
                Ok(r)
            },
        ),
        tool(
            "orders",
            "ibkr_place_bracket_order",
            "Place a bracket order",
            "Place a bracket: a parent entry (LMT at entryPrice, or MKT when omitted) with a \
             take-profit LMT and a stop-loss STP child in one OCA group, transmitted together. For \
             a BUY stopLoss < entryPrice < takeProfit (mirrored for a SELL). Every leg passes the \
             host's guardrails and is recorded in the audit log; nothing is placed unless all \
             three pass. Returns the first status of each order.",
            Kind::Trade,
            |broker, p: PlaceBracketParams, _ctx| async move {
                let req = BracketRequest {
                    contract: ContractSpec::new(&p.symbol, &p.sec_type, &p.exchange, &p.currency),
                    action: Side::parse("action", &p.action)?,
                    total_quantity: p.total_quantity,
                    entry_price: p.entry_price,
                    take_profit: p.take_profit,
                    stop_loss: p.stop_loss,
                    tif: p.tif,
                    account: p.account,
                    order_ref: "ibkr-mcp".into(),
                };
                let origin = OrderOrigin::Tool {
                    tool: "ibkr_place_bracket_order".into(),
                };
                let s: BracketStatus = broker.place_bracket(&req, &origin).await?;
                Ok(s)
            },
        ),
        tool(
            "orders",
            "ibkr_modify_order",
            "Modify an order",
            "Modify a working order by id: new totalQuantity, lmtPrice and/or auxPrice (omitted = \
             unchanged). The modified order passes the host's guardrails like a new one and is \
             recorded in the audit log; TWS keeps the order id. Only orders placed by this host's \
             connection can be modified.",
            Kind::Trade,
            |broker, p: ModifyParams, _ctx| async move {
                let origin = OrderOrigin::Tool {
                    tool: "ibkr_modify_order".into(),
                };
                let changes = OrderChanges {
                    total_quantity: p.total_quantity,
                    lmt_price: p.lmt_price,
                    aux_price: p.aux_price,
                };
                let s: OrderStatus = broker.modify_order(p.order_id, &changes, &origin).await?;
                Ok(s)
            },
        ),
        tool(
            "orders",
            "ibkr_cancel_order",
            "Cancel an order",
            "Cancel a working order by id. Refused in read-only mode; recorded in the audit log.",
            Kind::Trade,
            |broker, p: CancelParams, _ctx| async move {
                let origin = OrderOrigin::Tool {
                    tool: "ibkr_cancel_order".into(),
                };
                let s: OrderStatus = broker.cancel_order(p.order_id, &origin).await?;
                Ok(s)
            },
        ),
        tool(
            "orders",
            "ibkr_get_open_orders",
            "Open orders",
            "Get all open (working) orders of all API clients with their latest status.",
            Kind::Query,
            |broker, _p: NoParams, _ctx| async move {
                let orders = broker.open_orders().await?;
                Ok(OpenOrdersResult {
                    count: orders.len(),
                    orders,
                })
            },
        ),
        tool(
            "orders",
            "ibkr_get_executions",
            "Executions",
            "Get today's executions (fills) with commissions.",
            Kind::Query,
            |broker, _p: NoParams, _ctx| async move {
                let executions = broker.executions(&ExecutionQuery::default()).await?;
                Ok(ExecutionsResult {
                    count: executions.len(),
                    executions,
                })
            },
        ),
        tool(
            "orders",
            "ibkr_get_next_valid_id",
            "Next valid order id",
            "Get the next valid order id from TWS (reqIds).",
            Kind::Query,
            |broker, _p: NoParams, _ctx| async move {
                Ok(NextIdResult {
                    order_id: broker.next_valid_id().await?,
                })
            },
        ),
    ]
}
