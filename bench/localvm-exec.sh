#!/usr/bin/env bash
# bench/localvm-exec.sh — what one whole-buffer `exec` of `true` costs through the LocalVM plugin's C
# ABI, against `nsenter -a -t INIT true` into the same sandbox, measured in interleaved rounds of
# the same run (bench/localvm-exec-driver.c does both from one process: dlopen of the release .so,
# one sandbox, then per round one plugin exec and one nsenter, alternating which goes first).
#
#   bench/localvm-exec.sh [N]       (default N=40; needs root, util-linux nsenter, busybox-static, cc)
#
# Row: "plugin exec vs nsenter" (median of N rounds, ms), goal <= 1.3x (issue 16's exec rows go
# through the CLI and HTTP on top of this; see bench/localvm-ops.sh).
# For profiling the plugin's path alone: keep the driver (KEEP=dir) and run
#   DIR/driver .build/release/libSandboxerLocalVM.so DATA N plugin
set -euo pipefail
N=${1:-40}
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh
[ "$(id -u)" = 0 ] || { echo "bench/localvm-exec.sh needs root" >&2; exit 77; }
command -v nsenter >/dev/null || { echo "localvm-exec.sh needs nsenter (apt-get install util-linux)" >&2; exit 77; }
command -v cc >/dev/null || { echo "localvm-exec.sh needs a C compiler" >&2; exit 77; }
[ -x /bin/busybox ] || { echo "localvm-exec.sh needs busybox-static (apt-get install busybox-static)" >&2; exit 77; }

echo "building (release)..." >&2
swift build -c release --product SandboxerLocalVM >&2
swift build -c release --product sandboxer-localvm-init >&2 # the C init, next to the plugin
BIN=$(swift build -c release --show-bin-path)

TMP=${KEEP:-$(mktemp -d /tmp/localvm-exec.XXXXXX)}
mkdir -p "$TMP"
chmod 755 "$TMP"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$TMP"' EXIT
cc -O2 -o "$TMP/driver" -I "$ROOT/Sources/PluginABI/include" bench/localvm-exec-driver.c -ldl
rm -rf "$TMP/data"
mkdir -m 755 "$TMP/data"
"$TMP/driver" "$BIN/libSandboxerLocalVM.so" "$TMP/data" "$N" ab > "$TMP/rounds.txt"

PLUGIN=$(awk '{ print $1 }' "$TMP/rounds.txt" | bench_median)
NSENTER=$(awk '{ print $2 }' "$TMP/rounds.txt" | bench_median)
echo "localvm exec bench, N=$N interleaved rounds, medians in ms (load $(cut -d' ' -f1 /proc/loadavg))"
printf '  nsenter -a -t INIT true             %8s\n' "$NSENTER"
printf '  plugin exec of true via the C ABI   %8s   %sx nsenter (goal <= 1.3x)\n' "$PLUGIN" "$(bench_ratio "$PLUGIN" "$NSENTER")"
bench_row "localvm plugin exec vs nsenter" "$PLUGIN ms" "nsenter $NSENTER ms" "$(bench_ratio "$PLUGIN" "$NSENTER")" "<=" 1.3
