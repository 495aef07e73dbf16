//! The MCP conformance suite's fixtures that the plugin path can express, so the suite's
//! server scenarios run against the real host (`ibkr-mcp --sim`, see
//! tests/conformance/README.md and scripts/test-conformance.sh).
//!
//! The host names plugin items `<plugin>__<item>`: the workflow `simple_text` of this plugin
//! (file stem `conformance`) is the MCP tool `conformance__simple_text`, which the script maps
//! to the suite's fixture name `test_simple_text`. Texts follow the scenario sources of
//! `@modelcontextprotocol/conformance`.

use ibkr_plugin_sdk::prelude::*;

struct Conformance;

/// `tools-call-simple-text`.
pub const SIMPLE_TEXT: &str = "This is a simple text response for testing.";
/// `tools-call-error`.
pub const ERROR_TEXT: &str = "This tool intentionally returns an error for testing";

fn no_args() -> Value {
    json!({ "type": "object", "properties": {} })
}

impl Plugin for Conformance {
    fn workflows() -> Vec<Workflow> {
        vec![
            Workflow::read_only("simple_text", "Returns a simple text block", no_args()),
            Workflow::read_only(
                "error_handling",
                "Always fails with a tool error",
                no_args(),
            ),
            Workflow::read_only(
                "tool_with_progress",
                "Reports progress 0/100, 50/100, 100/100 while running",
                no_args(),
            ),
            Workflow::read_only(
                "elicitation",
                "Asks the user (the host's confirmation elicitation) and returns the answer",
                json!({
                    "type": "object",
                    "properties": { "message": { "type": "string", "description": "Message shown to the user" } },
                    "required": ["message"]
                }),
            ),
            Workflow::read_only(
                "json_schema_2020_12_tool",
                "Input schema using JSON Schema 2020-12 keywords",
                json!({
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
                }),
            ),
            Workflow::read_only(
                "custom_header",
                "Echoes a parameter that clients also send as the Mcp-Param-Value header (SEP-2243)",
                json!({
                    "type": "object",
                    "properties": { "value": { "type": "string", "x-mcp-header": "Value" } },
                    "required": ["value"]
                }),
            ),
        ]
    }

    fn run_workflow(name: &str, input: Value) -> Result<Value, Error> {
        match name {
            "simple_text" => Ok(json!(SIMPLE_TEXT)),
            "error_handling" => Err(Error::failed(ERROR_TEXT)),
            "tool_with_progress" => {
                for p in [0.0, 50.0, 100.0] {
                    host::progress(p, Some(100.0), Some(&format!("step {p}/100")));
                }
                Ok(json!("Progress tool completed"))
            }
            "elicitation" => {
                let message = input["message"]
                    .as_str()
                    .ok_or_else(|| Error::invalid("message is required"))?;
                let confirmed = host::confirm(message)?;
                Ok(json!(format!("User response: confirmed={confirmed}")))
            }
            "json_schema_2020_12_tool" => Ok(json!(format!(
                "Hello, {}!",
                input["name"].as_str().unwrap_or("world")
            ))),
            "custom_header" => input["value"]
                .as_str()
                .map(|v| json!(v))
                .ok_or_else(|| Error::invalid("value: expected a string")),
            _ => Err(Error::invalid(format!("unknown workflow `{name}`"))),
        }
    }

    fn prompts() -> Vec<Prompt> {
        vec![
            Prompt::new("simple_prompt", "A prompt without arguments"),
            Prompt::new("prompt_with_arguments", "A prompt with two arguments")
                .arg("arg1", "First test argument", true, ArgumentKind::Text)
                .arg("arg2", "Second test argument", true, ArgumentKind::Text),
        ]
    }

    fn render_prompt(name: &str, args: &PromptArgs) -> Result<Vec<PromptMessage>, Error> {
        match name {
            "simple_prompt" => Ok(vec![PromptMessage::user("This is a simple test prompt.")]),
            "prompt_with_arguments" => Ok(vec![PromptMessage::user(format!(
                "Prompt with arguments: arg1='{}', arg2='{}'",
                args.require("arg1")?,
                args.require("arg2")?
            ))]),
            _ => Err(Error::invalid(format!("unknown prompt `{name}`"))),
        }
    }
}

ibkr_plugin_sdk::register!(Conformance);
