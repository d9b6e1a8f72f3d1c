#!/usr/bin/env bash
# Builds the multi-call executable dist/nsq (src/cli/nsq.ts) and, next to it, a symbolic link named after each
# program (dist/nsqd -> nsq, dist/nsq_tail -> nsq, …): started through a link, nsq runs the program of that name;
# `dist/nsq <program> [flags]` works too. Symbolic, not hard links: the link name reaches the program as argv[0]
# either way, but a symlink shows what it is (ls -l), survives tar, rsync -a and Docker COPY of the directory as
# a link, and cannot silently turn into a 100 MB copy or drift from the binary after a rebuild.
#
#   ./compile.sh                      deno compile where a Deno runtime for compiling is available, else Bun
#   ./compile.sh --runtime=bun        bun build --compile
#   ./compile.sh --runtime=deno       deno compile (honours DENORT_BIN; needs a denort, downloaded or given)
#   ./compile.sh --target=TARGET      cross-compile: deno targets (x86_64-unknown-linux-gnu, aarch64-apple-darwin, …)
#                                     or bun targets (bun-linux-x64, bun-linux-arm64, bun-darwin-arm64, …)
#
# It says which runtime it used. The binaries need no runtime installed and run from any directory.
set -euo pipefail
cd "$(dirname "$0")"

runtime=""
target=""
for arg in "$@"; do
  case "$arg" in
    --runtime=*) runtime="${arg#--runtime=}" ;;
    --target=*) target="${arg#--target=}" ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "compile.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

DENO="${DENO_BIN:-node_modules/.bin/deno}"
BUN="${BUN_BIN:-node_modules/.bin/bun}"
[ -x "$DENO" ] || DENO="$(command -v deno || true)"
[ -x "$BUN" ] || BUN="$(command -v bun || true)"
# Every program of src/cli/programs.ts gets a link: one name per program, on one line.
PROGRAMS=(nsqd nsqlookupd nsqadmin nsq_tail to_nsq nsq_stat nsq_to_file nsq_to_http nsq_to_nsq)
mkdir -p dist

compile_deno() {
  "$DENO" compile -A --quiet ${target:+--target "$target"} --output dist/nsq src/cli/nsq.ts
}

# --bytecode: JavaScriptCore bytecode compiled at build time and shipped in the binary, so a fresh process
# does not parse and compile the code first (issue 20, bench/cold_start.ts: spawn -> first /ping 70 -> 31 ms,
# first IDENTIFY 2.9 -> 1.1 ms). --format=esm because the entry point uses top-level await.
compile_bun() {
  "$BUN" build --compile --bytecode --format=esm ${target:+--target="$target"} src/cli/nsq.ts --outfile dist/nsq >/dev/null
}

link_programs() {
  local name
  for name in "${PROGRAMS[@]}"; do
    rm -f "dist/$name"
    ln -s nsq "dist/$name"
  done
}

case "$runtime" in
  deno)
    [ -n "$DENO" ] || { echo "compile.sh: no deno found" >&2; exit 1; }
    compile_deno
    link_programs
    echo "built dist/nsq (+ links ${PROGRAMS[*]}) with deno compile (${target:-host target})"
    ;;
  bun)
    [ -n "$BUN" ] || { echo "compile.sh: no bun found" >&2; exit 1; }
    compile_bun
    link_programs
    echo "built dist/nsq (+ links ${PROGRAMS[*]}) with bun build --compile (${target:-host target})"
    ;;
  "")
    # deno compile needs a denort runtime (downloaded from Deno's CDN, or DENORT_BIN): try it first,
    # and fall back to Bun where it cannot be had.
    if [ -n "$DENO" ] && compile_deno 2>/dev/null; then
      link_programs
      echo "built dist/nsq (+ links ${PROGRAMS[*]}) with deno compile (${target:-host target})"
    elif [ -n "$BUN" ]; then
      echo "deno compile is not available here (no denort runtime); using bun build --compile" >&2
      compile_bun
      link_programs
      echo "built dist/nsq (+ links ${PROGRAMS[*]}) with bun build --compile (${target:-host target})"
    else
      echo "compile.sh: neither a working deno compile nor bun" >&2
      exit 1
    fi
    ;;
  *) echo "compile.sh: --runtime must be deno or bun" >&2; exit 2 ;;
esac
