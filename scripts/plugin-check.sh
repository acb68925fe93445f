#!/usr/bin/env bash
# Runs the built binary's `sandboxer plugin check` on every plugin that must pass it: the TestPlugin,
# the C plugin (Tests/Fixtures/CPlugin), the separate-package plugin (Tests/Fixtures/ExternalPlugin,
# skipped with SKIP_EXTERNAL=1: it is a nested swift build), and LocalVM when this runs as root with
# busybox-static. Exits non-zero if any rule of any plugin fails.
#
# Usage: scripts/plugin-check.sh [BUILD_DIR]   (default .build/debug; build it first with `swift build`)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
build=${1:-.build/debug}
bin=$build/sandboxer
for f in "$bin" "$build/libSandboxerTestPlugin.so" "$build/libSandboxerLocalVM.so"; do
    [ -e "$f" ] || { echo "plugin-check: $f is missing; run 'swift build' first" >&2; exit 2; }
done

# The loader refuses libraries in directories others can write: work in a private one.
work=$(mktemp -d /tmp/sandboxer-plugin-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0

check() {  # NAME LIBRARY [CONFIG_JSON]
    local name=$1 lib=$2 config=${3:-'{}'}
    echo "== $name: $lib" >&2
    if ! "$bin" plugin check "$lib" --config "$config"; then
        echo "plugin-check: $name FAILED" >&2
        status=1
    fi
}

install -m 0755 "$build/libSandboxerTestPlugin.so" "$work/"
mkdir -p "$work/test-state"
check TestPlugin "$work/libSandboxerTestPlugin.so" "{\"state_dir\": \"$work/test-state\"}"

if command -v cc >/dev/null; then
    cc -shared -fPIC -O2 -I Sources/PluginABI/include -o "$work/libcplugin.so" Tests/Fixtures/CPlugin/cplugin.c
    check CPlugin "$work/libcplugin.so"
else
    echo "plugin-check: skipping the C plugin: cc is not installed" >&2
fi

if [ "${SKIP_EXTERNAL:-0}" != 1 ]; then
    # Built against the header as it is now, as the HostTests do.
    cp -R Tests/Fixtures/ExternalPlugin "$work/ExternalPlugin"
    rm -rf "$work/ExternalPlugin/.build"
    cp Sources/PluginABI/include/sandboxer_plugin.h "$work/ExternalPlugin/Sources/CSandboxerABI/include/sandboxer_plugin.h"
    swift build -c release --package-path "$work/ExternalPlugin" --scratch-path "$work/external-build" >&2
    check ExternalPlugin "$work/external-build/release/libExternalPlugin.so"
else
    echo "plugin-check: skipping the external package plugin (SKIP_EXTERNAL=1)" >&2
fi

if [ "$(id -u)" -eq 0 ] && [ -x /bin/busybox ]; then
    install -m 0755 "$build/libSandboxerLocalVM.so" "$work/"
    check LocalVM "$work/libSandboxerLocalVM.so" "{\"data_dir\": \"$work/localvm\", \"cgroup_parent\": \"sbxcheck-$$\"}"
else
    echo "plugin-check: skipping LocalVM: needs root and busybox-static" >&2
fi

exit $status
