//! The plugins' MCP surface: a [`ToolProvider`] and a [`PromptProvider`] over the
//! [`PluginHost`], and the glue that turns plugin reloads into `list_changed` notifications.

use std::sync::Arc;

use futures::future::BoxFuture;
use rmcp::ErrorData;
use rmcp::model::{
    CallToolResult, ContentBlock, GetPromptResult, JsonObject, Prompt, PromptArgument,
    PromptMessage, Role, Tool, ToolAnnotations,
};
use tokio::sync::{mpsc, oneshot};

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

/// One progress report of a plugin call.
type Report = (f64, Option<f64>, Option<String>);

enum Forward {
    Progress(Report),
    /// The call is over: acknowledge once everything before has been sent, then stop.
    Finish(oneshot::Sender<()>),
}

struct McpProgress {
    tx: mpsc::UnboundedSender<Forward>,
}

impl ProgressSink for McpProgress {
    fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        let _ = self.tx.send(Forward::Progress((progress, total, message)));
    }
}

/// The end of one plugin call's progress stream (see [`CallEnd::finish`]).
#[derive(Default)]
pub struct CallEnd {
    tx: Option<mpsc::UnboundedSender<Forward>>,
}

impl CallEnd {
    /// Wait until every progress report the plugin made during the call has been sent to the
    /// client, and stop forwarding. Call before returning the call's result: progress
    /// notifications must precede the response and stop with it (MCP progress utility).
    pub async fn finish(self) {
        if let Some(tx) = self.tx {
            let (done, wait) = oneshot::channel();
            if tx.send(Forward::Finish(done)).is_ok() {
                let _ = wait.await;
            }
        }
    }
}

/// A progress sink that forwards reports, in order, through `send` (one task per call), and
/// the [`CallEnd`] that flushes and stops it.
pub fn progress_forwarder<F, Fut>(send: F) -> (Arc<dyn ProgressSink>, CallEnd)
where
    F: Fn(Report) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let (tx, mut rx) = mpsc::unbounded_channel::<Forward>();
    tokio::spawn(async move {
        while let Some(f) = rx.recv().await {
            match f {
                Forward::Progress(report) => send(report).await,
                Forward::Finish(done) => {
                    let _ = done.send(());
                    break;
                }
            }
        }
    });
    (
        Arc::new(McpProgress { tx: tx.clone() }),
        CallEnd { tx: Some(tx) },
    )
}

/// Build the runtime's call context from the MCP tool context: cancellation, progress
/// (forwarded in order by one task; [`CallEnd::finish`] flushes it before the result is
/// returned) and, when the client can answer elicitations, user confirmation.
pub fn call_context(ctx: &ToolContext) -> (CallContext, CallEnd) {
    let mut call = CallContext {
        cancel: ctx.ct.child_token(),
        ..CallContext::default()
    };
    call.confirmer = super::confirm::confirmer_for(
        ctx.peer.as_ref(),
        super::confirm::ELICITATION_CEILING,
        call.cancel.clone(),
    );
    let mut end = CallEnd::default();
    if ctx.progress_token.is_some() {
        let ctx = ctx.clone();
        let (sink, e) = progress_forwarder(move |(p, total, msg): Report| {
            let ctx = ctx.clone();
            async move { ctx.progress(p, total, msg.unwrap_or_default()).await }
        });
        call.progress = Some(sink);
        end = e;
    }
    (call, end)
}

/// The MCP result of a plugin workflow: an object is structured content (with its JSON as
/// text), a string is its text, any other JSON value is its JSON text; a failure is a tool
/// error (`isError`) with the error's code and message.
pub fn tool_result(name: &str, output: Result<serde_json::Value, CallError>) -> CallToolResult {
    match output {
        Ok(v @ serde_json::Value::Object(_)) => CallToolResult::structured(v),
        Ok(serde_json::Value::String(s)) => CallToolResult::success(vec![ContentBlock::text(s)]),
        Ok(v) => CallToolResult::success(vec![ContentBlock::text(v.to_string())]),
        Err(e) => {
            tracing::warn!(tool = %name, code = e.code(), "plugin tool failed: {e}");
            CallToolResult::error(vec![ContentBlock::text(error_text(&e))])
        }
    }
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
            let (call, end) = call_context(&ctx);
            let output = host
                .call_tool(&name, serde_json::Value::Object(arguments), call)
                .await;
            end.finish().await;
            tool_result(&name, output)
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
            let (call, end) = call_context(&ctx);
            let rendered = host.get_prompt(&name, args, call).await;
            end.finish().await;
            match rendered {
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

#[cfg(test)]
mod tests {
    use super::*;
    use parking_lot::Mutex;

    #[test]
    fn a_string_output_is_its_text_not_a_json_literal() {
        let r = tool_result("p__w", Ok(serde_json::json!("plain \"text\"")));
        assert_eq!(r.is_error, Some(false));
        assert_eq!(r.content.len(), 1);
        assert_eq!(r.content[0].as_text().unwrap().text, "plain \"text\"");
        assert_eq!(r.structured_content, None);

        let r = tool_result("p__w", Ok(serde_json::json!([1, "a"])));
        assert_eq!(r.content[0].as_text().unwrap().text, r#"[1,"a"]"#);
        let r = tool_result("p__w", Ok(serde_json::json!(2.5)));
        assert_eq!(r.content[0].as_text().unwrap().text, "2.5");

        let r = tool_result("p__w", Ok(serde_json::json!({"a": 1})));
        assert_eq!(r.structured_content, Some(serde_json::json!({"a": 1})));

        let r = tool_result("p__w", Err(CallError::NotFound("tool `p__w`".into())));
        assert_eq!(r.is_error, Some(true));
        assert!(
            r.content[0]
                .as_text()
                .unwrap()
                .text
                .starts_with("[not-found] "),
            "{:?}",
            r.content
        );
    }

    /// Progress reported during a call is sent before `finish` returns (so before the call's
    /// result), in order; reports after the end are dropped.
    #[tokio::test]
    async fn finish_flushes_progress_in_order_and_stops_forwarding() {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let log = sent.clone();
        let (sink, end) = progress_forwarder(move |(p, total, msg): Report| {
            let log = log.clone();
            async move {
                // A slow client write: yields to the runtime before the report is recorded.
                tokio::task::yield_now().await;
                log.lock().push((p, total, msg));
            }
        });
        for p in [0.0, 50.0, 100.0] {
            sink.progress(p, Some(100.0), Some(format!("at {p}")));
        }
        end.finish().await;
        assert_eq!(
            *sent.lock(),
            vec![
                (0.0, Some(100.0), Some("at 0".to_string())),
                (50.0, Some(100.0), Some("at 50".to_string())),
                (100.0, Some(100.0), Some("at 100".to_string())),
            ]
        );
        sink.progress(101.0, None, None);
        tokio::task::yield_now().await;
        assert_eq!(
            sent.lock().len(),
            3,
            "no progress after the end of the call"
        );
    }
}
