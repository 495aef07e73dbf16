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

step "Rust tests (simulator, host, end-to-end)"
cargo test --workspace

step "Python tests (ib_async fidelity, mcp SDK interop)"
./scripts/test-python.sh

step "MCP conformance suite, Inspector CLI, curl script"
./scripts/test-conformance.sh

step "all tests passed"
