//! A plugin that misbehaves on purpose; each workflow attacks one sandbox limit.

use ibkr_plugin_sdk::prelude::*;

struct Hostile;

const NAMES: &[&str] = &[
    "spin",
    "bomb",
    "panic",
    "huge",
    "flood",
    "chatty",
    "ok",
    "quote",
    "confirm",
    "confirm_spin",
];

impl Plugin for Hostile {
    fn prompts() -> Vec<Prompt> {
        vec![Prompt::new("huge_prompt", "Renders an enormous prompt")]
    }

    fn render_prompt(_name: &str, _args: &PromptArgs) -> Result<Vec<PromptMessage>, Error> {
        Ok(vec![PromptMessage::user("x".repeat(8 << 20))])
    }

    fn workflows() -> Vec<Workflow> {
        NAMES
            .iter()
            .map(|n| Workflow::read_only(n, "misbehaves", json!({"type": "object"})))
            .collect()
    }

    fn run_workflow(name: &str, input: Value) -> Result<Value, Error> {
        match name {
            "spin" => {
                let mut x: u64 = input["seed"].as_u64().unwrap_or(1);
                loop {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    if x == 42 {
                        return Ok(json!(x));
                    }
                }
            }
            "bomb" => {
                let mut keep: Vec<Vec<u8>> = Vec::new();
                loop {
                    keep.push(vec![1u8; 1 << 20]);
                    if keep.len() == usize::MAX {
                        return Ok(json!(keep.len()));
                    }
                }
            }
            "panic" => panic!("hostile plugin panics on purpose"),
            "huge" => Ok(json!({"blob": "y".repeat(8 << 20)})),
            "flood" => {
                let mut n = 0u64;
                loop {
                    host::debug("flood");
                    n += 1;
                    if n == u64::MAX {
                        return Ok(json!(n));
                    }
                }
            }
            "chatty" => {
                for i in 0..5_000 {
                    println!("chatty line {i}");
                }
                Ok(json!({"printed": 5_000}))
            }
            "ok" => Ok(json!({"ok": true, "echo": input})),
            // One host call and return (used by the overhead benchmark).
            "ping" => Ok(json!({"greeting": host::config("greeting")})),
            "quote" => {
                let q = market_data::quote(&Contract::stock("AAPL"))?;
                Ok(json!({"last": q.last}))
            }
            // Asks `times` confirmations (the wait must not count against the deadline).
            "confirm" => {
                let times = input["times"].as_u64().unwrap_or(1);
                let mut answers = Vec::new();
                for i in 0..times {
                    answers.push(host::confirm(&format!("hostile confirmation {i}"))?);
                }
                Ok(json!({"answers": answers}))
            }
            // A confirmation, then an endless loop: the deadline must still stop it.
            "confirm_spin" => {
                let yes = host::confirm("hostile confirmation before spinning")?;
                let mut x: u64 = u64::from(yes);
                loop {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                    if x == 42 {
                        return Ok(json!(x));
                    }
                }
            }
            _ => Err(Error::invalid(format!("unknown workflow `{name}`"))),
        }
    }
}

ibkr_plugin_sdk::register!(Hostile);
