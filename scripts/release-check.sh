#!/usr/bin/env bash
# The release build as it ships, checked like the debug one: built warning-free; the host and the
# LocalVM plugin carry the Swift runtime inside (no libswiftCore.so in their ldd, see Package.swift
# `staticSwiftRuntime`); `sandboxer plugin check` passes on every plugin loaded by the release host
# (plugins built against the shared runtime — TestPlugin, E2B, Modal, the separate-package plugin —
# then run beside the host's own copy); and the real-client suite passes against the release serve.
#
#   scripts/release-check.sh        (after `make test`'s deps; the Python venv comes from python-tests.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
./scripts/build-warning-free.sh --release
build=$(swift build -c release --show-bin-path)
for image in "$build/sandboxer" "$build/libSandboxerLocalVM.so"; do
    if ldd "$image" | grep -E 'libswiftCore|libFoundationEssentials' >&2; then
        echo "release-check: $image links the shared Swift runtime (listed above); it must carry its own." >&2
        exit 1
    fi
done
./scripts/plugin-check.sh "$build"
SANDBOXER_BUILD_DIR="$build" ./scripts/python-tests.sh
