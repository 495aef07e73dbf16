//! The plugins' MCP surface: a [`ToolProvider`] and a [`PromptProvider`] over the
//! [`PluginHost`], and the glue that turns plugin reloads into `list_changed` notifications.

use std::sync::Arc;

use futures::future::BoxFuture;
use rmcp::ErrorData;
use rmcp::model::{
    CallToolResult, ContentBlock, GetPromptResult, JsonObject, Prompt, PromptArgument,
    PromptMessage, Role, Tool, ToolAnnotations,
};
use tokio::sync::mpsc;

use super::backend::{CallContext, ProgressSink};
use super::manager::{Access, PluginHost, PromptInfo, ToolInfo};
use super::runtime::CallError;
use crate::mcp::registry::{PromptProvider, Registry, ToolContext, ToolProvider};

/// Provider id under which plugin tools and prompts are registered.
pub const PROVIDER_ID: &str = "plugins";

/// MCP definition of a plugin workflow.
pub fn mcp_tool(t: &ToolInfo) -> Tool {
    let title = t.title.clone().unwrap_or_else(|| t.name.clone());
    let annotations = match t.access {
        Access::ReadOnly => ToolAnnotations::with_title(title.clone())
            .read_only(true)
            .destructive(false)
            .idempotent(true)
            .open_world(true),
        Access::Destructive => ToolAnnotations::with_title(title.clone())
            .read_only(false)
            .destructive(true)
            .idempotent(false)
            .open_world(true),
    };
    let description = format!("{} (plugin `{}`)", t.description, t.plugin);
    let mut tool = Tool::new(
        t.name.clone(),
        description,
        Arc::new(t.input_schema.clone()),
    )
    .with_title(title)
    .with_annotations(annotations);
    if let Some(o) = &t.output_schema {
        tool = tool.with_raw_output_schema(Arc::new(o.clone()));
    }
    tool
}

/// MCP definition of a plugin prompt.
pub fn mcp_prompt(p: &PromptInfo) -> Prompt {
    let args = p
        .arguments
        .iter()
        .map(|a| {
            let desc = if a.kind == "text" {
                a.description.clone()
            } else {
                format!("{} ({})", a.description, a.kind)
            };
            PromptArgument::new(a.name.clone())
                .with_description(desc)
                .with_required(a.required)
        })
        .collect::<Vec<_>>();
    let mut prompt = Prompt::new(
        p.name.clone(),
        Some(format!("{} (plugin `{}`)", p.description, p.plugin)),
        (!args.is_empty()).then_some(args),
    );
    prompt.title = p.title.clone();
    prompt
}

/// Tool error text: stable code then message.
pub fn error_text(e: &CallError) -> String {
    format!("[{}] {e}", e.code())
}

struct McpProgress {
    tx: mpsc::UnboundedSender<(f64, Option<f64>, Option<String>)>,
}

impl ProgressSink for McpProgress {
    fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        let _ = self.tx.send((progress, total, message));
    }
}

/// Build the runtime's call context from the MCP tool context: cancellation, progress
/// (forwarded in order by one task that ends with the call) and, when the client can answer
/// elicitations, user confirmation.
pub fn call_context(ctx: &ToolContext) -> CallContext {
    let mut call = CallContext {
        cancel: ctx.ct.child_token(),
        ..CallContext::default()
    };
    call.confirmer = super::confirm::confirmer_for(
        ctx.peer.as_ref(),
        super::confirm::ELICITATION_CEILING,
        call.cancel.clone(),
    );
    if ctx.progress_token.is_some() {
        let (tx, mut rx) = mpsc::unbounded_channel::<(f64, Option<f64>, Option<String>)>();
        let ctx = ctx.clone();
        tokio::spawn(async move {
            while let Some((p, total, msg)) = rx.recv().await {
                ctx.progress(p, total, msg.unwrap_or_default()).await;
            }
        });
        call.progress = Some(Arc::new(McpProgress { tx }));
    }
    call
}

/// The plugins as a tool provider.
pub struct PluginTools(pub Arc<PluginHost>);

impl ToolProvider for PluginTools {
    fn tools(&self) -> Vec<Tool> {
        self.0.tools().iter().map(mcp_tool).collect()
    }

    fn call(
        &self,
        name: &str,
        arguments: JsonObject,
        ctx: ToolContext,
    ) -> BoxFuture<'static, CallToolResult> {
        let host = self.0.clone();
        let name = name.to_string();
        Box::pin(async move {
            let call = call_context(&ctx);
            match host
                .call_tool(&name, serde_json::Value::Object(arguments), call)
                .await
            {
                Ok(v @ serde_json::Value::Object(_)) => CallToolResult::structured(v),
                Ok(v) => CallToolResult::success(vec![ContentBlock::text(v.to_string())]),
                Err(e) => {
                    tracing::warn!(tool = %name, code = e.code(), "plugin tool failed: {e}");
                    CallToolResult::error(vec![ContentBlock::text(error_text(&e))])
                }
            }
        })
    }
}

/// The plugins as a prompt provider.
pub struct PluginPrompts(pub Arc<PluginHost>);

impl PromptProvider for PluginPrompts {
    fn prompts(&self) -> Vec<Prompt> {
        self.0.prompts().iter().map(mcp_prompt).collect()
    }

    fn get(
        &self,
        name: &str,
        arguments: JsonObject,
        ctx: ToolContext,
    ) -> BoxFuture<'static, Result<GetPromptResult, ErrorData>> {
        let host = self.0.clone();
        let name = name.to_string();
        Box::pin(async move {
            let args = arguments
                .into_iter()
                .map(|(k, v)| {
                    let s = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, s)
                })
                .collect();
            let description = host
                .prompts()
                .into_iter()
                .find(|p| p.name == name)
                .map(|p| p.description);
            match host.get_prompt(&name, args, call_context(&ctx)).await {
                Ok(msgs) => {
                    let messages = msgs
                        .into_iter()
                        .map(|m| {
                            let role = if m.role == "assistant" {
                                Role::Assistant
                            } else {
                                Role::User
                            };
                            PromptMessage::new_text(role, m.text)
                        })
                        .collect();
                    let mut r = GetPromptResult::new(messages);
                    if let Some(d) = description {
                        r = r.with_description(d);
                    }
                    Ok(r)
                }
                Err(e @ (CallError::NotFound(_) | CallError::Plugin { .. })) => {
                    Err(ErrorData::invalid_params(error_text(&e), None))
                }
                Err(e) => Err(ErrorData::internal_error(error_text(&e), None)),
            }
        })
    }
}

/// Register the plugins with the MCP registry and forward plugin reloads as
/// `tools/list_changed` + `prompts/list_changed`. Returns the forwarding task.
pub fn attach(registry: &Arc<Registry>, host: Arc<PluginHost>) -> tokio::task::JoinHandle<()> {
    registry.add_tool_provider(PROVIDER_ID, Arc::new(PluginTools(host.clone())));
    registry.add_prompt_provider(PROVIDER_ID, Arc::new(PluginPrompts(host.clone())));
    let weak = Arc::downgrade(registry);
    let mut rx = host.subscribe();
    tokio::spawn(async move {
        while rx.changed().await.is_ok() {
            let Some(reg) = weak.upgrade() else { break };
            reg.tools_changed();
            reg.prompts_changed();
        }
    })
}
