//! What the plugin runtime needs from the rest of the host: the broker (through the host's
//! single adapter and its single order path) and the per-call MCP context.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

use super::bindings::types::{
    AccountSummary, Bar, BarsRequest, BracketRequest, BracketStatus, Contract, ContractDetails,
    Error as ApiError, Execution, ExecutionFilter, OpenOrder, OptionChain, Order,
    OrderModification, OrderPreview, OrderStatus, Pnl, PnlSingle, Position, Quote,
};

/// Result of a broker call as plugins see it.
pub type ApiResult<T> = Result<T, ApiError>;

/// Who asked for an order: the plugin name plus the call's MCP context (for confirmation).
#[derive(Clone)]
pub struct Origin {
    /// Plugin name; the audit log records `plugin:<name>`.
    pub plugin: Arc<str>,
    /// The MCP call this order belongs to.
    pub call: CallContext,
}

/// The broker as plugins reach it. The host implements this over its one broker adapter;
/// order methods go through the same guardrails, confirmation and audit as MCP tools.
pub trait PluginBackend: Send + Sync + 'static {
    /// Snapshot quote.
    fn quote(&self, contract: Contract) -> BoxFuture<'_, ApiResult<Quote>>;
    /// Historical bars.
    fn bars(&self, request: BarsRequest) -> BoxFuture<'_, ApiResult<Vec<Bar>>>;
    /// Contract details.
    fn contract_details(
        &self,
        contract: Contract,
    ) -> BoxFuture<'_, ApiResult<Vec<ContractDetails>>>;
    /// Option chain parameters.
    fn option_chain(&self, underlying: Contract) -> BoxFuture<'_, ApiResult<Vec<OptionChain>>>;
    /// Managed accounts.
    fn accounts(&self) -> BoxFuture<'_, ApiResult<Vec<String>>>;
    /// Account summary.
    fn account_summary(&self, account: Option<String>) -> BoxFuture<'_, ApiResult<AccountSummary>>;
    /// Positions.
    fn positions(&self, account: Option<String>) -> BoxFuture<'_, ApiResult<Vec<Position>>>;
    /// Account PnL.
    fn pnl(&self, account: Option<String>) -> BoxFuture<'_, ApiResult<Pnl>>;
    /// Single-position PnL.
    fn pnl_single(
        &self,
        account: Option<String>,
        con_id: i64,
    ) -> BoxFuture<'_, ApiResult<PnlSingle>>;
    /// What-if preview.
    fn preview_order(
        &self,
        origin: Origin,
        contract: Contract,
        order: Order,
    ) -> BoxFuture<'_, ApiResult<OrderPreview>>;
    /// Place an order through the host's single order path.
    fn place_order(
        &self,
        origin: Origin,
        contract: Contract,
        order: Order,
    ) -> BoxFuture<'_, ApiResult<OrderStatus>>;
    /// Place a bracket through the host's single order path, in `account` (none = the
    /// default account).
    fn place_bracket(
        &self,
        origin: Origin,
        request: BracketRequest,
        account: Option<String>,
    ) -> BoxFuture<'_, ApiResult<BracketStatus>>;
    /// Modify a working order.
    fn modify_order(
        &self,
        origin: Origin,
        order_id: i32,
        changes: OrderModification,
    ) -> BoxFuture<'_, ApiResult<OrderStatus>>;
    /// Cancel a working order.
    fn cancel_order(&self, origin: Origin, order_id: i32) -> BoxFuture<'_, ApiResult<OrderStatus>>;
    /// Open orders.
    fn open_orders(&self) -> BoxFuture<'_, ApiResult<Vec<OpenOrder>>>;
    /// Executions.
    fn executions(&self, filter: ExecutionFilter) -> BoxFuture<'_, ApiResult<Vec<Execution>>>;
}

/// A backend with no broker: every broker call fails with `not-connected`.
/// Used by `ibkr-mcp plugins validate` and when the host runs without TWS.
#[derive(Debug, Default, Clone, Copy)]
pub struct Disconnected;

macro_rules! not_connected {
    () => {
        Box::pin(async { Err(ApiError::NotConnected) })
    };
}

impl PluginBackend for Disconnected {
    fn quote(&self, _: Contract) -> BoxFuture<'_, ApiResult<Quote>> {
        not_connected!()
    }
    fn bars(&self, _: BarsRequest) -> BoxFuture<'_, ApiResult<Vec<Bar>>> {
        not_connected!()
    }
    fn contract_details(&self, _: Contract) -> BoxFuture<'_, ApiResult<Vec<ContractDetails>>> {
        not_connected!()
    }
    fn option_chain(&self, _: Contract) -> BoxFuture<'_, ApiResult<Vec<OptionChain>>> {
        not_connected!()
    }
    fn accounts(&self) -> BoxFuture<'_, ApiResult<Vec<String>>> {
        not_connected!()
    }
    fn account_summary(&self, _: Option<String>) -> BoxFuture<'_, ApiResult<AccountSummary>> {
        not_connected!()
    }
    fn positions(&self, _: Option<String>) -> BoxFuture<'_, ApiResult<Vec<Position>>> {
        not_connected!()
    }
    fn pnl(&self, _: Option<String>) -> BoxFuture<'_, ApiResult<Pnl>> {
        not_connected!()
    }
    fn pnl_single(&self, _: Option<String>, _: i64) -> BoxFuture<'_, ApiResult<PnlSingle>> {
        not_connected!()
    }
    fn preview_order(
        &self,
        _: Origin,
        _: Contract,
        _: Order,
    ) -> BoxFuture<'_, ApiResult<OrderPreview>> {
        not_connected!()
    }
    fn place_order(
        &self,
        _: Origin,
        _: Contract,
        _: Order,
    ) -> BoxFuture<'_, ApiResult<OrderStatus>> {
        not_connected!()
    }
    fn place_bracket(
        &self,
        _: Origin,
        _: BracketRequest,
        _: Option<String>,
    ) -> BoxFuture<'_, ApiResult<BracketStatus>> {
        not_connected!()
    }
    fn modify_order(
        &self,
        _: Origin,
        _: i32,
        _: OrderModification,
    ) -> BoxFuture<'_, ApiResult<OrderStatus>> {
        not_connected!()
    }
    fn cancel_order(&self, _: Origin, _: i32) -> BoxFuture<'_, ApiResult<OrderStatus>> {
        not_connected!()
    }
    fn open_orders(&self) -> BoxFuture<'_, ApiResult<Vec<OpenOrder>>> {
        not_connected!()
    }
    fn executions(&self, _: ExecutionFilter) -> BoxFuture<'_, ApiResult<Vec<Execution>>> {
        not_connected!()
    }
}

/// Progress reporting of one MCP call.
pub trait ProgressSink: Send + Sync {
    /// Report progress.
    fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>);
}

/// User confirmation of one MCP call (e.g. MCP elicitation).
pub trait Confirmer: Send + Sync {
    /// Ask; `Ok(true)` = confirmed.
    fn confirm(&self, message: String) -> BoxFuture<'_, ApiResult<bool>>;
}

/// The MCP context of one plugin call.
#[derive(Clone, Default)]
pub struct CallContext {
    /// Cancelled when the client cancels the request.
    pub cancel: CancellationToken,
    /// Progress notifications, if the client asked for them.
    pub progress: Option<Arc<dyn ProgressSink>>,
    /// Confirmation channel, if the client supports one.
    pub confirmer: Option<Arc<dyn Confirmer>>,
    /// Extra metadata (e.g. MCP request id) for logs.
    pub meta: BTreeMap<String, String>,
}

impl std::fmt::Debug for CallContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallContext")
            .field("cancelled", &self.cancel.is_cancelled())
            .field("progress", &self.progress.is_some())
            .field("confirmer", &self.confirmer.is_some())
            .finish()
    }
}
