#!/usr/bin/env bash
# Builds standalone binaries dist/nsqd (and dist/nsqlookupd once it exists) from src/cli/*.ts.
# This placeholder uses `bun build --compile` (works offline); the full script, with `deno compile`
# where a denort runtime is available, comes with the "Ship it" issue.
set -euo pipefail
cd "$(dirname "$0")"
BUN="${BUN_BIN:-node_modules/.bin/bun}"
mkdir -p dist
for entry in src/cli/nsqd.ts src/cli/nsqlookupd.ts; do
  [ -f "$entry" ] || continue
  name=$(basename "$entry" .ts)
  "$BUN" build --compile "$entry" --outfile "dist/$name"
  echo "built dist/$name with bun build --compile"
done
