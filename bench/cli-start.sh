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
#   essentials  the same importing only FoundationEssentials (what the CLI links since lean-cli).
#   essentials-static  the same with the Swift runtime and FoundationEssentials linked in, as the
#               release `sandboxer` is since session 7 (Package.swift `staticSwiftRuntime`).
#   version     `sandboxer version` (release): no config, store or plugin is touched.
# Two rows: version / foundation (kept for orientation: the bound before the CLI dropped Foundation;
# goal at most 1.3x), and version / essentials-static, the row issue 16 cares about now: what the CLI
# adds above the start of a Swift executable linking what it links, the same way (see docs/performance.md).
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
printf 'import FoundationEssentials\nprint(ProcessInfo.processInfo.environment.isEmpty ? "" : "sandboxer 0")\n' > "$TMP/essentials.swift"
swiftc -O -o "$TMP/essentials" "$TMP/essentials.swift" >&2
swiftc -O -static-stdlib -use-ld=lld -l_FoundationCollections -l_FoundationCShims \
    -o "$TMP/essentials-static" "$TMP/essentials.swift" >&2

# Interleaved rounds: each round runs every program once, so load that comes and goes on this
# shared machine falls on all rows alike (one warm-up each first). time_ms NAME CMD... appends one.
time_ms() {
    local name=$1; shift
    local t0=$EPOCHREALTIME
    "$@" >/dev/null
    bench_ms_since "$t0" "$EPOCHREALTIME" >> "$TMP/$name.ms"
}
for run in warm $(seq "$N"); do
    time_ms c "$TMP/c"
    time_ms swift "$TMP/swift"
    time_ms foundation "$TMP/foundation"
    time_ms essentials "$TMP/essentials"
    time_ms essentials-static "$TMP/essentials-static"
    time_ms version "$BIN/sandboxer" version
    if [ "$run" = warm ]; then rm -f "$TMP"/*.ms; fi
done
C=$(bench_median < "$TMP/c.ms")
SWIFT=$(bench_median < "$TMP/swift.ms")
FOUNDATION=$(bench_median < "$TMP/foundation.ms")
ESSENTIALS=$(bench_median < "$TMP/essentials.ms")
STATIC=$(bench_median < "$TMP/essentials-static.ms")
VERSION=$(bench_median < "$TMP/version.ms")

echo "cli start, N=$N, medians in ms: c $C, swift $SWIFT, swift+Foundation $FOUNDATION, swift+FoundationEssentials $ESSENTIALS (linked in: $STATIC), sandboxer version $VERSION"
bench_row "sandboxer version (start to exit)" "$VERSION ms" "Foundation hello $FOUNDATION ms" \
    "$(bench_ratio "$VERSION" "$FOUNDATION")" "<=" 1.3 "C hello $C ms, Swift hello $SWIFT ms"
bench_row "sandboxer version vs Essentials hello" "$VERSION ms" "Essentials hello (linked in) $STATIC ms" \
    "$(bench_ratio "$VERSION" "$STATIC")" "<=" 1.3 "runtime and FoundationEssentials linked in, as the hello; shared-runtime hello $ESSENTIALS ms"
