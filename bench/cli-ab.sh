#!/usr/bin/env bash
# bench/cli-ab.sh — the CLI rows of issue 16 for two builds of `sandboxer`, in interleaved rounds, each
# against the bare-tool baseline measured in the same rounds:
#
#   create    `sandboxer create --json`, start to exit (sandbox ready)    vs bwrap --unshare-all start  (goal <= 3x)
#   exec      `sandboxer exec ID -- true`, start to exit                  vs nsenter -a -t INIT true    (goal <= 5x)
#   destroy   `sandboxer destroy ID` of a ready sandbox, start to exit   vs bwrap start                (goal <= 2x)
#   list      `sandboxer list` of a store with one live sandbox           (orientation, no goal)
#
# For before/after comparisons on a shared machine: round k runs A then B (then B then A in the next
# round), so load changes hit both alike. Both builds use the same LocalVM plugin (A's directory),
# unless CLI_AB_OWN_PLUGIN=1: then each runs next to its own directory's plugin and init (for a
# change in the plugin's part of a command, such as what a CLI does with the trash at exit).
#
#   bench/cli-ab.sh A_DIR B_DIR [N]    (dirs holding `sandboxer`; A_DIR also libSandboxerLocalVM.so and
#                                       sandboxer-localvm-init; default N=20; root, bubblewrap, nsenter,
#                                       busybox-static, python3)
set -euo pipefail
A=$(cd "$1" && pwd); B=$(cd "$2" && pwd); N=${3:-20}
cd "$(dirname "$0")/.."
. bench/lib.sh
[ "$(id -u)" = 0 ] || { echo "bench/cli-ab.sh needs root" >&2; exit 77; }
for tool in bwrap nsenter python3; do command -v $tool >/dev/null || { echo "cli-ab.sh needs $tool" >&2; exit 77; }; done

TMP=$(mktemp -d /tmp/cli-ab.XXXXXX)
chmod 755 "$TMP"
# B's sandboxer runs next to a copy of A's plugin (the plugin path resolves against the executable's
# directory). A copy, not a symlink: a plugin whose real path is outside the executable's directory
# runs in a plugin-runner process (PluginIsolation.default), which would cost B a second process start.
# A runs from a fresh copy too: B's copy, just written, sat in the page cache in a way that took
# fewer page faults (an exec 1,181 vs 1,223) than A's older file, which made this bench favour B by
# 10-15% (session 8: A against a copy of A; docs/performance.md "The CLI process (session 8)").
PLUGIN_DIR=$A; [ "${CLI_AB_OWN_PLUGIN:-0}" = 1 ] && PLUGIN_DIR=$B
mkdir "$TMP/a" "$TMP/b"
cp "$A/sandboxer" "$A/libSandboxerLocalVM.so" "$A/sandboxer-localvm-init" "$TMP/a/"
cp "$B/sandboxer" "$PLUGIN_DIR/libSandboxerLocalVM.so" "$PLUGIN_DIR/sandboxer-localvm-init" "$TMP/b/"
A_DIR=$A; A=$TMP/a
export SANDBOXER_HOME="$TMP/home"
mkdir -m 755 -p "$SANDBOXER_HOME"
cleanup() {
    "$A/sandboxer" list --json 2>/dev/null | python3 -c '
import json, sys
for s in json.load(sys.stdin): print(s["id"])' 2>/dev/null | while read -r id; do "$A/sandboxer" destroy "$id" >/dev/null 2>&1 || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
json_id() { python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'; }

# Warm-up: builds the busybox image, migrates the store, pages both binaries in.
for bin in "$A/sandboxer" "$TMP/b/sandboxer"; do id=$("$bin" create --json | json_id); "$bin" destroy "$id" >/dev/null; done
BASE=$(find "$SANDBOXER_HOME" -path '*/trash' -prune -o -type d -path '*/images/busybox/rootfs' -print -prune | head -n1)
keep=$("$A/sandboxer" create --json | json_id)
INIT=$("$A/sandboxer" show "$keep" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["info"]["init_pid"])')

# timed FILE CMD...: wall ms to FILE, and CPU ms (user + system of the command and the children it
# waited for) to FILE.cpu: on a loaded machine the wall time is mostly run-queue wait, CPU is the work.
TIMEFORMAT='%3U %3S'
timed() {
    local f=$1; shift
    local t0=$EPOCHREALTIME
    { time "$@" >"$TMP/out" 2>/dev/null; } 2>"$TMP/cpu"
    local t1=$EPOCHREALTIME
    bench_ms_since "$t0" "$t1" >> "$TMP/$f"
    awk '{ printf "%.3f\n", ($1 + $2) * 1000 }' "$TMP/cpu" >> "$TMP/$f.cpu"
}
# settle: waits (untimed) until the LocalVM trash is empty, so no command is timed while a detached
# remover of an earlier destroy still runs: with a shared data dir, a leftover entry would make the
# next command's plugin instance drain it (the base build waits for that drain at its end), charging
# one build for the other's removal. A bench poll, outside every timed region.
settle() {
    local trash="$SANDBOXER_HOME/backends/localvm/trash" i
    for i in $(seq 2000); do [ -z "$(ls -A "$trash" 2>/dev/null)" ] && return; sleep 0.005; done
    echo "cli-ab.sh: the trash did not empty: $(ls -A "$trash")" >&2; exit 1
}
one_round() { # $1 = a|b, $2 = binary
    local v=$1 bin=$2 id
    settle; timed "create.$v" "$bin" create --json; id=$(json_id < "$TMP/out")
    settle; timed "exec.$v" "$bin" exec "$keep" -- true
    settle; timed "list.$v" "$bin" list
    settle; timed "destroy.$v" "$bin" destroy "$id"
}
for i in $(seq "$N"); do
    settle
    timed bwrap bwrap --unshare-all --hostname bench --ro-bind "$BASE" / --proc /proc --dev /dev --tmpfs /tmp \
        --new-session --die-with-parent -- /bin/true
    timed nsenter nsenter -a -t "$INIT" true
    if [ $((i % 2)) = 1 ]; then one_round a "$A/sandboxer"; one_round b "$TMP/b/sandboxer"
    else one_round b "$TMP/b/sandboxer"; one_round a "$A/sandboxer"; fi
done
BW=$(bench_median < "$TMP/bwrap"); NS=$(bench_median < "$TMP/nsenter")
echo "N=$N, load $(cut -d' ' -f1 /proc/loadavg), medians in ms; bwrap $BW, nsenter $NS" >&2
for v in a b; do
    name=$([ $v = a ] && echo "A $A_DIR" || echo "B $B")
    echo "$name" >&2
    c=$(bench_median < "$TMP/create.$v"); e=$(bench_median < "$TMP/exec.$v")
    d=$(bench_median < "$TMP/destroy.$v"); l=$(bench_median < "$TMP/list.$v")
    bench_row "cli create ($v)" "$c ms" "bwrap $BW ms" "$(bench_ratio "$c" "$BW")" "<=" 3
    bench_row "cli exec ($v)" "$e ms" "nsenter $NS ms" "$(bench_ratio "$e" "$NS")" "<=" 5
    bench_row "cli destroy ($v)" "$d ms" "bwrap $BW ms" "$(bench_ratio "$d" "$BW")" "<=" 2
    bench_row "cli list ($v)" "$l ms" "bwrap $BW ms" "$(bench_ratio "$l" "$BW")" "<=" 1000 "orientation"
done
echo "CPU ms (user + system, median of N): command  A  B  B/A" >&2
for op in bwrap nsenter; do printf '  %-8s %8s\n' "$op" "$(bench_median < "$TMP/$op.cpu")" >&2; done
for op in create exec destroy list; do
    a=$(bench_median < "$TMP/$op.a.cpu"); b=$(bench_median < "$TMP/$op.b.cpu")
    printf '  %-8s %8s %8s %6s\n' "$op" "$a" "$b" "$(bench_ratio "$b" "$a")" >&2
done
