//! The MCP server: tool registry (single source for the MCP listing and `docs/API.md`),
//! dynamic tool/prompt providers, and the rmcp `ServerHandler`.

pub mod completion;
pub mod docs;
pub mod registry;
pub mod server;
pub mod tools;

pub use registry::{
    Kind, ListChanged, PromptProvider, Registry, ToolContext, ToolDef, ToolProvider, error_result,
    parse_args, tool,
};
pub use server::{McpServer, SERVER_NAME, SERVER_VERSION, server_info};
