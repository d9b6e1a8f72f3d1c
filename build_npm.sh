#!/usr/bin/env bash
# Builds the npm package's contents into lib/: mod.ts and every module it reaches, compiled by tsc
# (tsconfig.npm.json) to ES modules plus .d.ts. `npm pack` / `npm publish` run it first (prepack).
#
#   ./build_npm.sh        uses node_modules/.bin/tsc (or TSC_BIN) and node_modules/.bin/deno (or DENO_BIN)
set -euo pipefail
cd "$(dirname "$0")"

TSC="${TSC_BIN:-node_modules/.bin/tsc}"
DENO="${DENO_BIN:-node_modules/.bin/deno}"
[ -x "$TSC" ] || { echo "build_npm.sh: no tsc at $TSC (npm install, or set TSC_BIN)" >&2; exit 1; }
[ -x "$DENO" ] || { echo "build_npm.sh: no deno at $DENO (npm install, or set DENO_BIN)" >&2; exit 1; }

rm -rf lib
mkdir -p lib/.types
# tsc knows Node's types (@types/node) but not Deno's: the platform shim for Deno uses Deno.*.
"$DENO" types >lib/.types/deno.d.ts
"$TSC" -p tsconfig.npm.json >&2 # (npm pack --json keeps stdout for its JSON)
rm -rf lib/.types
echo "built lib/ with $("$TSC" --version)" >&2
