//! The tool and prompt registry: the single source for `tools/list`, `prompts/list`, tool
//! dispatch and the generated `docs/API.md`.
//!
//! Built-in tools are [`ToolDef`]s (one per tool, defined in `mcp/tools/<concern>.rs`).
//! Dynamic providers (the WASM plugin runtime) implement [`ToolProvider`] / [`PromptProvider`]
//! and are added or removed at runtime; the registry then sends
//! `notifications/tools/list_changed` / `notifications/prompts/list_changed` to connected peers
//! (2025-11-25 sessions) and to `subscriptions/listen` streams (2026-07-28).

// MCP logging is deprecated by SEP-2577 (2026-07-28) but still part of 2025-11-25, which we serve.
#![allow(deprecated)]

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use parking_lot::{Mutex, RwLock};
use rmcp::model::{
    CallToolResult, ContentBlock, GetPromptResult, JsonObject, LoggingLevel,
    ProgressNotificationParam, ProgressToken, Prompt, Tool, ToolAnnotations,
};
use rmcp::service::Peer;
use rmcp::{ErrorData, RoleServer};
use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, BrokerError};

/// Per-call context handed to tool handlers and providers: cancellation, progress and logs.
#[derive(Clone, Default)]
pub struct ToolContext {
    /// Cancelled when the client cancels the request (or the session ends).
    pub ct: CancellationToken,
    /// The calling peer (absent in tests / direct calls).
    pub peer: Option<Peer<RoleServer>>,
    /// The request's progress token, if the client asked for progress.
    pub progress_token: Option<ProgressToken>,
}

impl ToolContext {
    /// Send `notifications/progress` if the client supplied a progress token.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: impl Into<String>) {
        if let (Some(peer), Some(token)) = (&self.peer, &self.progress_token) {
            let mut p =
                ProgressNotificationParam::new(token.clone(), progress).with_message(message);
            p.total = total;
            if let Err(e) = peer.notify_progress(p).await {
                tracing::debug!(error = %e, "progress notification failed");
            }
        }
    }

    /// Send `notifications/message` (MCP logging).
    #[allow(deprecated)]
    pub async fn log(&self, level: LoggingLevel, logger: &str, data: serde_json::Value) {
        if let Some(peer) = &self.peer {
            let p =
                rmcp::model::LoggingMessageNotificationParam::new(level, data).with_logger(logger);
            if let Err(e) = peer.notify_logging_message(p).await {
                tracing::debug!(error = %e, "log notification failed");
            }
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.ct.is_cancelled()
    }
}

/// A source of tools added at runtime (e.g. the WASM plugin runtime).
pub trait ToolProvider: Send + Sync + 'static {
    /// The provider's current tools (names must be unique across the registry; a name that
    /// collides with a built-in tool is ignored with a warning).
    fn tools(&self) -> Vec<Tool>;
    /// Run a tool. Failures are `CallToolResult` errors (`isError: true`), not protocol errors.
    fn call(
        &self,
        name: &str,
        arguments: JsonObject,
        ctx: ToolContext,
    ) -> BoxFuture<'static, CallToolResult>;
}

/// A source of prompts added at runtime.
pub trait PromptProvider: Send + Sync + 'static {
    fn prompts(&self) -> Vec<Prompt>;
    /// Render a prompt. Unknown prompt or bad arguments: `ErrorData::invalid_params`.
    fn get(
        &self,
        name: &str,
        arguments: JsonObject,
        ctx: ToolContext,
    ) -> BoxFuture<'static, Result<GetPromptResult, ErrorData>>;
}

/// What changed (sent to `subscriptions/listen` streams).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListChanged {
    Tools,
    Prompts,
}

type Handler = Arc<
    dyn Fn(Broker, JsonObject, ToolContext) -> BoxFuture<'static, CallToolResult> + Send + Sync,
>;

/// One built-in tool: its MCP definition (name, title, description, schemas, annotations),
/// the concern it belongs to (its source file), and its handler.
#[derive(Clone)]
pub struct ToolDef {
    pub tool: Tool,
    /// Concern / source file under `host/src/mcp/tools/`, e.g. `orders`.
    pub group: &'static str,
    handler: Handler,
}

impl std::fmt::Debug for ToolDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolDef")
            .field("name", &self.tool.name)
            .finish()
    }
}

/// How a tool behaves, mapped to MCP annotations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Reads broker data: read-only, idempotent, open-world.
    Query,
    /// Changes the connection state (connect/disconnect): not read-only, not destructive.
    Control,
    /// Order actions: destructive, open-world.
    Trade,
}

/// Render an error for the caller: kind, TWS code if any, and text.
pub fn error_result(e: &BrokerError) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(e.to_string())])
}

/// Define a built-in tool from a typed handler. `P` is the parameters struct (its schemars
/// schema is the input schema), `O` the output (its schema is the output schema, its JSON the
/// structured content).
pub fn tool<P, O, F, Fut>(
    group: &'static str,
    name: &'static str,
    title: &'static str,
    description: &'static str,
    kind: Kind,
    f: F,
) -> ToolDef
where
    P: DeserializeOwned + JsonSchema + Send + 'static,
    O: Serialize + JsonSchema + 'static,
    F: Fn(Broker, P, ToolContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, BrokerError>> + Send + 'static,
{
    let annotations = match kind {
        Kind::Query => ToolAnnotations::with_title(title)
            .read_only(true)
            .destructive(false)
            .idempotent(true)
            .open_world(true),
        Kind::Control => ToolAnnotations::with_title(title)
            .read_only(false)
            .destructive(false)
            .idempotent(true)
            .open_world(true),
        Kind::Trade => ToolAnnotations::with_title(title)
            .read_only(false)
            .destructive(true)
            .idempotent(false)
            .open_world(true),
    };
    let input = rmcp::handler::server::tool::schema_for_type::<P>();
    let output = rmcp::handler::server::tool::schema_for_output::<O>();
    let t = Tool::new(name, description, input)
        .with_title(title)
        .with_raw_output_schema(output)
        .with_annotations(annotations);
    let f = Arc::new(f);
    let handler: Handler = Arc::new(move |broker, args, ctx| {
        let f = f.clone();
        Box::pin(async move {
            let params: P = match parse_args(args) {
                Ok(p) => p,
                Err(e) => return error_result(&e),
            };
            let ct = ctx.ct.clone();
            let fut = f(broker, params, ctx);
            let r = tokio::select! {
                r = fut => r,
                _ = ct.cancelled() => Err(BrokerError::Cancelled),
            };
            match r {
                Ok(o) => match serde_json::to_value(&o) {
                    Ok(v) => CallToolResult::structured(v),
                    Err(e) => {
                        error_result(&BrokerError::Other(format!("cannot encode result: {e}")))
                    }
                },
                Err(e) => error_result(&e),
            }
        })
    });
    ToolDef {
        tool: t,
        group,
        handler,
    }
}

/// Deserialize arguments; errors name the argument (`path`) as the client spelled it.
pub fn parse_args<P: DeserializeOwned>(args: JsonObject) -> Result<P, BrokerError> {
    let v = serde_json::Value::Object(args);
    serde_path_to_error::deserialize::<_, P>(v).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        // "missing field `x`" names the argument itself.
        let arg = if path == "." || path.is_empty() {
            inner
                .split('`')
                .nth(1)
                .map(str::to_string)
                .unwrap_or_else(|| "arguments".into())
        } else {
            path
        };
        BrokerError::InvalidArgument { arg, reason: inner }
    })
}

/// The registry. Shared (`Arc`) by every MCP session.
pub struct Registry {
    broker: Broker,
    builtin: Vec<ToolDef>,
    index: HashMap<String, usize>,
    tool_providers: RwLock<Vec<(String, Arc<dyn ToolProvider>)>>,
    prompt_providers: RwLock<Vec<(String, Arc<dyn PromptProvider>)>>,
    peers: Mutex<Vec<Peer<RoleServer>>>,
    changes: broadcast::Sender<ListChanged>,
}

impl Registry {
    /// A registry with all built-in tools.
    pub fn new(broker: Broker) -> Self {
        Self::with_tools(broker, super::tools::all())
    }

    pub fn with_tools(broker: Broker, builtin: Vec<ToolDef>) -> Self {
        let index = builtin
            .iter()
            .enumerate()
            .map(|(i, d)| (d.tool.name.to_string(), i))
            .collect();
        let (changes, _) = broadcast::channel(64);
        Registry {
            broker,
            builtin,
            index,
            tool_providers: RwLock::new(Vec::new()),
            prompt_providers: RwLock::new(Vec::new()),
            peers: Mutex::new(Vec::new()),
            changes,
        }
    }

    pub fn broker(&self) -> &Broker {
        &self.broker
    }

    /// The built-in tool definitions (for docs).
    pub fn builtin(&self) -> &[ToolDef] {
        &self.builtin
    }

    /// Add (or replace) a tool provider under `id`, then notify peers.
    pub fn add_tool_provider(&self, id: impl Into<String>, provider: Arc<dyn ToolProvider>) {
        let id = id.into();
        {
            let mut g = self.tool_providers.write();
            g.retain(|(i, _)| *i != id);
            g.push((id, provider));
        }
        self.tools_changed();
    }

    /// Remove a tool provider; returns whether it existed. Notifies peers.
    pub fn remove_tool_provider(&self, id: &str) -> bool {
        let removed = {
            let mut g = self.tool_providers.write();
            let n = g.len();
            g.retain(|(i, _)| i != id);
            g.len() != n
        };
        if removed {
            self.tools_changed();
        }
        removed
    }

    /// Add (or replace) a prompt provider under `id`, then notify peers.
    pub fn add_prompt_provider(&self, id: impl Into<String>, provider: Arc<dyn PromptProvider>) {
        let id = id.into();
        {
            let mut g = self.prompt_providers.write();
            g.retain(|(i, _)| *i != id);
            g.push((id, provider));
        }
        self.prompts_changed();
    }

    pub fn remove_prompt_provider(&self, id: &str) -> bool {
        let removed = {
            let mut g = self.prompt_providers.write();
            let n = g.len();
            g.retain(|(i, _)| i != id);
            g.len() != n
        };
        if removed {
            self.prompts_changed();
        }
        removed
    }

    /// Tell clients the tool list changed (call after a provider's tools changed).
    pub fn tools_changed(&self) {
        self.broadcast(ListChanged::Tools);
    }

    /// Tell clients the prompt list changed.
    pub fn prompts_changed(&self) {
        self.broadcast(ListChanged::Prompts);
    }

    /// Subscribe to list changes.
    pub fn subscribe_changes(&self) -> broadcast::Receiver<ListChanged> {
        self.changes.subscribe()
    }

    fn broadcast(&self, what: ListChanged) {
        let _ = self.changes.send(what);
        let peers: Vec<_> = {
            let mut g = self.peers.lock();
            g.retain(|p| !p.is_transport_closed());
            g.clone()
        };
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for peer in peers {
            rt.spawn(async move {
                let r = match what {
                    ListChanged::Tools => peer.notify_tool_list_changed().await,
                    ListChanged::Prompts => peer.notify_prompt_list_changed().await,
                };
                if let Err(e) = r {
                    tracing::debug!(error = %e, "list_changed notification failed");
                }
            });
        }
    }

    /// Remember a session peer for list-changed notifications.
    pub fn register_peer(&self, peer: Peer<RoleServer>) {
        let mut g = self.peers.lock();
        g.retain(|p| !p.is_transport_closed());
        g.push(peer);
    }

    /// All tools: built-ins then provider tools.
    pub fn list_tools(&self) -> Vec<Tool> {
        let mut out: Vec<Tool> = self.builtin.iter().map(|d| d.tool.clone()).collect();
        for (id, p) in self.tool_providers.read().iter() {
            for t in p.tools() {
                if self.index.contains_key(t.name.as_ref()) || out.iter().any(|x| x.name == t.name)
                {
                    tracing::warn!(provider = %id, tool = %t.name, "tool name collides; ignored");
                    continue;
                }
                out.push(t);
            }
        }
        out
    }

    /// Find a tool by name.
    pub fn get_tool(&self, name: &str) -> Option<Tool> {
        if let Some(&i) = self.index.get(name) {
            return Some(self.builtin[i].tool.clone());
        }
        self.tool_providers
            .read()
            .iter()
            .flat_map(|(_, p)| p.tools())
            .find(|t| t.name == name)
    }

    /// Call a tool; `None` when no tool has that name.
    pub fn call_tool(
        &self,
        name: &str,
        arguments: JsonObject,
        ctx: ToolContext,
    ) -> Option<BoxFuture<'static, CallToolResult>> {
        if let Some(&i) = self.index.get(name) {
            return Some((self.builtin[i].handler)(
                self.broker.clone(),
                arguments,
                ctx,
            ));
        }
        let providers = self.tool_providers.read();
        for (_, p) in providers.iter() {
            if p.tools().iter().any(|t| t.name == name) {
                return Some(p.call(name, arguments, ctx));
            }
        }
        None
    }

    pub fn list_prompts(&self) -> Vec<Prompt> {
        let mut out: Vec<Prompt> = Vec::new();
        for (_, p) in self.prompt_providers.read().iter() {
            for pr in p.prompts() {
                if !out.iter().any(|x| x.name == pr.name) {
                    out.push(pr);
                }
            }
        }
        out
    }

    pub fn get_prompt(
        &self,
        name: &str,
        arguments: JsonObject,
        ctx: ToolContext,
    ) -> Option<BoxFuture<'static, Result<GetPromptResult, ErrorData>>> {
        let providers = self.prompt_providers.read();
        for (_, p) in providers.iter() {
            if p.prompts().iter().any(|x| x.name == name) {
                return Some(p.get(name, arguments, ctx));
            }
        }
        None
    }
}
