//! ibkr-mcp host library.
