#!/usr/bin/env bash
# The whole test suite: the README's test command and what CI runs.
#   guests (wasm32-wasip2) -> native plugin math tests -> Rust unit + integration tests
#   -> Python fidelity/interop tests (ib_async, mcp SDK) -> MCP conformance + Inspector CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}

# Every stage is timed: `== [m:ss] <stage>` when it ends, and a table at the end (also when a
# stage fails), so CI logs show where the time goes.
STAGES=()
STAGE=""
STAGE_T0=0
SUITE_T0=$SECONDS
fmt_secs() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }
end_step() {
    [ -n "$STAGE" ] || return 0
    local took=$((SECONDS - STAGE_T0))
    STAGES+=("$(printf '%7s  %s' "$(fmt_secs "$took")" "$STAGE")")
    printf '== [%s] %s\n' "$(fmt_secs "$took")" "$STAGE"
    STAGE=""
}
step() {
    end_step
    STAGE="$*"
    STAGE_T0=$SECONDS
    printf '\n== %s\n' "$*"
}
summary() {
    local rc=$?
    if [ -n "$STAGE" ]; then
        [ "$rc" = 0 ] || STAGE="$STAGE (FAILED, exit $rc)"
        end_step
    fi
    printf '\n== stage times\n'
    printf '%s\n' "${STAGES[@]}"
    printf '%7s  total\n' "$(fmt_secs $((SECONDS - SUITE_T0)))"
}
trap summary EXIT

step "build bundled plugins (wasm32-wasip2) into target/plugins"
./scripts/build-plugins.sh target/plugins
# Every guest component is now built: tests use them as they are instead of running a nested
# `cargo build` per test (host/src/plugins/testing.rs::guest_wasm).
export IBKR_MCP_SKIP_GUEST_BUILD=1

step "plugin analytics and kit (native unit tests)"
cargo test --manifest-path plugins/Cargo.toml -p quant -p plugin-kit -p ibkr-plugin-sdk -p rebalance-portfolio -p analyze-market-conditions -p assess-portfolio-risk -p execute-bracket-order -p execute-options-strategy -p setup-trading-workspace

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

end_step
printf '\n== all tests passed\n'
