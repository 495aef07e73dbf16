#!/usr/bin/env bash
# Drives a running ibkr-mcp host over MCP Streamable HTTP with nothing but curl, and checks the
# answers. Exits non-zero on the first failed check.
#
#   HOST_URL=http://127.0.0.1:8000/api/v1/mcp scripts/test_curl.sh
#
# Steps (2025-11-25 session era): initialize -> capture Mcp-Session-Id -> notifications/initialized
# -> tools/list -> tools/call ibkr_get_status / ibkr_get_positions / ibkr_get_account_summary /
# ibkr_get_contract_details -> a tool error (isError) -> unknown session (404) -> DELETE session;
# then one stateless 2026-07-28 tools/call (no session, per-request _meta) and GET /health.
#
# Needs curl and python3 (JSON checks). Set VERBOSE=1 to print every response body, and
# BEARER_TOKEN=... if the host requires a token. Against a real account, the script only reads
# (no orders are placed).
set -euo pipefail

HOST_URL="${HOST_URL:-http://127.0.0.1:8000/api/v1/mcp}"
LEGACY_VERSION="${LEGACY_VERSION:-2025-11-25}"
STATELESS_VERSION="${STATELESS_VERSION:-2026-07-28}"
VERBOSE="${VERBOSE:-0}"
# /health lives at the root of the same origin.
HEALTH_URL="${HEALTH_URL:-$(printf '%s' "$HOST_URL" | sed -E 's#^(https?://[^/]+).*#\1#')/health}"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
pass=0

auth=()
if [ -n "${BEARER_TOKEN:-}" ]; then auth=(-H "Authorization: Bearer $BEARER_TOKEN"); fi

fail() { echo "FAIL: $*" >&2; [ -f "$tmp/body" ] && { echo "--- last response body:" >&2; head -c 4000 "$tmp/body" >&2; echo >&2; }; exit 1; }
ok() { pass=$((pass + 1)); echo "ok   $*"; }

# post BODY [extra curl args...]: POST to the MCP endpoint; sets $status, headers in $tmp/headers,
# body in $tmp/body.
post() {
  local body="$1"; shift
  status="$(curl -sS -o "$tmp/body" -D "$tmp/headers" -w '%{http_code}' --max-time 60 \
    -X POST "$HOST_URL" \
    -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' \
    "${auth[@]}" "$@" --data-binary "$body")" || fail "curl could not reach $HOST_URL"
  if [ "$VERBOSE" = 1 ]; then echo ">>> $body"; echo "<<< HTTP $status"; cat "$tmp/body"; echo; fi
}

# session_post BODY: POST within the session (session id + negotiated protocol version headers).
session_post() { post "$1" -H "Mcp-Session-Id: $session" -H "MCP-Protocol-Version: $LEGACY_VERSION"; }

header() { grep -i "^$1:" "$tmp/headers" | head -n1 | cut -d: -f2- | tr -d ' \r'; }

# check ID PYTHON_EXPR: finds the JSON-RPC response with id ID in the body (plain JSON or an SSE
# stream of `data:` lines) and evaluates the expression with `r` bound to that response; prints
# the expression's value (must be truthy).
check() {
  python3 - "$tmp/body" "$1" "$2" <<'PY'
import json, sys
path, want_id, expr = sys.argv[1], sys.argv[2], sys.argv[3]
raw = open(path, encoding="utf-8").read()
msgs = []
try:
    msgs.append(json.loads(raw))
except ValueError:
    for line in raw.splitlines():
        if line.startswith("data:"):
            data = line[5:].strip()
            if data:
                try:
                    msgs.append(json.loads(data))
                except ValueError:
                    pass
r = next((m for m in msgs if isinstance(m, dict) and str(m.get("id")) == want_id), None)
if r is None:
    sys.exit(f"no JSON-RPC response with id {want_id} in the body")
def text(res):
    return " ".join(c.get("text", "") for c in res.get("content", []) if c.get("type") == "text")
value = eval(expr, {"r": r, "text": text, "json": json})
if not value:
    sys.exit(f"check failed: {expr}")
print(value if not isinstance(value, bool) else "")
PY
}

echo "MCP endpoint: $HOST_URL"

# 1. initialize (2025-11-25): the server answers and assigns a session id.
post "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"$LEGACY_VERSION\",\"capabilities\":{},\"clientInfo\":{\"name\":\"test_curl.sh\",\"version\":\"1.0\"}}}"
[ "$status" = 200 ] || fail "initialize: HTTP $status"
session="$(header Mcp-Session-Id)"
[ -n "$session" ] || fail "initialize: no Mcp-Session-Id header"
name="$(check 1 'r["result"]["serverInfo"]["name"]')" || fail "initialize: no serverInfo"
check 1 'r["result"]["protocolVersion"] == "'"$LEGACY_VERSION"'" and "tools" in r["result"]["capabilities"]' >/dev/null \
  || fail "initialize: protocol version or tools capability"
ok "initialize -> server $name, session $session"

# 2. notifications/initialized: accepted without a body.
session_post '{"jsonrpc":"2.0","method":"notifications/initialized"}'
[ "$status" = 202 ] || fail "notifications/initialized: HTTP $status (want 202)"
ok "notifications/initialized -> 202"

# 3. tools/list: the predecessor's toolset, each with schemas and annotations.
session_post '{"jsonrpc":"2.0","id":2,"method":"tools/list"}'
[ "$status" = 200 ] || fail "tools/list: HTTP $status"
count="$(check 2 'len(r["result"]["tools"])')" || fail "tools/list"
check 2 '{"ibkr_connect","ibkr_disconnect","ibkr_get_status","ibkr_get_contract_details","ibkr_get_historical_data","ibkr_stream_market_data","ibkr_get_account_summary","ibkr_get_positions","ibkr_stream_account_updates","ibkr_get_pnl","ibkr_get_pnl_single","ibkr_place_order","ibkr_cancel_order","ibkr_get_open_orders","ibkr_get_executions","ibkr_get_next_valid_id"} <= {t["name"] for t in r["result"]["tools"]}' >/dev/null \
  || fail "tools/list: a predecessor tool is missing"
check 2 'all(t["inputSchema"].get("type") == "object" for t in r["result"]["tools"])' >/dev/null \
  || fail "tools/list: a tool without an object input schema"
check 2 'next(t for t in r["result"]["tools"] if t["name"] == "ibkr_get_positions")["annotations"]["readOnlyHint"] is True' >/dev/null \
  || fail "tools/list: ibkr_get_positions is not annotated read-only"
check 2 'next(t for t in r["result"]["tools"] if t["name"] == "ibkr_place_order")["annotations"]["destructiveHint"] is True' >/dev/null \
  || fail "tools/list: ibkr_place_order is not annotated destructive"
ok "tools/list -> $count tools (all 16 predecessor tools, schemas, annotations)"

# 4. tools/call ibkr_get_status: connected to TWS / the simulator.
session_post '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"ibkr_get_status","arguments":{}}}'
[ "$status" = 200 ] || fail "ibkr_get_status: HTTP $status"
check 3 'r["result"].get("isError") is not True and r["result"]["structuredContent"]["is_connected"] is True' >/dev/null \
  || fail "ibkr_get_status: not connected"
ok "tools/call ibkr_get_status -> connected"

# 5. tools/call ibkr_get_positions: structured content with a positions list.
session_post '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"ibkr_get_positions","arguments":{}}}'
[ "$status" = 200 ] || fail "ibkr_get_positions: HTTP $status"
n="$(check 4 'r["result"].get("isError") is not True and str(len(r["result"]["structuredContent"]["positions"]))')" \
  || fail "ibkr_get_positions: no structured positions"
check 4 'all({"account","position"} <= set(p) for p in r["result"]["structuredContent"]["positions"])' >/dev/null \
  || fail "ibkr_get_positions: a position without account/position"
ok "tools/call ibkr_get_positions -> $n positions"

# 6. tools/call ibkr_get_account_summary.
session_post '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"ibkr_get_account_summary","arguments":{}}}'
[ "$status" = 200 ] || fail "ibkr_get_account_summary: HTTP $status"
check 5 'r["result"].get("isError") is not True and r["result"]["structuredContent"]' >/dev/null \
  || fail "ibkr_get_account_summary: no structured content"
ok "tools/call ibkr_get_account_summary"

# 7. tools/call ibkr_get_contract_details AAPL.
session_post '{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"ibkr_get_contract_details","arguments":{"symbol":"AAPL"}}}'
[ "$status" = 200 ] || fail "ibkr_get_contract_details: HTTP $status"
check 6 'r["result"].get("isError") is not True and "AAPL" in json.dumps(r["result"]["structuredContent"])' >/dev/null \
  || fail "ibkr_get_contract_details: AAPL not in the result"
ok "tools/call ibkr_get_contract_details AAPL"

# 8. A failing call is a tool error (isError) with a message, not a protocol error.
session_post '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"ibkr_get_contract_details","arguments":{"symbol":"NO_SUCH_SYMBOL_XYZ"}}}'
[ "$status" = 200 ] || fail "unknown symbol: HTTP $status"
msg="$(check 7 'r["result"]["isError"] is True and text(r["result"])')" \
  || fail "unknown symbol: expected a tool error (isError)"
ok "tools/call with an unknown symbol -> isError: ${msg:0:100}"

# 9. An unknown session id is rejected (404).
post '{"jsonrpc":"2.0","id":8,"method":"tools/list"}' -H "Mcp-Session-Id: no-such-session" -H "MCP-Protocol-Version: $LEGACY_VERSION"
[ "$status" = 404 ] || fail "unknown session: HTTP $status (want 404)"
ok "unknown Mcp-Session-Id -> 404"

# 10. DELETE ends the session.
status="$(curl -sS -o "$tmp/body" -w '%{http_code}' --max-time 30 -X DELETE "$HOST_URL" "${auth[@]}" \
  -H "Mcp-Session-Id: $session" -H "MCP-Protocol-Version: $LEGACY_VERSION")"
case "$status" in 200 | 202 | 204) ;; *) fail "DELETE session: HTTP $status" ;; esac
ok "DELETE session -> $status"

# 11. 2026-07-28: stateless, no initialize, per-request _meta.
post "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"ibkr_get_positions\",\"arguments\":{},\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"$STATELESS_VERSION\",\"io.modelcontextprotocol/clientInfo\":{\"name\":\"test_curl.sh\",\"version\":\"1.0\"},\"io.modelcontextprotocol/clientCapabilities\":{}}}}" \
  -H "MCP-Protocol-Version: $STATELESS_VERSION" -H "Mcp-Method: tools/call" -H "Mcp-Name: ibkr_get_positions"
[ "$status" = 200 ] || fail "stateless tools/call: HTTP $status"
[ -z "$(header Mcp-Session-Id)" ] || fail "stateless tools/call: the server created a session"
check 9 'r["result"].get("isError") is not True and "positions" in r["result"]["structuredContent"]' >/dev/null \
  || fail "stateless tools/call ibkr_get_positions"
ok "stateless ($STATELESS_VERSION) tools/call ibkr_get_positions"

# 12. Liveness.
status="$(curl -sS -o "$tmp/body" -w '%{http_code}' --max-time 10 "$HEALTH_URL")" || fail "GET $HEALTH_URL"
[ "$status" = 200 ] || fail "GET /health: HTTP $status"
ok "GET /health -> 200"

echo "all $pass checks passed"
