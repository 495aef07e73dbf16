//! The conformance suite's fixture server: the tools, resources and prompts its server scenarios
//! look up by name (`test_simple_text`, `test://static-text`, `test_simple_prompt`, ...).
//!
//! The expected names and contents come from the scenario sources shipped in the npm package
//! `@modelcontextprotocol/conformance` (see tests/conformance/README.md). The handler is plain
//! rmcp: it is served by the same Streamable HTTP transport configuration as the host.

// The suite still exercises logging and sampling (deprecated by SEP-2577 in rmcp 3.9).
#![allow(deprecated)]

use std::{
    collections::{BTreeSet, HashMap},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::*,
    service::{RequestContext, SubscriptionContext, SubscriptionSink},
};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;

/// 1x1 PNG, base64.
pub const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==";
/// A header-only (silent) WAV file, base64.
pub const WAV_SILENCE: &str = "UklGRiQAAABXQVZFZm10IBAAAAABAAEARKwAAIhYAQACABAAZGF0YQAAAAA=";

/// Caching hints (SEP-2549) put on every list/read result.
const TTL_MS: u64 = 30_000;

/// HMAC key for sealing `requestState` (SEP-2322). A fixed key is acceptable for a test fixture
/// only; the host derives its key from a secret.
const STATE_KEY: &[u8] = b"ibkr-mcp conformance fixture requestState key (test only)";

/// Tools that take no arguments, with their descriptions.
const NO_ARG_TOOLS: &[(&str, &str)] = &[
    ("test_simple_text", "Returns a simple text block"),
    ("test_image_content", "Returns an image block"),
    ("test_audio_content", "Returns an audio block"),
    (
        "test_embedded_resource",
        "Returns an embedded text resource",
    ),
    (
        "test_multiple_content_types",
        "Returns text, image and resource blocks",
    ),
    (
        "test_tool_with_logging",
        "Emits log notifications while running",
    ),
    ("test_error_handling", "Always fails with a tool error"),
    (
        "test_tool_with_progress",
        "Emits progress notifications while running",
    ),
    (
        "test_elicitation_sep1034_defaults",
        "Elicits a form whose fields all have defaults (SEP-1034)",
    ),
    (
        "test_elicitation_sep1330_enums",
        "Elicits a form using every enum schema shape (SEP-1330)",
    ),
    (
        "test_reconnection",
        "Closes the response stream early so the client resumes (SSE polling)",
    ),
    (
        "test_trigger_tool_change",
        "Sends notifications/tools/list_changed to listeners",
    ),
    (
        "test_trigger_prompt_change",
        "Sends notifications/prompts/list_changed to listeners",
    ),
    (
        "test_missing_capability",
        "Fails unless the client declared the sampling capability",
    ),
    (
        "test_logging_tool",
        "Logs only when the request carries a log level",
    ),
    (
        "test_streaming_elicitation",
        "Answers with an input_required result carrying an elicitation request",
    ),
    (
        "test_input_required_result_elicitation",
        "Needs one elicitation answer (SEP-2322 InputRequiredResult)",
    ),
    (
        "test_input_required_result_sampling",
        "Needs one sampling answer (SEP-2322 InputRequiredResult)",
    ),
    (
        "test_input_required_result_list_roots",
        "Needs the client's roots (SEP-2322 InputRequiredResult)",
    ),
    (
        "test_input_required_result_request_state",
        "Round-trips a sealed requestState (SEP-2322)",
    ),
    (
        "test_input_required_result_multiple_inputs",
        "Needs elicitation, sampling and roots answers in one round (SEP-2322)",
    ),
    (
        "test_input_required_result_multi_round",
        "Needs two successive rounds of input (SEP-2322)",
    ),
    (
        "test_input_required_result_tampered_state",
        "Rejects a requestState that fails verification (SEP-2322)",
    ),
    (
        "test_input_required_result_capabilities",
        "Asks only for inputs the client declared it can provide (SEP-2322)",
    ),
];

fn object(value: Value) -> Arc<JsonObject> {
    match value {
        Value::Object(map) => Arc::new(map),
        other => panic!("fixture schema must be an object, got {other}"),
    }
}

fn empty_schema() -> Arc<JsonObject> {
    object(json!({ "type": "object", "properties": {} }))
}

fn tool(name: &'static str, description: &'static str, schema: Arc<JsonObject>) -> Tool {
    Tool::new(name, description, schema)
}

/// Every fixture tool, in listing order.
pub fn tools() -> Vec<Tool> {
    let mut tools: Vec<Tool> = NO_ARG_TOOLS
        .iter()
        .map(|(name, description)| tool(name, description, empty_schema()))
        .collect();
    tools.push(tool(
        "test_sampling",
        "Asks the client to sample an LLM completion",
        object(json!({
            "type": "object",
            "properties": { "prompt": { "type": "string", "description": "Prompt to sample" } },
            "required": ["prompt"]
        })),
    ));
    tools.push(tool(
        "test_elicitation",
        "Asks the client for a username and an email",
        object(json!({
            "type": "object",
            "properties": { "message": { "type": "string", "description": "Message shown to the user" } },
            "required": ["message"]
        })),
    ));
    tools.push(tool(
        "json_schema_2020_12_tool",
        "Input schema using JSON Schema 2020-12 keywords",
        object(json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {
                "address": {
                    "$anchor": "address",
                    "type": "object",
                    "properties": { "street": { "type": "string" }, "city": { "type": "string" } }
                }
            },
            "properties": {
                "name": { "type": "string" },
                "address": { "$ref": "#/$defs/address" }
            },
            "allOf": [{ "anyOf": [{ "required": ["name"] }, { "required": ["address"] }] }],
            "if": { "required": ["address"] },
            "then": { "properties": { "address": { "required": ["street"] } } },
            "else": { "required": ["name"] },
            "additionalProperties": false
        })),
    ));
    tools.push(custom_header_tool());
    tools
}

/// SEP-2243: a string parameter mirrored into an `Mcp-Param-*` request header.
fn custom_header_tool() -> Tool {
    tool(
        "test_custom_header",
        "Echoes a parameter that clients also send as a custom header (SEP-2243)",
        object(json!({
            "type": "object",
            "properties": { "value": { "type": "string", "x-mcp-header": "Value" } },
            "required": ["value"]
        })),
    )
}

fn text(s: impl Into<String>) -> ContentBlock {
    ContentBlock::text(s)
}

fn ok(blocks: Vec<ContentBlock>) -> Result<CallToolResponse, ErrorData> {
    Ok(CallToolResult::success(blocks).into())
}

fn form(message: &str, properties: Value, required: &[&str]) -> ElicitRequestParams {
    let schema: ElicitationSchema = serde_json::from_value(json!({
        "type": "object",
        "properties": properties,
        "required": required,
    }))
    .expect("fixture elicitation schema");
    ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: message.into(),
        requested_schema: schema,
    }
}

fn ask_form(message: &str, properties: Value, required: &[&str]) -> InputRequest {
    InputRequest::Elicitation(ElicitRequest::new(form(message, properties, required)))
}

fn ask_sample(prompt: &str) -> InputRequest {
    InputRequest::CreateMessage(CreateMessageRequest::new(CreateMessageRequestParams::new(
        vec![SamplingMessage::user_text(prompt)],
        100,
    )))
}

fn ask_roots() -> InputRequest {
    InputRequest::ListRoots(ListRootsRequest::default())
}

fn ask_name() -> InputRequest {
    ask_form(
        "What is your name?",
        json!({ "name": { "type": "string" } }),
        &["name"],
    )
}

/// An input response counts only when it is an object (a result shape); anything else is
/// treated as missing and asked again.
fn answer<'a>(responses: Option<&'a InputResponses>, key: &str) -> Option<&'a Map<String, Value>> {
    responses?.get(key)?.as_object()
}

fn content_str<'a>(answer: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    answer.get("content")?.get(field)?.as_str()
}

fn action_name(action: &ElicitationAction) -> &'static str {
    match action {
        ElicitationAction::Accept => "accept",
        ElicitationAction::Decline => "decline",
        ElicitationAction::Cancel => "cancel",
        #[allow(unreachable_patterns)]
        _ => "unknown",
    }
}

fn with_cache<T: Cacheable>(value: T) -> T {
    value.cache_hints()
}

/// Results that carry SEP-2549 caching hints.
trait Cacheable {
    fn cache_hints(self) -> Self;
}

macro_rules! cacheable {
    ($($t:ty),*) => {$(
        impl Cacheable for $t {
            fn cache_hints(self) -> Self {
                self.with_ttl_ms(TTL_MS).with_cache_scope(CacheScope::Public)
            }
        }
    )*};
}
cacheable!(
    ListToolsResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListPromptsResult,
    ReadResourceResult
);

/// The fixture handler. Cheap to clone; all sessions share the listener registry.
#[derive(Clone)]
pub struct Fixtures {
    legacy_subscriptions: Arc<Mutex<BTreeSet<String>>>,
    listeners: Arc<Mutex<HashMap<u64, SubscriptionSink>>>,
    next_listener: Arc<AtomicU64>,
    state: RequestStateCodec,
}

impl Default for Fixtures {
    fn default() -> Self {
        Self::new()
    }
}

impl Fixtures {
    pub fn new() -> Self {
        Self {
            legacy_subscriptions: Arc::default(),
            listeners: Arc::default(),
            next_listener: Arc::new(AtomicU64::new(1)),
            state: RequestStateCodec::new_unchecked(STATE_KEY),
        }
    }

    fn seal(&self, value: Value) -> Result<String, ErrorData> {
        self.state
            .seal_json(&value)
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))
    }

    /// Open a client-echoed `requestState`; anything that fails verification is -32602.
    fn open(&self, sealed: &str) -> Result<Value, ErrorData> {
        self.state.open_json(sealed).map_err(|_| {
            ErrorData::invalid_params("requestState failed integrity verification", None)
        })
    }

    async fn broadcast(&self, tools: bool) {
        let sinks: Vec<SubscriptionSink> = self.listeners.lock().await.values().cloned().collect();
        for sink in sinks {
            let _ = if tools {
                sink.notify_tool_list_changed().await
            } else {
                sink.notify_prompt_list_changed().await
            };
        }
    }

    async fn elicit(
        &self,
        cx: &RequestContext<RoleServer>,
        params: ElicitRequestParams,
        summary: impl Fn(&ElicitResult) -> String,
    ) -> Result<CallToolResponse, ErrorData> {
        match cx.peer.create_elicitation(params).await {
            Ok(result) => ok(vec![text(summary(&result))]),
            Err(e) => {
                Ok(CallToolResult::error(vec![text(format!("elicitation failed: {e}"))]).into())
            }
        }
    }

    /// SEP-2322 multi-round-trip tools.
    fn input_required_tool(
        &self,
        request: &CallToolRequestParams,
        meta: &RequestMetaObject,
    ) -> Result<CallToolResponse, ErrorData> {
        let responses = request.input_responses.as_ref();
        let state = request.request_state.as_deref();
        let need = |key: &str, req: InputRequest| {
            let mut requests = InputRequests::new();
            requests.insert(key.to_string(), req);
            requests
        };
        match request.name.as_ref() {
            "test_input_required_result_elicitation" => match answer(responses, "user_name") {
                Some(a) => ok(vec![text(format!(
                    "Hello, {}!",
                    content_str(a, "name").unwrap_or("friend")
                ))]),
                None => Ok(
                    InputRequiredResult::from_input_requests(need("user_name", ask_name())).into(),
                ),
            },
            "test_input_required_result_sampling" => match answer(responses, "capital_question") {
                Some(a) => ok(vec![text(format!(
                    "Sampling response: {}",
                    content_str(a, "text").unwrap_or("(none)")
                ))]),
                None => Ok(InputRequiredResult::from_input_requests(need(
                    "capital_question",
                    ask_sample("What is the capital of France?"),
                ))
                .into()),
            },
            "test_input_required_result_list_roots" => match answer(responses, "client_roots") {
                Some(a) => {
                    let uris: Vec<&str> = a
                        .get("roots")
                        .and_then(Value::as_array)
                        .map(|roots| {
                            roots
                                .iter()
                                .filter_map(|r| r.get("uri")?.as_str())
                                .collect()
                        })
                        .unwrap_or_default();
                    ok(vec![text(format!("Client roots: [{}]", uris.join(", ")))])
                }
                None => Ok(InputRequiredResult::from_input_requests(need(
                    "client_roots",
                    ask_roots(),
                ))
                .into()),
            },
            "test_input_required_result_request_state"
            | "test_input_required_result_tampered_state" => match state {
                Some(sealed) => {
                    self.open(sealed)?;
                    ok(vec![text("Confirmed: state-ok")])
                }
                None => Ok(InputRequiredResult::new(
                    Some(need(
                        "confirm",
                        ask_form(
                            "Please confirm",
                            json!({ "ok": { "type": "boolean" } }),
                            &["ok"],
                        ),
                    )),
                    Some(self.seal(json!({ "step": "confirm" }))?),
                )
                .into()),
            },
            "test_input_required_result_multiple_inputs" => {
                if let Some(sealed) = state {
                    self.open(sealed)?;
                }
                let complete = ["user_name", "greeting", "client_roots"]
                    .iter()
                    .all(|k| answer(responses, k).is_some());
                if complete && state.is_some() {
                    return ok(vec![text("All inputs received")]);
                }
                let mut requests = need("user_name", ask_name());
                requests.insert("greeting".into(), ask_sample("Generate a greeting"));
                requests.insert("client_roots".into(), ask_roots());
                Ok(InputRequiredResult::new(
                    Some(requests),
                    Some(self.seal(json!({ "step": "gather" }))?),
                )
                .into())
            }
            "test_input_required_result_multi_round" => {
                let round = match state {
                    Some(sealed) => self
                        .open(sealed)?
                        .get("round")
                        .and_then(Value::as_u64)
                        .unwrap_or(0),
                    None => 0,
                };
                let (key, req) = match round {
                    0 => (
                        "step1",
                        ask_form(
                            "Step 1: What is your name?",
                            json!({ "name": { "type": "string" } }),
                            &["name"],
                        ),
                    ),
                    1 => (
                        "step2",
                        ask_form(
                            "Step 2: What is your favorite color?",
                            json!({ "color": { "type": "string" } }),
                            &["color"],
                        ),
                    ),
                    _ => return ok(vec![text("Multi-round flow complete")]),
                };
                Ok(InputRequiredResult::new(
                    Some(need(key, req)),
                    Some(self.seal(json!({ "round": round + 1 }))?),
                )
                .into())
            }
            "test_input_required_result_capabilities" => {
                if responses.is_some() {
                    return ok(vec![text("Capability-aware flow complete")]);
                }
                let caps = meta.client_capabilities().unwrap_or_default();
                let mut requests = InputRequests::new();
                if caps.elicitation.is_some() {
                    requests.insert("user_name".into(), ask_name());
                }
                if caps.sampling.is_some() {
                    requests.insert("greeting".into(), ask_sample("Generate a greeting"));
                }
                if caps.roots.is_some() {
                    requests.insert("client_roots".into(), ask_roots());
                }
                if requests.is_empty() {
                    ok(vec![text("Client declared no input-capable capabilities")])
                } else {
                    Ok(InputRequiredResult::from_input_requests(requests).into())
                }
            }
            other => Err(ErrorData::invalid_params(
                format!("unknown tool: {other}"),
                None,
            )),
        }
    }
}

impl ServerHandler for Fixtures {
    fn get_info(&self) -> ServerInfo {
        ServerInfo::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_prompts()
                .enable_prompts_list_changed()
                .enable_resources()
                .enable_resources_subscribe()
                .enable_resources_list_changed()
                .enable_logging()
                .enable_completions()
                .build(),
        )
        .with_server_info(Implementation::new(
            "ibkr-mcp-conformance-fixtures",
            env!("CARGO_PKG_VERSION"),
        ))
        .with_instructions("Conformance fixtures served on the ibkr-mcp Streamable HTTP transport")
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        // Lets the transport validate SEP-2243 custom parameter headers against the schema.
        (name == "test_custom_header").then(custom_header_tool)
    }

    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.supported_by(&self.get_info().capabilities))
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let id = self.next_listener.fetch_add(1, Ordering::Relaxed);
        self.listeners
            .lock()
            .await
            .insert(id, context.sink().clone());
        context.cancelled().await;
        self.listeners.lock().await.remove(&id);
        Ok(())
    }

    async fn set_level(
        &self,
        _request: SetLevelRequestParams,
        _cx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        Ok(())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _cx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(with_cache(ListToolsResult {
            tools: tools(),
            ..Default::default()
        }))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        cx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if request.name.starts_with("test_input_required_result_") {
            return self.input_required_tool(&request, &cx.meta);
        }
        let args = request.arguments.clone().unwrap_or_default();
        let arg = |name: &str| args.get(name).and_then(Value::as_str).map(str::to_owned);
        match request.name.as_ref() {
            "test_simple_text" => ok(vec![text("This is a simple text response for testing.")]),
            "test_image_content" => ok(vec![ContentBlock::image(PNG_1X1, "image/png")]),
            "test_audio_content" => ok(vec![ContentBlock::Audio(AudioContent::new(
                WAV_SILENCE,
                "audio/wav",
            ))]),
            "test_embedded_resource" => ok(vec![ContentBlock::resource(
                ResourceContents::TextResourceContents {
                    uri: "test://embedded-resource".into(),
                    mime_type: Some("text/plain".into()),
                    text: "This is an embedded resource content.".into(),
                    meta: None,
                },
            )]),
            "test_multiple_content_types" => ok(vec![
                text("Multiple content types test:"),
                ContentBlock::image(PNG_1X1, "image/png"),
                ContentBlock::resource(ResourceContents::TextResourceContents {
                    uri: "test://mixed-content-resource".into(),
                    mime_type: Some("application/json".into()),
                    text: r#"{"test":"data","value":123}"#.into(),
                    meta: None,
                }),
            ]),
            "test_tool_with_logging" => {
                for line in [
                    "Tool execution started",
                    "Tool processing data",
                    "Tool execution completed",
                ] {
                    let _ = cx
                        .peer
                        .notify_logging_message(
                            LoggingMessageNotificationParam::new(LoggingLevel::Info, json!(line))
                                .with_logger("conformance-fixtures"),
                        )
                        .await;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                ok(vec![text("Logging test completed")])
            }
            "test_error_handling" => Ok(CallToolResult::error(vec![text(
                "This tool intentionally returns an error for testing",
            )])
            .into()),
            "test_tool_with_progress" => {
                let token = cx.meta.get_progress_token();
                for (done, message) in [(0.0, "Starting"), (50.0, "Halfway"), (100.0, "Complete")] {
                    if let Some(token) = &token {
                        let _ = cx
                            .peer
                            .notify_progress(
                                ProgressNotificationParam::new(token.clone(), done)
                                    .with_total(100.0)
                                    .with_message(message),
                            )
                            .await;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                ok(vec![text("Progress test completed")])
            }
            "test_sampling" => {
                let prompt = arg("prompt").unwrap_or_else(|| "Hello".into());
                let params =
                    CreateMessageRequestParams::new(vec![SamplingMessage::user_text(prompt)], 100);
                match cx.peer.create_message(params).await {
                    Ok(result) => {
                        let reply = result
                            .message
                            .content
                            .first()
                            .and_then(|c| c.as_text())
                            .map(|t| t.text.clone())
                            .unwrap_or_else(|| "(no text)".into());
                        ok(vec![text(format!("LLM response: {reply}"))])
                    }
                    Err(e) => Ok(CallToolResult::error(vec![text(format!(
                        "sampling failed: {e}"
                    ))])
                    .into()),
                }
            }
            "test_elicitation" => {
                let message =
                    arg("message").unwrap_or_else(|| "Please provide your information".into());
                let params = form(
                    &message,
                    json!({
                        "username": { "type": "string", "description": "User's response" },
                        "email": { "type": "string", "description": "User's email address" }
                    }),
                    &["username", "email"],
                );
                self.elicit(&cx, params, |r| {
                    format!(
                        "User response: action={}, content={}",
                        action_name(&r.action),
                        r.content
                            .as_ref()
                            .map(|c| c.to_string())
                            .unwrap_or_default()
                    )
                })
                .await
            }
            "test_elicitation_sep1034_defaults" => {
                let params = form(
                    "Please provide values (all have defaults)",
                    json!({
                        "name": { "type": "string", "description": "User's name", "default": "John Doe" },
                        "age": { "type": "integer", "description": "User's age", "default": 30 },
                        "score": { "type": "number", "description": "User's score", "default": 95.5 },
                        "status": {
                            "type": "string", "description": "User's status",
                            "enum": ["active", "inactive", "pending"], "default": "active"
                        },
                        "verified": { "type": "boolean", "description": "Whether user is verified", "default": true }
                    }),
                    &[],
                );
                self.elicit(&cx, params, |r| {
                    format!("Elicitation completed: action={}", action_name(&r.action))
                })
                .await
            }
            "test_elicitation_sep1330_enums" => {
                let params = form(
                    "Test enum schema improvements",
                    json!({
                        "untitledSingle": { "type": "string", "enum": ["option1", "option2", "option3"] },
                        "titledSingle": {
                            "type": "string",
                            "oneOf": [
                                { "const": "value1", "title": "First Option" },
                                { "const": "value2", "title": "Second Option" },
                                { "const": "value3", "title": "Third Option" }
                            ]
                        },
                        "legacyEnum": {
                            "type": "string",
                            "enum": ["opt1", "opt2", "opt3"],
                            "enumNames": ["Option One", "Option Two", "Option Three"]
                        },
                        "untitledMulti": {
                            "type": "array",
                            "items": { "type": "string", "enum": ["option1", "option2", "option3"] }
                        },
                        "titledMulti": {
                            "type": "array",
                            "items": {
                                "anyOf": [
                                    { "const": "value1", "title": "First Choice" },
                                    { "const": "value2", "title": "Second Choice" },
                                    { "const": "value3", "title": "Third Choice" }
                                ]
                            }
                        }
                    }),
                    &[],
                );
                self.elicit(&cx, params, |r| {
                    format!(
                        "Enum elicitation completed: action={}",
                        action_name(&r.action)
                    )
                })
                .await
            }
            "json_schema_2020_12_tool" => ok(vec![text(format!(
                "Hello, {}!",
                arg("name").unwrap_or_else(|| "world".into())
            ))]),
            "test_reconnection" => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                ok(vec![text("Reconnection test completed")])
            }
            "test_custom_header" => match arg("value") {
                Some(value) => ok(vec![text(value)]),
                None => Err(ErrorData::invalid_params("value: expected a string", None)),
            },
            "test_trigger_tool_change" => {
                self.broadcast(true).await;
                ok(vec![text("Tool list change triggered")])
            }
            "test_trigger_prompt_change" => {
                self.broadcast(false).await;
                ok(vec![text("Prompt list change triggered")])
            }
            "test_missing_capability" => {
                let caps = cx.meta.client_capabilities().unwrap_or_default();
                if caps.sampling.is_none() {
                    return Err(ErrorData::missing_required_client_capability(
                        ClientCapabilities::builder().enable_sampling().build(),
                    ));
                }
                ok(vec![text("Required capability declared")])
            }
            "test_streaming_elicitation" => {
                let mut requests = InputRequests::new();
                requests.insert(
                    "streaming_elicitation".into(),
                    ask_form(
                        "Provide a value",
                        json!({ "value": { "type": "string" } }),
                        &["value"],
                    ),
                );
                Ok(InputRequiredResult::from_input_requests(requests).into())
            }
            "test_logging_tool" => {
                if let Some(level) = cx.meta.log_level() {
                    let _ = cx
                        .peer
                        .notify_logging_message(
                            LoggingMessageNotificationParam::new(
                                level,
                                json!("logLevel was requested"),
                            )
                            .with_logger("conformance-fixtures"),
                        )
                        .await;
                }
                ok(vec![text("Logging tool completed")])
            }
            other => Err(ErrorData::invalid_params(
                format!("unknown tool: {other}"),
                None,
            )),
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _cx: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(with_cache(ListResourcesResult {
            resources: vec![
                Resource::new("test://static-text", "Static Text Resource")
                    .with_description("A static text resource")
                    .with_mime_type("text/plain"),
                Resource::new("test://static-binary", "Static Binary Resource")
                    .with_description("A static binary resource (PNG)")
                    .with_mime_type("image/png"),
            ],
            ..Default::default()
        }))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _cx: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(with_cache(ListResourceTemplatesResult {
            resource_templates: vec![
                ResourceTemplate::new("test://template/{id}/data", "Dynamic Resource")
                    .with_description("A resource addressed by an id parameter")
                    .with_mime_type("application/json"),
            ],
            ..Default::default()
        }))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _cx: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri.as_str();
        let contents = match uri {
            "test://static-text" => ResourceContents::TextResourceContents {
                uri: uri.into(),
                mime_type: Some("text/plain".into()),
                text: "This is the content of the static text resource.".into(),
                meta: None,
            },
            "test://static-binary" => ResourceContents::BlobResourceContents {
                uri: uri.into(),
                mime_type: Some("image/png".into()),
                blob: PNG_1X1.into(),
                meta: None,
            },
            _ => {
                let id = uri
                    .strip_prefix("test://template/")
                    .and_then(|rest| rest.strip_suffix("/data"))
                    .filter(|id| !id.is_empty() && !id.contains('/'));
                match id {
                    Some(id) => ResourceContents::TextResourceContents {
                        uri: uri.into(),
                        mime_type: Some("application/json".into()),
                        text: json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") })
                            .to_string(),
                        meta: None,
                    },
                    None => {
                        // SEP-2164: an unknown resource is -32602 with the uri in `data`.
                        return Err(ErrorData::resource_not_found(
                            format!("Resource not found: {uri}"),
                            Some(json!({ "uri": uri })),
                        ));
                    }
                }
            }
        };
        Ok(with_cache(ReadResourceResult::new(vec![contents])).into())
    }

    #[allow(deprecated)]
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _cx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.legacy_subscriptions
            .lock()
            .await
            .insert(request.uri.to_string());
        Ok(())
    }

    #[allow(deprecated)]
    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _cx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.legacy_subscriptions
            .lock()
            .await
            .remove(request.uri.as_str());
        Ok(())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _cx: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let prompts = vec![
            Prompt::new(
                "test_simple_prompt",
                Some("A prompt without arguments"),
                None,
            ),
            Prompt::new(
                "test_prompt_with_arguments",
                Some("A prompt with one required and one optional argument"),
                Some(vec![
                    PromptArgument::new("arg1")
                        .with_description("First test argument")
                        .with_required(true),
                    PromptArgument::new("arg2")
                        .with_description("Second test argument")
                        .with_required(false),
                ]),
            ),
            Prompt::new(
                "test_prompt_with_embedded_resource",
                Some("A prompt embedding a resource"),
                None,
            ),
            Prompt::new(
                "test_prompt_with_image",
                Some("A prompt with an image"),
                None,
            ),
            Prompt::new(
                "test_input_required_result_prompt",
                Some("A prompt that needs an elicitation answer first (SEP-2322)"),
                None,
            ),
        ];
        Ok(with_cache(ListPromptsResult {
            prompts,
            ..Default::default()
        }))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _cx: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let result = match request.name.as_str() {
            "test_simple_prompt" => GetPromptResult::new(vec![PromptMessage::new_text(
                Role::User,
                "This is a simple test prompt.",
            )])
            .with_description("A simple test prompt"),
            "test_prompt_with_arguments" => {
                let args = request.arguments.unwrap_or_default();
                let get = |k: &str| args.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                GetPromptResult::new(vec![PromptMessage::new_text(
                    Role::User,
                    format!(
                        "Prompt with arguments: arg1='{}', arg2='{}'",
                        get("arg1"),
                        get("arg2")
                    ),
                )])
                .with_description("A prompt with arguments")
            }
            "test_prompt_with_embedded_resource" => GetPromptResult::new(vec![
                PromptMessage::new_text(Role::User, "Here is a resource:"),
                PromptMessage::new_resource(
                    Role::User,
                    "test://static-text".into(),
                    Some("text/plain".into()),
                    Some("Resource content for prompt".into()),
                    None,
                    None,
                    None,
                ),
            ])
            .with_description("A prompt with an embedded resource"),
            "test_prompt_with_image" => GetPromptResult::new(vec![
                PromptMessage::new_text(Role::User, "Here is an image:"),
                PromptMessage::new(
                    Role::User,
                    ContentBlock::Image(ImageContent::new(PNG_1X1, "image/png")),
                ),
            ])
            .with_description("A prompt with an image"),
            "test_input_required_result_prompt" => {
                return Ok(
                    match answer(request.input_responses.as_ref(), "user_context") {
                        Some(a) => GetPromptResult::new(vec![PromptMessage::new_text(
                            Role::User,
                            format!(
                                "Prompt with elicited context: {}",
                                content_str(a, "context").unwrap_or("(none)")
                            ),
                        )])
                        .with_description("A prompt built from elicited context")
                        .into(),
                        None => {
                            let mut requests = InputRequests::new();
                            requests.insert(
                                "user_context".into(),
                                ask_form(
                                    "What context should the prompt use?",
                                    json!({ "context": { "type": "string" } }),
                                    &["context"],
                                ),
                            );
                            InputRequiredResult::from_input_requests(requests).into()
                        }
                    },
                );
            }
            other => {
                return Err(ErrorData::invalid_params(
                    format!("unknown prompt: {other}"),
                    None,
                ));
            }
        };
        Ok(result.into())
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        _cx: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let argument = request.argument.name.as_str();
        let prefix = request.argument.value.as_str();
        let candidates: Vec<&str> = match (&request.r#ref, argument) {
            (Reference::Resource(_), "id") => vec!["1", "2", "3"],
            (Reference::Prompt(_), "name") => vec!["Alice", "Bob", "Charlie"],
            (Reference::Prompt(_), "style") => vec!["friendly", "formal", "casual"],
            (Reference::Prompt(_), _) => vec!["value1", "value2"],
            _ => vec![],
        };
        let values = candidates
            .into_iter()
            .filter(|v| v.starts_with(prefix))
            .map(str::to_owned)
            .collect();
        let info = CompletionInfo::new(values).map_err(|e| ErrorData::internal_error(e, None))?;
        Ok(CompleteResult::new(info))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_names_are_unique_and_custom_header_schema_is_annotated() {
        let tools = tools();
        let names: BTreeSet<_> = tools.iter().map(|t| t.name.to_string()).collect();
        assert_eq!(names.len(), tools.len());
        let header = tools
            .iter()
            .find(|t| t.name == "test_custom_header")
            .unwrap();
        let schema = Value::Object((*header.input_schema).clone());
        assert_eq!(
            schema.pointer("/properties/value/x-mcp-header"),
            Some(&json!("Value"))
        );
    }

    #[test]
    fn sealed_state_round_trips_and_tampering_is_rejected() {
        let f = Fixtures::new();
        let sealed = f.seal(json!({ "round": 1 })).unwrap();
        assert_eq!(f.open(&sealed).unwrap()["round"], 1);
        let mut tampered = sealed.clone();
        tampered.push('x');
        assert_eq!(
            f.open(&tampered).unwrap_err().code,
            ErrorCode::INVALID_PARAMS
        );
    }
}
