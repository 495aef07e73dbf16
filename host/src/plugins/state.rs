//! Per-call store state and the host side of the WIT imports.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::backend::{ApiResult, CallContext, Origin, PluginBackend};
use super::bindings::ibkr::plugin::{account, host, market_data, orders, types};
use super::config::{Capability, Grant};
use super::limits::{CallClock, CallLimiter};
use super::ownership::OrderOwners;
use types::Error as ApiError;

/// Guest stdout/stderr: keeps the first `capacity` bytes for the log and silently drops the
/// rest (a chatty plugin must not fail because its output is full, nor grow host memory).
#[derive(Debug, Clone)]
pub struct CapturePipe {
    capacity: usize,
    buf: Arc<parking_lot::Mutex<Vec<u8>>>,
    dropped: Arc<std::sync::atomic::AtomicUsize>,
}

impl CapturePipe {
    /// A pipe keeping at most `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        CapturePipe {
            capacity,
            buf: Arc::default(),
            dropped: Arc::default(),
        }
    }

    /// Captured bytes.
    pub fn contents(&self) -> Vec<u8> {
        self.buf.lock().clone()
    }

    /// Bytes dropped beyond the capacity.
    pub fn dropped(&self) -> usize {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl tokio::io::AsyncWrite for CapturePipe {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.keep(data);
        std::task::Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl wasmtime_wasi::cli::IsTerminal for CapturePipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for CapturePipe {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }

    // Synchronous stream: no worker task and no flush round trip per write.
    fn p2_stream(&self) -> Box<dyn wasmtime_wasi::p2::OutputStream> {
        Box::new(self.clone())
    }
}

impl CapturePipe {
    fn keep(&self, data: &[u8]) {
        let mut buf = self.buf.lock();
        let keep = data.len().min(self.capacity.saturating_sub(buf.len()));
        buf.extend_from_slice(&data[..keep]);
        if keep < data.len() {
            self.dropped
                .fetch_add(data.len() - keep, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl wasmtime_wasi::p2::OutputStream for CapturePipe {
    fn write(&mut self, bytes: bytes::Bytes) -> wasmtime_wasi::p2::StreamResult<()> {
        self.keep(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> wasmtime_wasi::p2::StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> wasmtime_wasi::p2::StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl wasmtime_wasi::p2::Pollable for CapturePipe {
    async fn ready(&mut self) {}
}

/// Raised (as a trap) when a plugin exceeds its host-call budget.
#[derive(Debug, thiserror::Error)]
#[error("host call budget exceeded: more than {0} host calls in one call")]
pub struct HostCallBudgetExceeded(pub u32);

/// Store data of one plugin call.
pub struct CallState {
    pub(crate) plugin: Arc<str>,
    grant: Grant,
    backend: Arc<dyn PluginBackend>,
    call: CallContext,
    config: Arc<BTreeMap<String, String>>,
    owners: Arc<OrderOwners>,
    manage_all_orders: bool,
    clock: Arc<CallClock>,
    pub(crate) limiter: CallLimiter,
    host_calls: u32,
    max_host_calls: u32,
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) stdout: CapturePipe,
    pub(crate) stderr: CapturePipe,
}

impl CallState {
    /// State for one call: WASI with nothing inherited (no files, env, args, sockets; stdio
    /// captured into bounded in-memory pipes that the runtime logs).
    pub fn new(env: &super::runtime::CallEnv, call: CallContext, clock: Arc<CallClock>) -> Self {
        let limits = &env.limits;
        let stdout = CapturePipe::new(limits.stdio_bytes());
        let stderr = CapturePipe::new(limits.stdio_bytes());
        let mut b = WasiCtxBuilder::new();
        b.stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .socket_addr_check(|_, _| Box::pin(async { false }));
        CallState {
            plugin: env.plugin.clone(),
            grant: env.grant.clone(),
            backend: env.backend.clone(),
            call,
            config: env.config.clone(),
            owners: env.owners.clone(),
            manage_all_orders: env.manage_all_orders,
            clock,
            limiter: CallLimiter::new(limits),
            host_calls: 0,
            max_host_calls: limits.max_host_calls,
            wasi: b.build(),
            table: ResourceTable::new(),
            stdout,
            stderr,
        }
    }

    /// Host calls made so far.
    pub fn host_calls(&self) -> u32 {
        self.host_calls
    }

    /// Count a host call; trap past the budget.
    fn tick(&mut self) -> wasmtime::Result<()> {
        self.host_calls += 1;
        if self.host_calls > self.max_host_calls {
            return Err(wasmtime::Error::new(HostCallBudgetExceeded(
                self.max_host_calls,
            )));
        }
        Ok(())
    }

    /// Count a host call and check the capability (defence in depth: load already refused
    /// plugins whose imports exceed the grant).
    fn enter(&mut self, cap: Capability) -> wasmtime::Result<Result<(), ApiError>> {
        self.tick()?;
        if !self.grant.contains(&cap) {
            return Ok(Err(ApiError::PermissionDenied(format!(
                "plugin `{}` is not granted capability `{cap}`",
                self.plugin
            ))));
        }
        if self.call.cancel.is_cancelled() {
            return Ok(Err(ApiError::Cancelled));
        }
        Ok(Ok(()))
    }

    /// Ownership check of `modify`/`cancel` (after the capability check).
    fn check_owner(&self, order_id: i32, action: &str) -> Result<(), ApiError> {
        self.owners
            .check(&self.plugin, order_id, self.manage_all_orders, action)
    }

    fn origin(&self) -> Origin {
        Origin {
            plugin: self.plugin.clone(),
            call: self.call.clone(),
        }
    }
}

/// Run a broker future, aborting with `cancelled` when the client cancels.
async fn cancellable<T>(
    cancel: tokio_util::sync::CancellationToken,
    fut: impl std::future::Future<Output = ApiResult<T>>,
) -> ApiResult<T> {
    tokio::select! {
        r = fut => r,
        _ = cancel.cancelled() => Err(ApiError::Cancelled),
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for CallState {}

macro_rules! guarded {
    ($self:ident, $cap:expr, $body:expr) => {{
        if let Err(e) = $self.enter($cap)? {
            return Ok(Err(e));
        }
        Ok(cancellable($self.call.cancel.clone(), $body).await)
    }};
}

impl CallState {
    /// `bracket` / `bracket-in-account`: place, then record the legs as this plugin's.
    async fn bracket_in(
        &mut self,
        request: types::BracketRequest,
        account: Option<String>,
    ) -> wasmtime::Result<Result<types::BracketStatus, ApiError>> {
        let (b, o) = (self.backend.clone(), self.origin());
        let r: wasmtime::Result<Result<types::BracketStatus, ApiError>> = guarded!(
            self,
            Capability::Orders,
            b.place_bracket(o, request, account)
        );
        if let Ok(Ok(s)) = &r {
            self.owners.record(
                &self.plugin,
                [
                    s.parent.order_id,
                    s.take_profit.order_id,
                    s.stop_loss.order_id,
                ],
            );
        }
        r
    }
}

impl market_data::Host for CallState {
    async fn get_quote(
        &mut self,
        contract: types::Contract,
    ) -> wasmtime::Result<Result<types::Quote, ApiError>> {
        let b = self.backend.clone();
        guarded!(self, Capability::MarketData, b.quote(contract))
    }

    async fn get_quotes(
        &mut self,
        contracts: Vec<types::Contract>,
    ) -> wasmtime::Result<Result<Vec<types::Quote>, ApiError>> {
        let b = self.backend.clone();
        guarded!(self, Capability::MarketData, async move {
            let all = futures::future::join_all(contracts.into_iter().map(|c| b.quote(c))).await;
            all.into_iter().collect::<Result<Vec<_>, _>>()
        })
    }

    async fn get_bars(
        &mut self,
        request: types::BarsRequest,
    ) -> wasmtime::Result<Result<Vec<types::Bar>, ApiError>> {
        let b = self.backend.clone();
        guarded!(self, Capability::MarketData, b.bars(request))
    }

    async fn get_contract_details(
        &mut self,
        contract: types::Contract,
    ) -> wasmtime::Result<Result<Vec<types::ContractDetails>, ApiError>> {
        let b = self.backend.clone();
        guarded!(self, Capability::MarketData, b.contract_details(contract))
    }

    async fn get_option_chain(
        &mut self,
        underlying: types::Contract,
    ) -> wasmtime::Result<Result<Vec<types::OptionChain>, ApiError>> {
        let b = self.backend.clone();
        guarded!(self, Capability::MarketData, b.option_chain(underlying))
    }
}

impl account::Host for CallState {
    async fn get_accounts(&mut self) -> wasmtime::Result<Result<Vec<String>, ApiError>> {
        let b = self.backend.clone();
        guarded!(self, Capability::Account, b.accounts())
    }

    async fn get_summary(
        &mut self,
        account: Option<String>,
    ) -> wasmtime::Result<Result<types::AccountSummary, ApiError>> {
        let b = self.backend.clone();
        guarded!(self, Capability::Account, b.account_summary(account))
    }

    async fn get_positions(
        &mut self,
        account: Option<String>,
    ) -> wasmtime::Result<Result<Vec<types::Position>, ApiError>> {
        let b = self.backend.clone();
        guarded!(self, Capability::Account, b.positions(account))
    }

    async fn get_pnl(
        &mut self,
        account: Option<String>,
    ) -> wasmtime::Result<Result<types::Pnl, ApiError>> {
        let b = self.backend.clone();
        guarded!(self, Capability::Account, b.pnl(account))
    }

    async fn get_pnl_single(
        &mut self,
        account: Option<String>,
        con_id: i64,
    ) -> wasmtime::Result<Result<types::PnlSingle, ApiError>> {
        let b = self.backend.clone();
        guarded!(self, Capability::Account, b.pnl_single(account, con_id))
    }
}

impl orders::Host for CallState {
    async fn preview(
        &mut self,
        contract: types::Contract,
        order: types::Order,
    ) -> wasmtime::Result<Result<types::OrderPreview, ApiError>> {
        let (b, o) = (self.backend.clone(), self.origin());
        guarded!(
            self,
            Capability::Orders,
            b.preview_order(o, contract, order)
        )
    }

    async fn place(
        &mut self,
        contract: types::Contract,
        order: types::Order,
    ) -> wasmtime::Result<Result<types::OrderStatus, ApiError>> {
        let (b, o) = (self.backend.clone(), self.origin());
        let r: wasmtime::Result<Result<types::OrderStatus, ApiError>> =
            guarded!(self, Capability::Orders, b.place_order(o, contract, order));
        if let Ok(Ok(s)) = &r {
            self.owners.record(&self.plugin, [s.order_id]);
        }
        r
    }

    async fn bracket(
        &mut self,
        request: types::BracketRequest,
    ) -> wasmtime::Result<Result<types::BracketStatus, ApiError>> {
        self.bracket_in(request, None).await
    }

    async fn bracket_in_account(
        &mut self,
        request: types::BracketRequest,
        account: Option<String>,
    ) -> wasmtime::Result<Result<types::BracketStatus, ApiError>> {
        self.bracket_in(request, account).await
    }

    async fn modify(
        &mut self,
        order_id: i32,
        changes: types::OrderModification,
    ) -> wasmtime::Result<Result<types::OrderStatus, ApiError>> {
        let (b, o) = (self.backend.clone(), self.origin());
        if let Err(e) = self.enter(Capability::Orders)? {
            return Ok(Err(e));
        }
        if let Err(e) = self.check_owner(order_id, "modify") {
            return Ok(Err(e));
        }
        Ok(cancellable(
            self.call.cancel.clone(),
            b.modify_order(o, order_id, changes),
        )
        .await)
    }

    async fn cancel(
        &mut self,
        order_id: i32,
    ) -> wasmtime::Result<Result<types::OrderStatus, ApiError>> {
        let (b, o) = (self.backend.clone(), self.origin());
        if let Err(e) = self.enter(Capability::Orders)? {
            return Ok(Err(e));
        }
        if let Err(e) = self.check_owner(order_id, "cancel") {
            return Ok(Err(e));
        }
        Ok(cancellable(self.call.cancel.clone(), b.cancel_order(o, order_id)).await)
    }

    async fn open_orders(&mut self) -> wasmtime::Result<Result<Vec<types::OpenOrder>, ApiError>> {
        let b = self.backend.clone();
        guarded!(self, Capability::Orders, b.open_orders())
    }

    async fn executions(
        &mut self,
        filter: types::ExecutionFilter,
    ) -> wasmtime::Result<Result<Vec<types::Execution>, ApiError>> {
        let b = self.backend.clone();
        guarded!(self, Capability::Orders, b.executions(filter))
    }
}

/// Longest log line a plugin may write (longer lines are cut).
const MAX_LOG_LINE: usize = 4096;

fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl host::Host for CallState {
    async fn log(&mut self, level: host::LogLevel, message: String) -> wasmtime::Result<()> {
        self.tick()?;
        let plugin = &*self.plugin;
        let message = clip(&message, MAX_LOG_LINE);
        match level {
            host::LogLevel::Trace => tracing::trace!(target: "plugin", plugin, "{message}"),
            host::LogLevel::Debug => tracing::debug!(target: "plugin", plugin, "{message}"),
            host::LogLevel::Info => tracing::info!(target: "plugin", plugin, "{message}"),
            host::LogLevel::Warn => tracing::warn!(target: "plugin", plugin, "{message}"),
            host::LogLevel::Error => tracing::error!(target: "plugin", plugin, "{message}"),
        }
        Ok(())
    }

    async fn progress(
        &mut self,
        progress: f64,
        total: Option<f64>,
        message: Option<String>,
    ) -> wasmtime::Result<()> {
        self.tick()?;
        if let Some(p) = &self.call.progress {
            p.progress(
                progress,
                total,
                message.map(|m| clip(&m, MAX_LOG_LINE).to_string()),
            );
        }
        Ok(())
    }

    async fn is_cancelled(&mut self) -> wasmtime::Result<bool> {
        self.tick()?;
        Ok(self.call.cancel.is_cancelled())
    }

    async fn confirm(&mut self, message: String) -> wasmtime::Result<Result<bool, ApiError>> {
        self.tick()?;
        let Some(c) = self.call.confirmer.clone() else {
            return Ok(Err(ApiError::PermissionDenied(
                "no confirmation channel: the MCP client cannot confirm".into(),
            )));
        };
        let message = format!("[plugin {}] {}", self.plugin, clip(&message, MAX_LOG_LINE));
        // The user's think time does not count against the call's deadline; the wait has
        // its own budget (`confirm_timeout_ms`, for all confirmations of the call together).
        let (pause, left) = self.clock.pause();
        if left.is_zero() {
            return Ok(Err(ApiError::Declined(
                "the confirmation time of this call is used up".into(),
            )));
        }
        let answer = tokio::time::timeout(
            left,
            cancellable(self.call.cancel.clone(), c.confirm(message)),
        )
        .await;
        drop(pause);
        Ok(answer.unwrap_or_else(|_| {
            Err(ApiError::Declined(format!(
                "no answer to the confirmation request within {} ms",
                left.as_millis()
            )))
        }))
    }

    async fn config(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        self.tick()?;
        Ok(self.config.get(&key).cloned())
    }

    async fn config_keys(&mut self) -> wasmtime::Result<Vec<String>> {
        self.tick()?;
        Ok(self.config.keys().cloned().collect())
    }
}
