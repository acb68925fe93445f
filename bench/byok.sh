#!/usr/bin/env bash
# bench/byok.sh — `sandboxer exec ID -- true` on a BYOK sandbox against plain ssh to the same host,
# measured in the same run:
#
#   bench/byok.sh [N]      (default N=30; needs root, openssh-server, a debug or release build)
#
# Rows (median of N, milliseconds):
#   ssh-fresh    `ssh host true` making a new connection each time (ControlPath=none)
#   ssh-master   `ssh host true` over an existing ControlMaster
#   sandboxer    `sandboxer exec ID -- true`: a whole CLI process (config, store, plugin load) using that
#                master, then the node helper's framed exec in the sandbox
# Goal: sandboxer ≤ 1.5 × ssh-master.
set -euo pipefail
N=${1:-30}
cd "$(dirname "$0")/.."
export PATH=/opt/swift/usr/bin:$PATH
BUILD=${BUILD:-.build/debug}
BIN=$PWD/$BUILD/sandboxer
LIB=$PWD/$BUILD/libSandboxerBYOK.so
for f in "$BIN" "$LIB"; do [ -e "$f" ] || { echo "bench/byok.sh: $f is missing (swift build --product sandboxer --product SandboxerBYOK)" >&2; exit 1; }; done
# The built helper once it takes --label (the plugin sends labels), else the tests' stand-in.
HELPER=$PWD/$BUILD/sandboxer-node
if [ ! -x "$HELPER" ] || "$HELPER" --node-dir "/tmp/byok-probe-$$" create --id probe --image "$(printf '0%.0s' $(seq 64))" \
        --ttl-seconds 1 --label a=b 2>/dev/null | grep -q -- --label; then
    HELPER=$PWD/Tests/Fixtures/BYOKHosts/fake-sandboxer-node.py
fi
rm -rf "/tmp/byok-probe-$$"
echo "node helper: $HELPER" >&2

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
    local times=()
    for _ in $(seq "$N"); do
        local t0 t1
        t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
        times+=($(( (t1 - t0) / 1000 )))
    done
    printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]/1000}'
}
fresh=$(median ssh -F "$CFG" -o ControlPath=none byok-h1 true)
master=$(median ssh -F "$CFG" byok-h1 true)
cli=$(median "$BIN" exec "$ID" -- true)
if [ -n "${BYOK_BENCH_TRACE:-}" ]; then strace -f -tt -e trace=execve -o "$BYOK_BENCH_TRACE" "$BIN" exec "$ID" -- true; fi
"$BIN" destroy "$ID" >/dev/null
printf '%-12s %8s ms\n' ssh-fresh "$fresh" ssh-master "$master" sandboxer "$cli"
awk -v c="$cli" -v m="$master" -v f="$fresh" 'BEGIN {printf "sandboxer/ssh-master = %.2fx (goal <= 1.5x); sandboxer/ssh-fresh = %.2fx\n", c/m, c/f}'
