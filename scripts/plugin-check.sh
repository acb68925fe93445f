#!/usr/bin/env bash
# Runs the built binary's `sandboxer plugin check` on every plugin that must pass it: the TestPlugin,
# the C plugin (Tests/Fixtures/CPlugin), the separate-package plugin (Tests/Fixtures/ExternalPlugin,
# skipped with SKIP_EXTERNAL=1: it is a nested swift build), and LocalVM when this runs as root with
# busybox-static, and the Packer builder when packer is installed. Exits non-zero if any rule of any plugin fails.
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
    # The C fixture uses the vendorable C helper (Sources/PluginABI/contrib), as a C author would.
    cc -shared -fPIC -O2 -fvisibility=hidden -I Sources/PluginABI/include -I Sources/PluginABI/contrib \
        -o "$work/libcplugin.so" Tests/Fixtures/CPlugin/cplugin.c Sources/PluginABI/contrib/sbx_helper.c
    check CPlugin "$work/libcplugin.so"
else
    echo "plugin-check: skipping the C plugin: cc is not installed" >&2
fi

if [ "${SKIP_EXTERNAL:-0}" != 1 ]; then
    # Built against the header as it is now, as the HostTests do.
    # -L: the fixture's header is a symlink to the real one; the copy gets the file itself.
    cp -RL Tests/Fixtures/ExternalPlugin "$work/ExternalPlugin"
    rm -rf "$work/ExternalPlugin/.build"
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

# E2B, against its stand-in (stdlib Python; its official-SDK proof is in scripts/standin-tests.sh).
if command -v python3 >/dev/null && [ -e "$build/libSandboxerE2B.so" ]; then
    python3 Tests/Fixtures/E2BStandIn/standin.py --api-port 0 --envd-port 0 --port-file "$work/e2b-ports.json" \
        --api-key e2b-check >"$work/e2b-standin.log" 2>&1 &
    e2b_standin=$!
    for _ in $(seq 1 300); do [ -s "$work/e2b-ports.json" ] && break; sleep 0.1; done
    if [ -s "$work/e2b-ports.json" ]; then
        read -r api envd < <(python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(p["api"], p["envd"])' "$work/e2b-ports.json")
        install -m 0755 "$build/libSandboxerE2B.so" "$work/"
        SANDBOXER_SECRET_E2B=e2b-check check E2B "$work/libSandboxerE2B.so" \
            "{\"api_url\": \"http://127.0.0.1:$api\", \"sandbox_url\": \"http://127.0.0.1:$envd\"}"
    else
        echo "plugin-check: the E2B stand-in did not start (log: $work/e2b-standin.log)" >&2
        status=1
    fi
    kill "$e2b_standin" 2>/dev/null || true
    wait "$e2b_standin" 2>/dev/null || true
else
    echo "plugin-check: skipping E2B: no python3 or no build" >&2
fi

# Modal, against its stand-in (proven by the official client in scripts/standin-tests.sh, which makes
# the venv). The port file is the ready handshake.
venv=.build/venv-modal/bin/python
if [ -x "$venv" ] && [ -e "$build/libSandboxerModal.so" ]; then
    "$venv" Tests/Fixtures/ModalStandIn/standin.py --port-file "$work/modal-ports.json" \
        --token-id ak-check --token-secret as-check >"$work/modal-standin.log" 2>&1 &
    standin=$!
    for _ in $(seq 1 300); do [ -s "$work/modal-ports.json" ] && break; sleep 0.1; done
    if [ -s "$work/modal-ports.json" ]; then
        api=$("$venv" -c 'import json,sys; print(json.load(open(sys.argv[1]))["api"])' "$work/modal-ports.json")
        install -m 0755 "$build/libSandboxerModal.so" "$work/"
        SANDBOXER_SECRET_MODAL_TOKEN_ID=ak-check SANDBOXER_SECRET_MODAL_TOKEN_SECRET=as-check \
            check Modal "$work/libSandboxerModal.so" "{\"server_url\": \"http://127.0.0.1:$api\", \"data_dir\": \"$work/modal\"}"
    else
        echo "plugin-check: the Modal stand-in did not start (log: $work/modal-standin.log)" >&2
        status=1
    fi
    kill "$standin" 2>/dev/null || true
    wait "$standin" 2>/dev/null || true
else
    echo "plugin-check: skipping Modal: no stand-in venv (scripts/standin-tests.sh makes it) or no build" >&2
fi

# fin-hub, against a real hub: a second `sandboxer serve` on loopback with LocalVM behind it (the check
# snapshots, which the fake backend cannot), reached with a consumer token.
if [ "$(id -u)" -eq 0 ] && [ -x /bin/busybox ] && [ -e "$build/libSandboxerFinHub.so" ]; then
    hub=$work/hub
    mkdir -p "$hub"
    token=hub-consumer-$$-$RANDOM
    sha=$(printf '%s' "$token" | "$bin" token-hash)
    cat > "$hub/hub.yaml" <<YAML
data_dir: $hub/data
backends:
  localvm:
    plugin: $(cd "$build" && pwd)/libSandboxerLocalVM.so
    config:
      cgroup_parent: sbxhub-$$
profiles:
  default:
    backend: localvm
    consumer: "*"
server:
  tokens:
    - {name: check, role: consumer, sha256: $sha}
YAML
    SANDBOXER_CONFIG=$hub/hub.yaml "$bin" serve --listen 127.0.0.1:0 --json >"$hub/ready.json" 2>"$hub/serve.log" &
    hub_pid=$!
    for _ in $(seq 1 300); do [ -s "$hub/ready.json" ] && break; sleep 0.1; done
    listen=$(sed -n 's/.*"listen" *: *"\([^"]*\)".*/\1/p' "$hub/ready.json" | head -n1)
    if [ -n "$listen" ]; then
        install -m 0755 "$build/libSandboxerFinHub.so" "$work/"
        SANDBOXER_SECRET_FINHUB_TOKEN=$token check FinHub "$work/libSandboxerFinHub.so" \
            "{\"url\": \"http://$listen\", \"token_secret\": \"finhub-token\"}"
    else
        echo "plugin-check: the hub did not start (log: $hub/serve.log)" >&2
        status=1
    fi
    kill "$hub_pid" 2>/dev/null || true
    wait "$hub_pid" 2>/dev/null || true
else
    echo "plugin-check: skipping fin-hub: needs root, busybox-static (its hub runs LocalVM) and the build" >&2
fi

# Packer (a builder only): the example template builds a rootfs, a template that sleeps is cancelled.
if command -v packer >/dev/null && [ -x /bin/busybox ] && [ -e "$build/libSandboxerPacker.so" ]; then
    install -m 0755 "$build/libSandboxerPacker.so" "$work/"
    echo "== Packer: $work/libSandboxerPacker.so" >&2
    if ! "$bin" plugin check "$work/libSandboxerPacker.so" --config "{\"data_dir\": \"$work/packer\"}" \
            --build-template docs/examples/images/busybox-marker/template.json \
            --build-cancel-template Tests/Fixtures/Packer/runs-until-cancelled.json; then
        echo "plugin-check: Packer FAILED" >&2
        status=1
    fi
else
    echo "plugin-check: skipping Packer: needs packer, busybox-static and the build" >&2
fi

# BYOK, against one sshd host in a network namespace (scripts/byok-test-host.sh), pushing the built
# sandboxer-node.
if [ "$(id -u)" -eq 0 ] && [ -x /usr/sbin/sshd ] && [ -e "$build/libSandboxerBYOK.so" ] && [ -x "$build/sandboxer-node" ]; then
    scripts/byok-test-host.sh up "$work/byok-host"
    # shellcheck disable=SC1091
    (. "$work/byok-host/host.env"
     helper=$(cd "$build" && pwd)/sandboxer-node
     install -m 0755 "$build/libSandboxerBYOK.so" "$work/"
     check BYOK "$work/libSandboxerBYOK.so" "{\"data_dir\": \"$work/byok\", \"identity_file\": \"$IDENTITY\", \"node_helper\": \"$helper\", \"hosts\": [{\"name\": \"h1\", \"address\": \"$ADDRESS\", \"user\": \"$USER_NAME\", \"host_key\": \"$HOST_KEY\", \"node_dir\": \"$NODE_DIR\"}]}"
     exit $status) || status=1
    scripts/byok-test-host.sh down "$work/byok-host"
else
    echo "plugin-check: skipping BYOK: needs root, openssh-server and the build (libSandboxerBYOK.so, sandboxer-node)" >&2
fi

exit $status
