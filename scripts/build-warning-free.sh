#!/usr/bin/env bash
# Builds every product and test target and fails when the compiler printed any warning: the build is
# warning-free, and a new warning fails CI (CI builds a fresh clone, so every file is compiled).
# A warm incremental build only recompiles what changed, so locally it checks the files you touched.
#   scripts/build-warning-free.sh [SWIFT BUILD ARGS]   debug: every product and test target
#   scripts/build-warning-free.sh --release            release: every product, as shipped (no tests:
#                                                      a test bundle links the shared Swift runtime)
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [ "${1:-}" = --release ]; then set -- -c release; else set -- --build-tests "$@"; fi
swift build "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || exit "$status"
if grep -E '(^|: )warning: ' "$log" >/dev/null; then
    echo "build-warning-free: the build printed warnings (listed above); the build must be warning-free." >&2
    grep -E '(^|: )warning: ' "$log" | sort -u >&2
    exit 1
fi
