//! rmcp `ServerHandler` over the [`Registry`]. Transport-agnostic: the same handler is served
//! over Streamable HTTP ([`crate::http`]) and stdio.

// MCP logging is deprecated by SEP-2577 (2026-07-28) but still part of 2025-11-25, which we serve.
#![allow(deprecated)]

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult,
    GetPromptRequestParams, GetPromptResponse, Implementation, InitializeResult, ListPromptsResult,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, SetLevelRequestParams,
    SubscriptionFilter, Tool,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};

use super::registry::{ListChanged, Registry, ToolContext};

/// Server name reported in `initialize` / `server/discover`.
pub const SERVER_NAME: &str = "ibkr-mcp";
/// Crate version reported in `initialize`.
pub const SERVER_VERSION: &str = env!("CARGO_PKG_VERSION");

const INSTRUCTIONS: &str = "Interactive Brokers TWS API tools. Use ibkr_get_status to check the \
TWS connection (ibkr_connect if needed), ibkr_get_contract_details to identify instruments, \
market data and account tools to read state, and ibkr_place_order / ibkr_cancel_order for \
orders (destructive; guarded by the host's configured limits and audited).";

/// The MCP server handler. Cheap to clone (one per session shares the registry).
#[derive(Clone)]
pub struct McpServer {
    registry: Arc<Registry>,
}

impl McpServer {
    pub fn new(registry: Arc<Registry>) -> Self {
        McpServer { registry }
    }

    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    fn ctx(&self, rc: &RequestContext<RoleServer>) -> ToolContext {
        ToolContext {
            ct: rc.ct.clone(),
            peer: Some(rc.peer.clone()),
            progress_token: rc.meta.get_progress_token(),
        }
    }
}

/// The `initialize` result: name, version, capabilities.
pub fn server_info() -> InitializeResult {
    let caps = ServerCapabilities::builder()
        .enable_tools()
        .enable_tool_list_changed()
        .enable_prompts()
        .enable_prompts_list_changed()
        .enable_logging()
        .enable_completions()
        .build();
    InitializeResult::new(caps)
        .with_server_info(
            Implementation::new(SERVER_NAME, SERVER_VERSION)
                .with_title("IBKR MCP")
                .with_description(
                    "WebAssembly-plugin extensible MCP host for the Interactive Brokers TWS API",
                ),
        )
        .with_instructions(INSTRUCTIONS)
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> InitializeResult {
        server_info()
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        self.registry.register_peer(context.peer);
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        tracing::debug!(level = ?request.level, "client set log level");
        Ok(())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.registry.list_tools()))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.registry.get_tool(name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let ctx = self.ctx(&context);
        let args = request.arguments.unwrap_or_default();
        match self.registry.call_tool(&request.name, args, ctx) {
            Some(fut) => Ok(fut.await.into()),
            None => Err(ErrorData::invalid_params(
                format!("unknown tool: {}", request.name),
                None,
            )),
        }
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        Ok(ListPromptsResult::with_all_items(
            self.registry.list_prompts(),
        ))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let ctx = self.ctx(&context);
        let args = request.arguments.unwrap_or_default();
        match self.registry.get_prompt(&request.name, args, ctx) {
            Some(fut) => Ok(GetPromptResponse::Complete(fut.await?)),
            None => Err(ErrorData::invalid_params(
                format!("unknown prompt: {}", request.name),
                None,
            )),
        }
    }

    /// Prompt-argument completion (see [`super::completion`]).
    async fn complete(
        &self,
        request: CompleteRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        super::completion::complete(&self.registry, &request).await
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        let mut f = SubscriptionFilter::new();
        f.tools_list_changed = requested.tools_list_changed;
        f.prompts_list_changed = requested.prompts_list_changed;
        Some(f)
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let mut rx = self.registry.subscribe_changes();
        loop {
            tokio::select! {
                _ = context.cancelled() => return Ok(()),
                ev = rx.recv() => match ev {
                    Ok(ListChanged::Tools) if context.accepted().tools_list_changed == Some(true) => {
                        let _ = context.sink().notify_tool_list_changed().await;
                    }
                    Ok(ListChanged::Prompts) if context.accepted().prompts_list_changed == Some(true) => {
                        let _ = context.sink().notify_prompt_list_changed().await;
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => return Ok(()),
                }
            }
        }
    }
}
