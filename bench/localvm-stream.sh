#!/usr/bin/env bash
# bench/localvm-stream.sh — what one streamed `exec` of `true` (sandboxer.exec-stream/1: exec_start,
# exec_read of both streams, exec_wait, exec_release, called as the host's ExecStreamRun calls them)
# costs through the LocalVM plugin's C ABI, against `nsenter -a -t INIT true` into the same sandbox,
# in interleaved rounds of the same run (bench/localvm-stream-driver.c does both from one process).
# This is the plugin's share of `sandboxer exec ID -- true` (the CLI and HTTP exec go this way).
#
#   bench/localvm-stream.sh [N]     (default N=40; needs root, util-linux nsenter, busybox-static, cc)
#
# Row: "localvm plugin streamed exec vs nsenter" (median of N rounds, ms), goal <= 1.3x (as the
# whole-buffer row of bench/localvm-exec.sh).
# For profiling the plugin's path alone: keep the driver (KEEP=dir) and run
#   DIR/driver .build/release/libSandboxerLocalVM.so DATA N plugin
set -euo pipefail
N=${1:-40}
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh
[ "$(id -u)" = 0 ] || { echo "bench/localvm-stream.sh needs root" >&2; exit 77; }
command -v nsenter >/dev/null || { echo "localvm-stream.sh needs nsenter (apt-get install util-linux)" >&2; exit 77; }
command -v cc >/dev/null || { echo "localvm-stream.sh needs a C compiler" >&2; exit 77; }
[ -x /bin/busybox ] || { echo "localvm-stream.sh needs busybox-static (apt-get install busybox-static)" >&2; exit 77; }

echo "building (release)..." >&2
swift build -c release --product SandboxerLocalVM >&2
swift build -c release --product sandboxer-localvm-init >&2 # the C init, next to the plugin
BIN=$(swift build -c release --show-bin-path)

TMP=${KEEP:-$(mktemp -d /tmp/localvm-stream.XXXXXX)}
mkdir -p "$TMP"
chmod 755 "$TMP"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$TMP"' EXIT
cc -O2 -o "$TMP/driver" -I "$ROOT/Sources/PluginABI/include" bench/localvm-stream-driver.c -ldl
rm -rf "$TMP/data"
mkdir -m 755 "$TMP/data"
"$TMP/driver" "$BIN/libSandboxerLocalVM.so" "$TMP/data" "$N" ab > "$TMP/rounds.txt"

PLUGIN=$(awk '{ print $1 }' "$TMP/rounds.txt" | bench_median)
NSENTER=$(awk '{ print $2 }' "$TMP/rounds.txt" | bench_median)
echo "localvm streamed exec bench, N=$N interleaved rounds, medians in ms (load $(cut -d' ' -f1 /proc/loadavg))"
printf '  nsenter -a -t INIT true             %8s\n' "$NSENTER"
printf '  streamed exec of true via the C ABI %8s   %sx nsenter (goal <= 1.3x)\n' "$PLUGIN" "$(bench_ratio "$PLUGIN" "$NSENTER")"
bench_row "localvm plugin streamed exec vs nsenter" "$PLUGIN ms" "nsenter $NSENTER ms" "$(bench_ratio "$PLUGIN" "$NSENTER")" "<=" 1.3
