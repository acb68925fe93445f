#!/usr/bin/env bash
# Builds every product and test target and fails when the compiler printed any warning: the build is
# warning-free, and a new warning fails CI (CI builds a fresh clone, so every file is compiled).
# A warm incremental build only recompiles what changed, so locally it checks the files you touched.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift build --build-tests "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
[ "$status" -eq 0 ] || exit "$status"
if grep -E '(^|: )warning: ' "$log" >/dev/null; then
    echo "build-warning-free: the build printed warnings (listed above); the build must be warning-free." >&2
    grep -E '(^|: )warning: ' "$log" | sort -u >&2
    exit 1
fi
