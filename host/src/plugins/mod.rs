//! WebAssembly plugins: sandboxed components that contribute MCP prompts and workflow tools
//! and call the broker through typed, capability-checked host interfaces (WIT package
//! `ibkr:plugin`, see `wit/` and `docs/PLUGINS.md`).

pub mod backend;
pub mod bindings;
pub mod broker_backend;
pub mod cli;
pub mod config;
pub mod confirm;
pub mod limits;
pub mod manager;
pub mod mcp;
pub mod ownership;
pub mod runtime;
pub mod startup;
pub mod state;
#[doc(hidden)]
pub mod testing;
#[cfg(test)]
mod tests;

pub use backend::{CallContext, Confirmer, Disconnected, Origin, PluginBackend, ProgressSink};
pub use config::{Capability, Grant, PluginsConfig};
pub use limits::Limits;
pub use manager::{LoadedPlugin, PluginHost, PluginSummary, PromptInfo, ToolInfo};
pub use runtime::{CallError, LoadError, Runtime};
pub use startup::{Plugins, start};
