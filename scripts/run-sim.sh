#!/usr/bin/env bash
# Start the host on the built-in simulator with every bundled plugin:
#   builds the plugins (wasm32-wasip2) into target/plugins, then runs the release host with --sim.
# MCP: http://127.0.0.1:8000/api/v1/mcp   health: /health   readiness: /ready
# Extra arguments go to ibkr-mcp, e.g. `scripts/run-sim.sh --port 9000` or `scripts/run-sim.sh --stdio`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build-plugins.sh target/plugins >&2
exec cargo run --release -q -p ibkr-mcp --bin ibkr-mcp -- --sim "$@"
