#!/usr/bin/env bash
# bench/localvm-stream-ab.sh — interleaved A/B of two builds of the LocalVM plugin's streamed exec of
# `true` (bench/localvm-stream-driver.c: the calls the host's ExecStreamRun makes), each round against
# `nsenter -a -t INIT true` into the same sandbox, as bench/localvm-stream.sh measures its row.
#
#   bench/localvm-stream-ab.sh A_DIR B_DIR [PAIRS] [N]     (default 6 pairs of N = 20 rounds)
#
# A_DIR and B_DIR each hold a libSandboxerLocalVM.so and its sandboxer-localvm-init (the plugin runs
# the init next to it: PID 1 of the sandbox and helper A of each exec), root's and mode 755. Each
# pair runs one driver process per build, alternating which goes first, so slow phases of this shared
# machine fall on both builds alike. Prints medians (ms) per build, each against its own nsenter
# rounds, and B/A; a tool for attributing a change, not a `make bench` row (needs root, busybox-static).
set -euo pipefail
A=$1 B=$2 PAIRS=${3:-6} N=${4:-20}
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh
[ "$(id -u)" = 0 ] || { echo "bench/localvm-stream-ab.sh needs root" >&2; exit 77; }
command -v nsenter >/dev/null || { echo "needs nsenter (apt-get install util-linux)" >&2; exit 77; }
[ -x /bin/busybox ] || { echo "needs busybox-static (apt-get install busybox-static)" >&2; exit 77; }

TMP=$(mktemp -d /tmp/localvm-stream-ab.XXXXXX)
chmod 755 "$TMP"
trap 'rm -rf "$TMP"' EXIT
cc -O2 -o "$TMP/driver" -I "$ROOT/Sources/PluginABI/include" bench/localvm-stream-driver.c -ldl
mkdir -m 755 "$TMP/a" "$TMP/b"
: > "$TMP/rows"
run() { # tag dir data
    "$TMP/driver" "$2/libSandboxerLocalVM.so" "$3" "$N" ab | awk -v t="$1" '{ print t, $1, $2 }' >> "$TMP/rows"
}
for i in $(seq "$PAIRS"); do
    if [ $((i % 2)) = 1 ]; then run A "$A" "$TMP/a"; run B "$B" "$TMP/b"
    else run B "$B" "$TMP/b"; run A "$A" "$TMP/a"; fi
done

col() { awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$TMP/rows" | bench_median; }
echo "localvm streamed exec A/B, $PAIRS pairs x $N rounds, N=$((PAIRS * N)) each, medians in ms (load $(cut -d' ' -f1 /proc/loadavg))"
for t in A B; do
    printf '  %-3s exec %8s   nsenter %8s   %sx nsenter\n' "$t" "$(col $t 2)" "$(col $t 3)" "$(bench_ratio "$(col $t 2)" "$(col $t 3)")"
done
printf '  B/A exec %s\n' "$(bench_ratio "$(col B 2)" "$(col A 2)")"
