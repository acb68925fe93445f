#!/usr/bin/env bash
# bench/localvm-ab.sh — interleaved A/B of two builds of the LocalVM plugin: create→ready and
# destroy through the C ABI, with the driver thread's own CPU time and run-queue wait per call.
#
#   bench/localvm-ab.sh A_DIR B_DIR [ROUNDS] [PER_ROUND]     (default 6 rounds of 5 cycles each)
#
# A_DIR and B_DIR each hold a libSandboxerLocalVM.so and its sandboxer-localvm-init (copy a build's
# two files into a directory to keep it). Each round runs one driver process per build, A then B,
# each with a warm-up cycle (builds the image) and PER_ROUND timed create+destroy cycles, so slow
# phases of this shared machine fall on both builds alike. Prints medians (ms) per build and the
# B/A ratio; it is a tool for attributing a change, not a `make bench` row (needs root, busybox-static).
set -euo pipefail
A=$1 B=$2 ROUNDS=${3:-6} PER=${4:-5}
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh
[ "$(id -u)" = 0 ] || { echo "bench/localvm-ab.sh needs root" >&2; exit 77; }
[ -x /bin/busybox ] || { echo "needs busybox-static (apt-get install busybox-static)" >&2; exit 77; }

TMP=$(mktemp -d /tmp/localvm-ab.XXXXXX)
chmod 755 "$TMP"
trap 'rm -rf "$TMP"' EXIT

cc -O2 -o "$TMP/driver" -I "$ROOT/Sources/PluginABI/include" bench/localvm-ab-driver.c -ldl

mkdir -m 755 "$TMP/a" "$TMP/b"
: > "$TMP/rows"
for _ in $(seq "$ROUNDS"); do
    "$TMP/driver" "$A/libSandboxerLocalVM.so" "$TMP/a" "$PER" A >> "$TMP/rows"
    "$TMP/driver" "$B/libSandboxerLocalVM.so" "$TMP/b" "$PER" B >> "$TMP/rows"
done

col() { awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$TMP/rows" | bench_median; }
echo "localvm A/B, $ROUNDS rounds x $PER cycles, N=$((ROUNDS * PER)) each, medians in ms (load $(cut -d' ' -f1 /proc/loadavg))"
printf '  %-3s %10s %10s %12s %12s %12s %12s\n' "" create destroy "create cpu" "create wait" "destroy cpu" "destroy wait"
for t in A B; do
    printf '  %-3s %10s %10s %12s %12s %12s %12s\n' "$t" "$(col $t 2)" "$(col $t 3)" "$(col $t 4)" "$(col $t 5)" "$(col $t 6)" "$(col $t 7)"
done
printf '  B/A create %s, destroy %s\n' "$(bench_ratio "$(col B 2)" "$(col A 2)")" "$(bench_ratio "$(col B 3)" "$(col A 3)")"
