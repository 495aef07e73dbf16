//! The `ibkr-mcp` binary and crate from outside: CLI, stdio transport, and the docs/API.md drift check.

mod api_docs;
mod cli;
mod shutdown;
mod stdio;
