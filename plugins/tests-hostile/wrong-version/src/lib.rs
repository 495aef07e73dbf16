//! Built with raw bindings against `ibkr:plugin@1.0.0` (see ../wit-1.0.0).

mod bindings {
    wit_bindgen::generate!({
        world: "analysis-plugin",
        path: "../wit-1.0.0",
    });
}

use bindings::exports::ibkr::plugin::{prompts, workflows};
use bindings::ibkr::plugin::{host, types::Error};

struct Versioned;

impl prompts::Guest for Versioned {
    fn list_prompts() -> Vec<prompts::Prompt> {
        Vec::new()
    }
    fn render_prompt(
        name: String,
        _: Vec<(String, String)>,
    ) -> Result<Vec<prompts::PromptMessage>, Error> {
        Err(Error::InvalidArgument(format!("unknown prompt {name}")))
    }
}

impl workflows::Guest for Versioned {
    fn list_workflows() -> Vec<workflows::Workflow> {
        vec![workflows::Workflow {
            name: "version".into(),
            title: None,
            description: "Reports the WIT version it was built against".into(),
            input_schema: r#"{"type":"object"}"#.into(),
            output_schema: None,
            access: workflows::Access::ReadOnly,
        }]
    }
    fn run_workflow(_name: String, _input: String) -> Result<String, Error> {
        host::log(host::LogLevel::Info, "versioned plugin running");
        Ok(r#"{"built_against":"1.0.0"}"#.into())
    }
}

bindings::export!(Versioned with_types_in bindings);
