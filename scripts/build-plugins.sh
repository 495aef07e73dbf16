#!/usr/bin/env bash
# Build every guest plugin (plugins/Cargo.toml workspace) for wasm32-wasip2 and copy the
# components into a plugin directory.
#
#   scripts/build-plugins.sh [OUT_DIR]        (default: target/plugins)
#
# Bundled plugins (and the template) go to OUT_DIR; the hostile/version test plugins go to
# OUT_DIR/tests (never loaded by default), as does `conformance` (the MCP conformance fixtures,
# see tests/conformance/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-target/plugins}"
PROFILE="${PLUGIN_PROFILE:-release}"

if command -v rustup >/dev/null 2>&1; then
    rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2
fi

# Version-test WIT copies, regenerated from wit/ so they never drift: wit-1.0.0 (an
# incompatible major release) and wit-next (a hypothetical additive minor release, one new
# host function). Released versions themselves are frozen in wit/versions/<version>/.
H=plugins/tests-hostile
CUR="$(sed -n 's/^package ibkr:plugin@\([0-9.]*\);/\1/p' wit/plugin.wit)"
NEXT="${CUR%.*}.$(( ${CUR##*.} + 1 ))"
rm -rf "$H/wit-1.0.0" "$H/wit-0.1.1" "$H/wit-next"
mkdir -p "$H/wit-1.0.0" "$H/wit-next"
for f in wit/*.wit; do
    sed "s/^package ibkr:plugin@$CUR;/package ibkr:plugin@1.0.0;/" "$f" > "$H/wit-1.0.0/$(basename "$f")"
    sed -e "s/^package ibkr:plugin@$CUR;/package ibkr:plugin@$NEXT;/" \
        -e 's|^    config-keys: func() -> list<string>;|&\n    /// Added in the next minor release: host wall-clock time in ms.\n    now-ms: func() -> s64;|' \
        "$f" > "$H/wit-next/$(basename "$f")"
done
grep -q "package ibkr:plugin@1.0.0" "$H"/wit-1.0.0/*.wit
grep -q "package ibkr:plugin@$NEXT" "$H"/wit-next/*.wit
grep -q "now-ms" "$H"/wit-next/*.wit
# The current release must be frozen too.
diff -r -x versions wit "wit/versions/$CUR" >/dev/null || {
    echo "wit/ differs from wit/versions/$CUR: freeze the release (or bump the version)" >&2
    exit 1
}

cargo build --manifest-path plugins/Cargo.toml --target wasm32-wasip2 --profile "$PROFILE"

# cargo honours CARGO_TARGET_DIR for this workspace too.
SRC="${CARGO_TARGET_DIR:-plugins/target}/wasm32-wasip2/$PROFILE"
mkdir -p "$OUT" "$OUT/tests"
OUT="$(cd "$OUT" && pwd)"   # absolute: the Python build runs in its own directory
TESTS=" hostile sneaky wrong_version compat_minor compat_next conformance "
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
