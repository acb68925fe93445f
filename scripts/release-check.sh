#!/usr/bin/env bash
# The release build as it ships, checked like the debug one: built warning-free; the host and the
# shipped plugins carry the Swift runtime inside (no libswiftCore.so in their ldd, see Package.swift
# `staticSwiftRuntime`) and GCC's C++ runtime (link/), and the host SQLite (`sqliteLinkage`); `sandboxer plugin check` passes on every plugin loaded by the release host
# (the separate-package plugin, built against the shared runtime, then runs beside the host's own
# copy); and the real-client suite passes against the release serve.
#
#   scripts/release-check.sh        (after `make test`'s deps; the Python venv comes from python-tests.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
./scripts/build-warning-free.sh --release
build=$(swift build -c release --show-bin-path)
for image in sandboxer libSandboxerLocalVM.so libSandboxerE2B.so libSandboxerModal.so libSandboxerFinHub.so \
             libSandboxerBYOK.so libSandboxerPacker.so libSandboxerTestPlugin.so; do
    if ldd "$build/$image" | grep -E 'libswift|libFoundation|libicu' >&2; then
        echo "release-check: $image links the shared Swift runtime (listed above); it must carry its own." >&2
        exit 1
    fi
    # The C++ runtime and the unwinder come from GCC's archives (link/, Package.swift `staticSwiftRuntime`).
    if ldd "$build/$image" | grep -E 'libstdc\+\+|libgcc_s' >&2; then
        echo "release-check: $image links libstdc++.so or libgcc_s.so (listed above); link/ should have replaced them." >&2
        exit 1
    fi
    if ! readelf -d "$build/$image" | grep -q '(RELR)'; then
        echo "release-check: $image has no packed relative relocations (-z pack-relative-relocs)." >&2
        exit 1
    fi
done
# The host takes SQLite from the static archive in release (Package.swift `sqliteLinkage`).
if ldd "$build/sandboxer" | grep libsqlite3 >&2; then
    echo "release-check: the release sandboxer links libsqlite3.so (listed above); it must carry SQLite inside." >&2
    exit 1
fi
# plugin-check.sh builds the separate-package plugin (Tests/Fixtures/ExternalPlugin) as a third party
# would, on the shared runtime: its check below proves such a plugin runs beside the host's own copy.
SKIP_EXTERNAL=0 ./scripts/plugin-check.sh "$build"
SANDBOXER_BUILD_DIR="$build" ./scripts/python-tests.sh
