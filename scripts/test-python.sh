#!/usr/bin/env bash
# Python tests under tests/python (ib_async fidelity tests against the real tws-sim binary).
#   - creates the venv .venv (python3 -m venv) if missing and installs tests/python/requirements*.txt
#   - builds tws-sim (cargo build -p tws-sim) unless TWS_SIM_BIN points at a binary, and the
#     ibkr-mcp host for the MCP interop tests unless IBKR_MCP_BIN is set
#   - dumps every text-codec response layout (TEXT_CODEC_DUMP_FILE) unless it is already set
#   - runs pytest with a per-test timeout (PYTEST_TIMEOUT, default 120 s)
# Extra arguments go to pytest, e.g. `scripts/test-python.sh -k bracket -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

VENV=${VENV:-$ROOT/.venv}
if [ ! -x "$VENV/bin/python" ]; then
  echo "creating venv $VENV"
  if ! python3 -m venv "$VENV"; then
    # Debian/Ubuntu ship venv separately (python3-venv / python3.X-venv).
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      rm -rf "$VENV"
      pyver=$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      apt-get install -y -q python3-venv "python${pyver}-venv" >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null && apt-get install -y -q python3-venv; }
      python3 -m venv "$VENV"
    else
      echo "python3 -m venv failed: install python3-venv" >&2
      exit 1
    fi
  fi
fi
for req in tests/python/requirements*.txt; do
  [ -f "$req" ] || continue
  # quiet when already satisfied; pip is the only network access (PyPI)
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
done

if [ -z "${TWS_SIM_BIN:-}" ]; then
  cargo build -p tws-sim
  TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
  export TWS_SIM_BIN="$TARGET_DIR/debug/tws-sim"
fi
echo "simulator: $TWS_SIM_BIN"
# The MCP interop tests (tests/python/test_mcp_interop.py) drive the host binary: build it here,
# outside pytest's per-test timeout.
if [ -z "${IBKR_MCP_BIN:-}" ] && [ -f tests/python/mcp_hostproc.py ]; then
  cargo build -p ibkr-mcp --bin ibkr-mcp
  export IBKR_MCP_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/ibkr-mcp"
  echo "host: $IBKR_MCP_BIN"
fi

# Frames of every text-codec response layout, for tests/python/test_text_layouts.py: produced by
# the simulator's own (ignored) unit test, here and not inside pytest, where a first compile of the
# lib test binary could outlast the per-test timeout. `--workspace` keeps the feature set of the
# workspace build (a `-p tws-sim` build would recompile shared dependencies with other features).
if [ -z "${TEXT_CODEC_DUMP_FILE:-}" ]; then
  TEXT_CODEC_DUMP_FILE="${CARGO_TARGET_DIR:-$ROOT/target}/text-codec-frames.tsv"
  rm -f "$TEXT_CODEC_DUMP_FILE"
  TEXT_CODEC_DUMP="$TEXT_CODEC_DUMP_FILE" cargo test -q --workspace --lib \
    dump_frames_for_ib_async_check -- --ignored >/dev/null
  export TEXT_CODEC_DUMP_FILE
fi
echo "text-codec frames: $TEXT_CODEC_DUMP_FILE"

exec "$VENV/bin/python" -m pytest tests/python -p no:cacheprovider \
  --timeout="${PYTEST_TIMEOUT:-120}" -q -rfE "$@"
