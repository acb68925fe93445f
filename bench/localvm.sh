#!/usr/bin/env bash
# bench/localvm.sh — how fast a LocalVM sandbox is ready, against a bare bubblewrap start of the
# same rootfs measured in the same run.
#
#   bench/localvm.sh [N]        (default N=20; needs root, bubblewrap, busybox-static, a C compiler)
#
# Rows (median of N, milliseconds):
#   bwrap     bwrap --unshare-all of the busybox rootfs running /bin/true, to exit. bwrap 0.8 (Debian 12)
#             has no --overlay, so the closest is a read-only bind of the rootfs plus a tmpfs /tmp:
#             no overlay to mount, which favours the baseline. Measured interleaved with each row
#             (one bwrap run per cycle), so both sides meet the same load on this shared machine.
#   plugin    the LocalVM plugin's create through the C ABI (dlopen of the release .so): sandbox
#             ready (init exec'd and its signal traps set). Each create starts once the previous
#             sandbox's directory is removed (see trash), never racing that removal.
#   destroy   the plugin's destroy of that ready sandbox through the C ABI, to its answer (the
#             directory's removal runs after the answer, in the plugin's background trash thread).
#   trash     (printed, not a row) that background removal, from destroy's answer until the trash is empty.
#             Goal: at most 2x bwrap (issue 16's destroy row, without the CLI's start).
#   cli       `sandboxer create --profile default --json`, process start to exit (ready);
#             destroy follows, not timed. Skipped when the CLI cannot create yet.
# Goal: cli at most 3x bwrap.
set -euo pipefail
N=${1:-20}
cd "$(dirname "$0")/.."
ROOT=$PWD

. bench/lib.sh
[ "$(id -u)" = 0 ] || { echo "bench/localvm.sh needs root" >&2; exit 77; }
command -v bwrap >/dev/null || { echo "needs bubblewrap (apt-get install bubblewrap)" >&2; exit 77; }
[ -x /bin/busybox ] || { echo "needs busybox-static (apt-get install busybox-static)" >&2; exit 77; }

TMP=$(mktemp -d /tmp/localvm-bench.XXXXXX)
chmod 755 "$TMP"
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT

echo "building (release)..." >&2
swift build -c release --product SandboxerLocalVM >&2
swift build -c release --product sandboxer-localvm-init >&2 # the C init, next to the plugin
swift build -c release --product sandboxer >&2 || echo "(the sandboxer CLI did not build; its row is skipped)" >&2
BIN=$(swift build -c release --show-bin-path)

# The driver loads the plugin through the ABI, like the host does, and runs the bwrap baseline
# interleaved with the plugin's cycles (bench/localvm-driver.c says why).
cc -O2 -o "$TMP/driver" -I "$ROOT/Sources/PluginABI/include" bench/localvm-driver.c -ldl

median() { bench_median; }
ms_since() { bench_ms_since "$@"; }

mkdir -m 755 "$TMP/data"
BASE="$TMP/data/images/busybox/rootfs" # built by the driver's warm-up create
"$TMP/driver" "$BIN/libSandboxerLocalVM.so" "$TMP/data" "$N" "$BASE" > "$TMP/plugin.txt"
PLUGIN=$(awk '{ print $1 }' "$TMP/plugin.txt" | median)
DESTROY=$(awk '{ print $2 }' "$TMP/plugin.txt" | median)
TRASH=$(awk '{ print $3 }' "$TMP/plugin.txt" | median)
BWRAP=$(awk '{ print $4 }' "$TMP/plugin.txt" | median)

json_id() { python3 -c 'import json,sys
try: print(json.load(sys.stdin)["id"])
except Exception: pass'; }

CLI=""
if [ -x "$BIN/sandboxer" ]; then
    export SANDBOXER_HOME="$TMP/home"
    mkdir -m 755 -p "$SANDBOXER_HOME"
    : > "$TMP/cli.txt"
    out=$("$BIN/sandboxer" create --profile default --json 2>"$TMP/cli.err") || true
    id=$(printf '%s' "$out" | json_id)
    if [ -n "$id" ]; then
        "$BIN/sandboxer" destroy "$id" >/dev/null
        : > "$TMP/cli-bwrap.txt"
        for _ in $(seq "$N"); do
            t0=$EPOCHREALTIME
            out=$("$BIN/sandboxer" create --profile default --json)
            t1=$EPOCHREALTIME
            ms_since "$t0" "$t1" >> "$TMP/cli.txt"
            id=$(printf '%s' "$out" | json_id)
            [ -n "$id" ] || { echo "sandboxer create printed no id: $out" >&2; exit 1; }
            "$BIN/sandboxer" destroy "$id" >/dev/null
            # The CLI row's own baseline, interleaved with it (as the driver does for the plugin).
            t0=$EPOCHREALTIME
            bwrap --unshare-all --hostname bench --ro-bind "$BASE" / --proc /proc --dev /dev --tmpfs /tmp \
                --new-session --die-with-parent -- /bin/true
            t1=$EPOCHREALTIME
            ms_since "$t0" "$t1" >> "$TMP/cli-bwrap.txt"
        done
        CLI=$(median < "$TMP/cli.txt")
        CLI_BWRAP=$(median < "$TMP/cli-bwrap.txt")
    else
        echo "(sandboxer create gave no JSON id, cli row skipped: $(printf '%s' "$out" | head -c 200) $(head -c 200 "$TMP/cli.err"))" >&2
    fi
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "localvm bench, N=$N, medians in ms (load $(cut -d' ' -f1 /proc/loadavg))"
printf '  bwrap  (ro-bind rootfs, /bin/true to exit)  %8s   (interleaved with the plugin cycles)\n' "$BWRAP"
printf '  plugin (create via C ABI, to ready)         %8s   %sx bwrap\n' "$PLUGIN" "$(ratio "$PLUGIN" "$BWRAP")"
printf '  plugin (destroy via C ABI, to its answer)   %8s   %sx bwrap\n' "$DESTROY" "$(ratio "$DESTROY" "$BWRAP")"
printf '  plugin (trash removal after the answer)     %8s   (background; not in either row)\n' "$TRASH"
if [ -n "$CLI" ]; then
    printf '  bwrap  (interleaved with the CLI)           %8s\n' "$CLI_BWRAP"
    printf '  cli    (sandboxer create --json, to exit)   %8s   %sx bwrap  (goal <= 3x)\n' "$CLI" "$(ratio "$CLI" "$CLI_BWRAP")"
else
    echo "  cli    not measured (the sandboxer CLI cannot create yet)"
fi
bench_row "localvm create→ready via the C ABI" "$PLUGIN ms" "bwrap $BWRAP ms" "$(ratio "$PLUGIN" "$BWRAP")" "<=" 1.0
bench_row "localvm destroy via the C ABI" "$DESTROY ms" "bwrap $BWRAP ms" "$(ratio "$DESTROY" "$BWRAP")" "<=" 2
if [ -n "$CLI" ]; then
    bench_row "sandboxer create (CLI, start to exit)" "$CLI ms" "bwrap $CLI_BWRAP ms" "$(ratio "$CLI" "$CLI_BWRAP")" "<=" 3
fi
