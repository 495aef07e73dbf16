#!/usr/bin/env bash
# Builds py_market_snapshot.wasm with componentize-py (PyPI) into $1 (default: plugins/target/py).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-$root/plugins/target/py}"
venv="${COMPONENTIZE_PY_VENV:-$root/plugins/target/componentize-py-venv}"
if [ ! -x "$venv/bin/componentize-py" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "componentize-py==0.25.1"
fi
mkdir -p "$out"
cd "$here"
# Own world (wit/world.wit): imports only host + market-data. --stub-wasi replaces every WASI
# import of the Python runtime with a no-op, so the component imports nothing but `ibkr:plugin`.
"$venv/bin/componentize-py" -d "$here/wit" -w market-snapshot componentize --stub-wasi app -o "$out/py_market_snapshot.wasm"
