#!/usr/bin/env bash
# bench/cli-start.sh — what `sandboxer version` costs before it does any work, against programs
# compiled in the same run that bound it from below.
#
#   bench/cli-start.sh [N]      (default N=30; needs a C compiler and swiftc)
#
# Rows (median of N, milliseconds, process start to exit):
#   c           a C program printing one line: the cost of exec and a process on this machine.
#   swift       a Swift program printing one line (libswiftCore and its runtime start).
#   foundation  the same importing Foundation and reading the environment (libFoundation + ICU).
#   version     `sandboxer version` (release): no config, store or plugin is touched.
# The row is version / foundation: what the CLI adds above the start every Swift executable that
# links Foundation pays on this machine (the bound; see docs/performance.md). Goal: at most 1.3x.
set -euo pipefail
N=${1:-30}
cd "$(dirname "$0")/.."
. bench/lib.sh
command -v cc >/dev/null || { echo "needs a C compiler" >&2; exit 77; }
command -v swiftc >/dev/null || { echo "needs swiftc" >&2; exit 77; }

TMP=$(mktemp -d /tmp/cli-start.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
echo "building (release)..." >&2
swift build -c release --product sandboxer >&2
BIN=$(swift build -c release --show-bin-path)

printf '#include <stdio.h>\nint main(void) { puts("sandboxer 0"); return 0; }\n' > "$TMP/c.c"
cc -O2 -o "$TMP/c" "$TMP/c.c"
echo 'print("sandboxer 0")' > "$TMP/swift.swift"
swiftc -O -o "$TMP/swift" "$TMP/swift.swift" >&2
printf 'import Foundation\nprint(ProcessInfo.processInfo.environment.isEmpty ? "" : "sandboxer 0")\n' > "$TMP/foundation.swift"
swiftc -O -o "$TMP/foundation" "$TMP/foundation.swift" >&2

# time_median CMD...: median milliseconds of N runs (one warm-up first).
time_median() {
    "$@" >/dev/null
    for _ in $(seq "$N"); do
        local t0=$EPOCHREALTIME
        "$@" >/dev/null
        bench_ms_since "$t0" "$EPOCHREALTIME"
    done | bench_median
}
C=$(time_median "$TMP/c")
SWIFT=$(time_median "$TMP/swift")
FOUNDATION=$(time_median "$TMP/foundation")
VERSION=$(time_median "$BIN/sandboxer" version)

echo "cli start, N=$N, medians in ms: c $C, swift $SWIFT, swift+Foundation $FOUNDATION, sandboxer version $VERSION"
bench_row "sandboxer version (start to exit)" "$VERSION ms" "Foundation hello $FOUNDATION ms" \
    "$(bench_ratio "$VERSION" "$FOUNDATION")" "<=" 1.3 "C hello $C ms, Swift hello $SWIFT ms"
