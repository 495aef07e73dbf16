#!/usr/bin/env bash
# The whole test suite: the README's test command and what CI runs.
#   guests (wasm32-wasip2) -> native plugin math tests -> Rust unit + integration tests
#   -> Python fidelity/interop tests (ib_async, mcp SDK) -> MCP conformance + Inspector CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

step() { printf '\n== %s\n' "$*"; }

step "build bundled plugins (wasm32-wasip2) into target/plugins"
./scripts/build-plugins.sh target/plugins

step "plugin analytics and kit (native unit tests)"
cargo test --manifest-path plugins/Cargo.toml -p quant -p plugin-kit

step "build the workspace once: test binaries and the binaries the Python/Node steps drive"
# One feature set for everything (a per-package `cargo build -p` resolves features differently
# and would compile rmcp/axum/wasmtime a second time: minutes on 2 cores, gigabytes of disk).
cargo build --workspace --bins --tests
BIN_DIR="${CARGO_TARGET_DIR:-$PWD/target}/debug"

step "Rust tests (simulator, host, end-to-end)"
cargo test --workspace

step "Python tests (ib_async fidelity, mcp SDK interop)"
TWS_SIM_BIN="$BIN_DIR/tws-sim" IBKR_MCP_BIN="$BIN_DIR/ibkr-mcp" ./scripts/test-python.sh

step "MCP conformance suite, Inspector CLI, curl script"
SKIP_BUILD=1 CONFORMANCE_SERVER_BIN="$BIN_DIR/conformance-server" IBKR_MCP_BIN="$BIN_DIR/ibkr-mcp" \
  PLUGINS_DIR="$PWD/target/plugins" ./scripts/test-conformance.sh

step "all tests passed"
