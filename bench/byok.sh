#!/usr/bin/env bash
# bench/byok.sh — `sandboxer exec ID -- true` on a BYOK sandbox against plain ssh to the same host,
# measured in the same run, pushing the built node helper (sandboxer-node):
#
#   bench/byok.sh [N]      (default N=30; needs root, openssh-server, busybox-static and a build of
#                           sandboxer, SandboxerBYOK and sandboxer-node; exits 77 when it cannot run)
#
# Rows (median of N, milliseconds), reported through bench_row (bench/lib.sh):
#   ssh-fresh    `ssh host true` making a new connection each time (ControlPath=none)
#   ssh-master   `ssh host true` over an existing ControlMaster
#   sandboxer    `sandboxer exec ID -- true`: a whole CLI process (config, store, plugin load) using that
#                master, then the node helper's framed exec in the sandbox
#   (note)       `sandboxer show ID`: the CLI process alone, no plugin and no remote call
# Goal: sandboxer ≤ 1.5 × ssh-master (the fresh connection is the row's note).
set -euo pipefail
N=${1:-30}
cd "$(dirname "$0")/.."
. bench/lib.sh
export PATH=/opt/swift/usr/bin:$PATH
[ "$(id -u)" = 0 ] || { echo "bench/byok.sh needs root (network namespaces, the node helper's sandboxes)" >&2; exit 77; }
[ -x /usr/sbin/sshd ] || { echo "bench/byok.sh needs openssh-server" >&2; exit 77; }
[ -x /bin/busybox ] || { echo "bench/byok.sh needs busybox-static (the sandbox image)" >&2; exit 77; }
BUILD=${BUILD:-.build/debug}
BIN=$PWD/$BUILD/sandboxer
LIB=$PWD/$BUILD/libSandboxerBYOK.so
HELPER=$PWD/$BUILD/sandboxer-node
for f in "$BIN" "$LIB" "$HELPER"; do
    [ -e "$f" ] || { echo "bench/byok.sh: $f is missing (swift build --product sandboxer --product SandboxerBYOK --product sandboxer-node)" >&2; exit 77; }
done

TMP=$(mktemp -d /tmp/byok-bench.XXXXXX)
MASTER=
cleanup() {
    [ -n "$MASTER" ] && kill "$MASTER" 2>/dev/null || true
    scripts/byok-test-host.sh down "$TMP/host" || true
    rm -rf "$TMP"
}
trap cleanup EXIT
scripts/byok-test-host.sh up "$TMP/host"
# shellcheck disable=SC1091
. "$TMP/host/host.env"
cat > "$TMP/sandboxer.yaml" <<YAML
data_dir: $TMP/data
backends:
  byok:
    plugin: $LIB
    config:
      identity_file: $IDENTITY
      node_helper: $HELPER
      hosts:
        - name: h1
          address: $ADDRESS
          user: $USER_NAME
          host_key: "$HOST_KEY"
          node_dir: $NODE_DIR
profiles:
  default:
    backend: byok
YAML
export SANDBOXER_CONFIG=$TMP/sandboxer.yaml
"$BIN" create --json > "$TMP/created.json" || { echo "bench/byok.sh: create failed" >&2; exit 1; }
ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/created.json")
CFG=$TMP/data/backends/byok/byok/ssh/config
# A master that outlives the CLI processes, on the plugin's socket: both ssh-master and sandboxer use it.
# The CLI's own master died with it (pdeathsig) and left its socket file: clear it first.
rm -f "$(ssh -F "$CFG" -G byok-h1 | awk '$1 == "controlpath" {print $2}')"
ssh -F "$CFG" -M -N -T -o ControlMaster=yes byok-h1 &
MASTER=$!
until ssh -F "$CFG" -O check byok-h1 2>/dev/null; do :; done

median() {  # CMD...: the median wall time of N runs, in ms
    for _ in $(seq "$N"); do
        local t0=$EPOCHREALTIME
        "$@" >/dev/null 2>&1
        bench_ms_since "$t0" "$EPOCHREALTIME"
    done | bench_median
}
"$BIN" exec "$ID" -- true >/dev/null  # the first exec pushes nothing, but warms the page cache
fresh=$(median ssh -F "$CFG" -o ControlPath=none byok-h1 true)
master=$(median ssh -F "$CFG" byok-h1 true)
cli=$(median "$BIN" exec "$ID" -- true)
# What a CLI process costs before any remote work (config, store, no plugin): the part ssh never pays.
floor=$(median "$BIN" show "$ID")
"$BIN" destroy "$ID" >/dev/null
bench_row "byok: sandboxer exec ID -- true (CLI)" "$cli ms" "ssh over master $master ms" "$(bench_ratio "$cli" "$master")" "<=" 1.5 \
    "fresh ssh $fresh ms ($(bench_ratio "$cli" "$fresh")x); sandboxer show $floor ms"
