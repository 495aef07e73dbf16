//! End-to-end suite: the simulator and the host on loopback ports, driven by real MCP clients.
//! One test binary (one link of wasmtime + rmcp) for every scenario; each module is one area.

mod orders_common;
mod workflows_common;

mod host_completion;
mod host_connection;
mod host_e2e_rebalance;
mod host_faults;
mod host_http;
mod host_mcp;
mod host_option_chain;
mod host_orders;
mod host_preview_modify;
mod plugins_confirm;
mod plugins_mcp;
mod plugins_orders;
mod workflows_analysis;
mod workflows_rebalance;
mod workflows_trading;
