//! ibkr-mcp host library: a WebAssembly-plugin extensible MCP host for the Interactive Brokers
//! TWS API.
//!
//! - [`config`]: the one configuration model (env, `.env`, TOML, CLI).
//! - [`broker`]: the single broker adapter (connection supervisor, typed records, order path).
//! - [`mcp`]: the MCP server (tool registry, dynamic tool/prompt providers).
//! - [`http`]: the axum app (Streamable HTTP, health, readiness, CORS, auth).
//! - [`plugins`]: the WebAssembly plugin runtime.
pub mod app;
pub mod broker;
pub mod config;
pub mod http;
pub mod mcp;
pub mod plugins;
