#!/usr/bin/env bash
# Installs the Node-based MCP test tools into .node/ (git-ignored) from the pinned manifest
# tests/conformance/package.json + package-lock.json:
#   - Node 22 from the npm registry (package `node`, which pulls the platform binary as another
#     npm package): the conformance suite and MCP Inspector 2.x need Node >= 22.19, the machines
#     ship Node 20;
#   - @modelcontextprotocol/conformance (the official MCP conformance suite);
#   - @modelcontextprotocol/inspector (Inspector CLI).
# Idempotent and cache-friendly: reinstalls only when the lockfile changes (npm's own cache in
# ~/.npm makes a reinstall an offline copy). Prints the bin directory to put first on PATH.
#   PATH="$(scripts/node-tools.sh):$PATH"
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/tests/conformance"
dest="${NODE_TOOLS_DIR:-$root/.node}"
bin="$dest/node_modules/.bin"

command -v npm >/dev/null || { echo "node-tools: npm is required (any Node >= 18 bootstraps Node 22)" >&2; exit 1; }
mkdir -p "$dest"
stamp="$dest/.installed-lock.sha256"
want="$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$bin/node" ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "node-tools: installing Node 22 + MCP conformance suite + Inspector into $dest" >&2
  cp "$src/package.json" "$src/package-lock.json" "$dest/"
  # The `node` package installs its binary from a preinstall script; keep scripts enabled.
  (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error >&2)
  echo "$want" >"$stamp"
fi
"$bin/node" -e 'const [a,b]=process.versions.node.split(".").map(Number); if (a<22||(a===22&&b<19)) { console.error("node-tools: need Node >= 22.19, got "+process.version); process.exit(1) }' >&2
echo "$bin"
