#!/usr/bin/env bash
# Build every guest plugin (plugins/Cargo.toml workspace) for wasm32-wasip2 and copy the
# components into a plugin directory.
#
#   scripts/build-plugins.sh [OUT_DIR]        (default: target/plugins)
#
# Bundled plugins (and the template) go to OUT_DIR; the hostile/version test plugins go to
# OUT_DIR/tests (never loaded by default).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-target/plugins}"
PROFILE="${PLUGIN_PROFILE:-release}"

if command -v rustup >/dev/null 2>&1; then
    rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
fi

# Version-test WIT copies, regenerated from wit/ so they never drift.
H=plugins/tests-hostile
rm -rf "$H/wit-1.0.0" "$H/wit-0.1.1"
mkdir -p "$H/wit-1.0.0" "$H/wit-0.1.1"
for f in wit/*.wit; do
    sed 's/^package ibkr:plugin@0\.1\.0;/package ibkr:plugin@1.0.0;/' "$f" > "$H/wit-1.0.0/$(basename "$f")"
    # 0.1.1: an additive minor release (one new host function).
    sed -e 's/^package ibkr:plugin@0\.1\.0;/package ibkr:plugin@0.1.1;/' \
        -e 's|^    config-keys: func() -> list<string>;|&\n    /// Added in 0.1.1: host wall-clock time in ms.\n    now-ms: func() -> s64;|' \
        "$f" > "$H/wit-0.1.1/$(basename "$f")"
done
grep -q "package ibkr:plugin@1.0.0" "$H"/wit-1.0.0/*.wit
grep -q "now-ms" "$H"/wit-0.1.1/*.wit

cargo build --manifest-path plugins/Cargo.toml --target wasm32-wasip2 --profile "$PROFILE"

SRC="plugins/target/wasm32-wasip2/$PROFILE"
mkdir -p "$OUT" "$OUT/tests"
TESTS=" hostile sneaky wrong_version compat_minor "
for wasm in "$SRC"/*.wasm; do
    name="$(basename "$wasm" .wasm)"
    if [[ "$TESTS" == *" $name "* ]]; then
        cp "$wasm" "$OUT/tests/$name.wasm"
    else
        cp "$wasm" "$OUT/$name.wasm"
    fi
done
# Second-language plugin: Python via componentize-py (PyPI); PY_PLUGIN=0 skips it.
if [ "${PY_PLUGIN:-1}" = 1 ]; then
    plugins/py-market-snapshot/build.sh "$OUT"
fi
echo "plugins in $OUT:"; ls -l "$OUT" "$OUT/tests" | grep wasm
