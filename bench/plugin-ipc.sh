#!/usr/bin/env bash
# bench/plugin-ipc.sh — what running a plugin out of process (isolation: process) adds to each call:
# a no-op call (`describe` on the TestPlugin) in process and through a plugin runner, in one run.
#
#   bench/plugin-ipc.sh [CALLS]     (default 5000; CONFIG=debug to bench a debug build)
#
# One `sandboxer __plugin-ipc-bench` process loads the plugin twice: dlopen'ed (the baseline) and in
# a plugin runner child (framed JSON over a socketpair). Calls alternate in rounds of 100 so both
# see the same load; each figure is the median over rounds of the mean µs per call, with the host's
# usual deadline on every call (in process that means a thread per call, as the host does).
# Prints both, the µs added per call (goal: <= 100) and the ratio process / in_process.
set -euo pipefail
CALLS=${1:-5000}
CONFIG=${CONFIG:-release}
cd "$(dirname "$0")/.."

echo "building ($CONFIG)..." >&2
swift build -c "$CONFIG" --product sandboxer >&2
swift build -c "$CONFIG" --product SandboxerTestPlugin >&2
BIN=$(swift build -c "$CONFIG" --show-bin-path)

TMP=$(mktemp -d /tmp/plugin-ipc-bench.XXXXXX)
chmod 700 "$TMP"
trap 'rm -rf "$TMP"' EXIT
# The loader refuses group/world-writable files and directories: a private copy.
install -m 0755 "$BIN/libSandboxerTestPlugin.so" "$TMP/libSandboxerTestPlugin.so"
mkdir -m 700 "$TMP/state"

LINE=$("$BIN/sandboxer" __plugin-ipc-bench "$TMP/libSandboxerTestPlugin.so" "$TMP/state" "$CALLS")
echo "$LINE"
IN=$(sed -E 's/.*in_process_us=([0-9.]+).*/\1/' <<<"$LINE")
OUT=$(sed -E 's/.* process_us=([0-9.]+) .*/\1/' <<<"$LINE")
ADDED=$(sed -E 's/.*added_us=(-?[0-9.]+).*/\1/' <<<"$LINE")
RATIO=$(awk -v a="$OUT" -v b="$IN" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
printf '%-12s %10s\n' "in_process" "$IN us/call" "process" "$OUT us/call" "added" "$ADDED us/call (goal <= 100)" "ratio" "$RATIO (process / in_process)"
