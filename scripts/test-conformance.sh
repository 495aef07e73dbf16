#!/usr/bin/env bash
# MCP conformance and interop with the official Node tools (see tests/conformance/README.md):
#
#   1. the official conformance suite (@modelcontextprotocol/conformance) against the
#      `conformance-server` fixture binary, which mounts the suite's fixture tools/resources/
#      prompts on the host's own transport (ibkr_mcp::http::mcp_router), for both requirement
#      sets: --requirements 2025-11-25 and --requirements 2026-07-28;
#   2. every suite scenario that applies to the real host, run against `ibkr-mcp --sim` itself with
#      the bundled plugins plus the `conformance` test plugin (plugins/tests-conformance: the
#      fixture tools/prompts a plugin can express), in both eras (--spec-version 2025-11-25 and
#      2026-07-28);
#   3. MCP Inspector CLI against the real host: tools/list and tools/call ibkr_get_positions;
#   4. scripts/test_curl.sh against the real host.
#
# Node 22 + the suite + Inspector are installed into .node/ by scripts/node-tools.sh (pinned by
# tests/conformance/package-lock.json). Exits non-zero when anything fails.
#
#   scripts/test-conformance.sh                 # everything
#   SKIP_BUILD=1 CONFORMANCE_SERVER_BIN=... IBKR_MCP_BIN=... PLUGINS_DIR=... scripts/test-conformance.sh
#     (PLUGINS_DIR: where scripts/build-plugins.sh put the plugins; default target/plugins)
#   CONFORMANCE_ONLY=1 scripts/test-conformance.sh   # only step 1
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
PROFILE_DIR="${CARGO_PROFILE_DIR:-debug}"
OUT="${CONFORMANCE_OUT:-$TARGET_DIR/conformance}"
TIMEOUT_MS="${CONFORMANCE_TIMEOUT_MS:-30000}"

step() { printf '\n== %s\n' "$*"; }
failures=()
fail() { echo "FAILED: $*" >&2; failures+=("$*"); }

step "Node tools (Node 22, conformance suite, Inspector)"
NODE_BIN="$(scripts/node-tools.sh)"
export PATH="$NODE_BIN:$PATH"
echo "node $(node --version), conformance $(conformance --version)"

# Guest plugins: the output of scripts/build-plugins.sh (bundled plugins + tests/conformance.wasm).
PLUGINS_DIR="${PLUGINS_DIR:-$ROOT/target/plugins}"
if [ -z "${SKIP_BUILD:-}" ]; then
  step "build conformance-server, ibkr-mcp and the guest plugins"
  cargo build -p conformance-server -p ibkr-mcp --bin conformance-server --bin ibkr-mcp
  scripts/build-plugins.sh "$PLUGINS_DIR"
fi
CONFORMANCE_SERVER_BIN="${CONFORMANCE_SERVER_BIN:-$TARGET_DIR/$PROFILE_DIR/conformance-server}"
IBKR_MCP_BIN="${IBKR_MCP_BIN:-$TARGET_DIR/$PROFILE_DIR/ibkr-mcp}"

work="$(mktemp -d)"
pids=()
cleanup() {
  # Ask politely, then insist: a server that does not stop within 10 s must not hang the suite.
  for pid in "${pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 100); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      echo "warning: pid $pid ignored SIGINT for 10 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# wait_for_url FILE REGEX PID: waits (max 60 s) until FILE contains a line matching REGEX with the
# URL in its first capture group; prints the URL.
wait_for_url() {
  local file="$1" regex="$2" pid="$3" url=""
  for _ in $(seq 1 600); do
    url="$(sed -nE "s#.*${regex}.*#\\1#p" "$file" 2>/dev/null | head -n1)"
    [ -n "$url" ] && { echo "$url"; return 0; }
    kill -0 "$pid" 2>/dev/null || { echo "process exited:" >&2; cat "$file" >&2; return 1; }
    sleep 0.1
  done
  echo "timed out waiting for the listening URL:" >&2; cat "$file" >&2; return 1
}

# summarize DIR: one line per scenario from the suite's checks.json files.
summarize() {
  python3 - "$1" <<'PY'
import json, pathlib, re, sys
root = pathlib.Path(sys.argv[1])
for f in sorted(root.rglob("checks.json")):
    checks = json.loads(f.read_text())
    bad = [c for c in checks if c.get("status") == "FAILURE"]
    warn = [c for c in checks if c.get("status") == "WARNING"]
    name = re.sub(r"^server-|-\d{4}-\d\d-\d\dT[\d-]+Z$", "", f.parent.name)
    flag = "FAIL" if bad else ("warn" if warn else "ok")
    print(f"  {flag:4} {name}: {len(checks) - len(bad)}/{len(checks)} checks"
          + (": " + "; ".join(f"{c['id']}: {c.get('errorMessage', '')}"[:200] for c in bad) if bad else ""))
PY
}

# ---------------------------------------------------------------------------------------------
step "conformance suite against the fixture server (host transport)"
"$CONFORMANCE_SERVER_BIN" --bind 127.0.0.1:0 --api-prefix /api/v1 >"$work/fixtures.log" 2>&1 &
pids+=($!)
FIXTURE_URL="$(wait_for_url "$work/fixtures.log" 'listening on (http://[^ ]+)' "${pids[-1]}")"
echo "fixture server: $FIXTURE_URL"

for rev in 2025-11-25 2026-07-28; do
  step "conformance server --requirements $rev"
  rm -rf "$OUT/fixtures-$rev"
  if conformance server --url "$FIXTURE_URL" --requirements "$rev" --timeout "$TIMEOUT_MS" \
      -o "$OUT/fixtures-$rev" >"$work/suite-$rev.log" 2>&1; then
    tail -n 25 "$work/suite-$rev.log"
  else
    cat "$work/suite-$rev.log"
    fail "conformance --requirements $rev (fixture server)"
  fi
  summarize "$OUT/fixtures-$rev"
done

if [ -n "${CONFORMANCE_ONLY:-}" ]; then
  [ ${#failures[@]} -eq 0 ] || { printf 'FAILED: %s\n' "${failures[@]}" >&2; exit 1; }
  exit 0
fi

# ---------------------------------------------------------------------------------------------
step "the real host: ibkr-mcp --sim with the bundled plugins + the conformance test plugin"
# The host's plugin directory: every bundled plugin of $PLUGINS_DIR plus tests/conformance.wasm
# (plugins/tests-conformance: the suite's fixture tools and prompts that a plugin can express).
[ -f "$PLUGINS_DIR/tests/conformance.wasm" ] || {
  echo "no $PLUGINS_DIR/tests/conformance.wasm: run scripts/build-plugins.sh $PLUGINS_DIR" >&2
  exit 1
}
mkdir -p "$work/plugins" "$OUT/plugin-cache"
cp "$PLUGINS_DIR"/*.wasm "$PLUGINS_DIR/tests/conformance.wasm" "$work/plugins/"
cat >"$work/ibkr-mcp.toml" <<EOF
[plugins]
dir = "$work/plugins"
cache_dir = "$OUT/plugin-cache"
hot_reload = false
EOF
hostlog="$work/host.log"
# exec: $! must be the host itself (a background subshell ignores SIGINT, so the host never got it).
(cd "$work" && exec env -u TWS_HOST -u TWS_PORT -u TWS_CLIENT_ID -u SERVER_HOST -u SERVER_PORT \
  -u API_PREFIX -u IBKR_MCP_CONFIG -u MCP_BEARER_TOKENS -u LOG_LEVEL -u CORS_ORIGINS \
  -u ALLOWED_HOSTS -u ALLOWED_ORIGINS \
  "$IBKR_MCP_BIN" --sim --port 0 --config "$work/ibkr-mcp.toml" --env-file /dev/null \
  --audit-log "" >"$hostlog" 2>&1) &
pids+=($!)
HOST_URL="$(wait_for_url "$hostlog" 'listening: MCP (http://[^ ]+)' "${pids[-1]}")"
echo "host: $HOST_URL"

# The scenarios call the suite's fixtures by name (test_simple_text, ...); the host names plugin
# items `<plugin>__<item>`. A copy of the suite's bundle next to the original (so that its imports
# resolve) has exactly these names replaced by the conformance plugin's MCP names; nothing else
# changes. Every name must be found, or the mapping is stale and the run stops.
SUITE_DIST="$NODE_BIN/../@modelcontextprotocol/conformance/dist"
python3 - "$SUITE_DIST/index.js" "$SUITE_DIST/index.ibkr-host.js" <<'PY'
import re, sys
src, dst = sys.argv[1:]
names = {  # suite fixture name -> MCP name in plugins/tests-conformance
    "test_simple_text": "conformance__simple_text",
    "test_error_handling": "conformance__error_handling",
    "test_tool_with_progress": "conformance__tool_with_progress",
    "test_elicitation": "conformance__elicitation",
    "json_schema_2020_12_tool": "conformance__json_schema_2020_12_tool",
    "test_simple_prompt": "conformance__simple_prompt",
    "test_prompt_with_arguments": "conformance__prompt_with_arguments",
}
s = open(src).read()
for fixture, host in names.items():
    s, n = re.subn(r"(?<![A-Za-z0-9_])" + fixture + r"(?![A-Za-z0-9_])", host, s)
    if n == 0:
        sys.exit(f"fixture name {fixture} not found in {src}: update the mapping")
open(dst, "w").write(s)
PY
host_conformance() { node "$SUITE_DIST/index.ibkr-host.js" "$@"; }

# Every server scenario that applies to the host, per protocol era (tests/conformance/README.md
# lists the others with the reason). Fixture-free: lifecycle, transport, listing; with the
# conformance plugin: tool results, errors, progress, elicitation, schemas, prompts, completion.
host_scenarios=(
  "2025-11-25 server-initialize"
  "2025-11-25 server-session-lifecycle"
  "2025-11-25 ping"
  "2025-11-25 logging-set-level"
  "2025-11-25 tools-list"
  "2025-11-25 tools-call-simple-text"
  "2025-11-25 tools-call-error"
  "2025-11-25 tools-call-with-progress"
  "2025-11-25 tools-call-elicitation"
  "2025-11-25 json-schema-2020-12"
  "2025-11-25 prompts-list"
  "2025-11-25 prompts-get-simple"
  "2025-11-25 prompts-get-with-args"
  "2025-11-25 completion-complete"
  "2025-11-25 server-sse-multiple-streams"
  "2025-11-25 dns-rebinding-protection"
  "2026-07-28 tools-list"
  "2026-07-28 tools-call-simple-text"
  "2026-07-28 tools-call-error"
  "2026-07-28 tools-call-with-progress"
  "2026-07-28 json-schema-2020-12"
  "2026-07-28 prompts-list"
  "2026-07-28 prompts-get-simple"
  "2026-07-28 prompts-get-with-args"
  "2026-07-28 completion-complete"
  "2026-07-28 server-sse-multiple-streams"
  "2026-07-28 dns-rebinding-protection"
  "2026-07-28 http-header-validation"
  "2026-07-28 http-custom-header-server-validation"
)
for entry in "${host_scenarios[@]}"; do
  read -r rev scenario <<<"$entry"
  dir="$OUT/host-$rev/$scenario"
  rm -rf "$dir"
  if host_conformance server --url "$HOST_URL" --scenario "$scenario" --spec-version "$rev" \
      --timeout "$TIMEOUT_MS" -o "$dir" >"$work/host-$scenario-$rev.log" 2>&1; then
    summarize "$dir" | sed "s/^  /  [$rev] /"
  else
    cat "$work/host-$scenario-$rev.log"
    summarize "$dir" | sed "s/^  /  [$rev] /"
    fail "conformance $scenario ($rev) against ibkr-mcp"
  fi
done

# ---------------------------------------------------------------------------------------------
step "MCP Inspector CLI against the host"
inspector() { mcp-inspector --cli "$HOST_URL" --transport http --format json -q "$@"; }
if inspector --method tools/list >"$work/inspector-tools.json" 2>"$work/inspector.err" \
  && python3 - "$work/inspector-tools.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d = d.get("result", d)
tools = {t["name"] for t in d["tools"]}
need = {"ibkr_get_positions", "ibkr_place_order", "ibkr_get_historical_data", "ibkr_get_status"}
missing = need - tools
assert not missing, f"missing tools: {missing}"
print(f"  ok   inspector tools/list: {len(tools)} tools")
PY
then :; else cat "$work/inspector-tools.json" "$work/inspector.err" >&2; fail "inspector tools/list"; fi

if inspector --method tools/call --tool-name ibkr_get_positions >"$work/inspector-call.json" 2>"$work/inspector.err" \
  && python3 - "$work/inspector-call.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r = r.get("result", r)
assert not r.get("isError"), r
sc = r["structuredContent"]
assert sc["count"] == len(sc["positions"]) > 0, sc
print(f"  ok   inspector tools/call ibkr_get_positions: {sc['count']} positions")
PY
then :; else cat "$work/inspector-call.json" "$work/inspector.err" >&2; fail "inspector tools/call"; fi

if inspector --method tools/call --tool-name ibkr_get_historical_data \
    --tool-args-json '{"symbol":"VTI","durationStr":"10 D"}' >"$work/inspector-hist.json" 2>"$work/inspector.err" \
  && python3 - "$work/inspector-hist.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r = r.get("result", r)
assert not r.get("isError"), r
print(f"  ok   inspector tools/call ibkr_get_historical_data: {r['structuredContent']['count']} bars")
PY
then :; else cat "$work/inspector-hist.json" "$work/inspector.err" >&2; fail "inspector tools/call with arguments"; fi

# ---------------------------------------------------------------------------------------------
step "scripts/test_curl.sh against the host"
HOST_URL="$HOST_URL" scripts/test_curl.sh || fail "scripts/test_curl.sh"

if [ ${#failures[@]} -gt 0 ]; then
  printf '\nFAILED: %s\n' "${failures[@]}" >&2
  exit 1
fi
step "conformance + Inspector + curl: all passed (results in $OUT)"
