#!/usr/bin/env bash
# The whole test suite: the README's test command and what CI runs.
#   guests (wasm32-wasip2) -> native plugin math tests -> Rust unit + integration tests
#   -> Python fidelity/interop tests (ib_async, mcp SDK) -> MCP conformance + Inspector CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

step() { printf '\n== %s\n' "$*"; }

if [ -x scripts/build-plugins.sh ]; then
  step "build bundled plugins (wasm32-wasip2)"
  ./scripts/build-plugins.sh
fi

if [ -f plugins/Cargo.toml ]; then
  step "plugin math (native)"
  cargo test --manifest-path plugins/Cargo.toml --workspace --exclude ibkr-plugin-sdk 2>/dev/null \
    || cargo test --manifest-path plugins/Cargo.toml -p quant
fi

step "Rust tests (simulator, host, end-to-end)"
cargo test --workspace

if [ -x scripts/test-python.sh ]; then
  step "Python tests (ib_async fidelity, mcp SDK interop)"
  ./scripts/test-python.sh
fi

if [ -x scripts/test-conformance.sh ]; then
  step "MCP conformance suite + Inspector CLI"
  ./scripts/test-conformance.sh
fi

step "all tests passed"
