#!/usr/bin/env bash
# bench/http-post-ab.sh — the warm POST rows (create → 201, exec of `true` → 200, one keep-alive
# connection, LocalVM) for two builds of `sandboxer serve` side by side: rounds interleave build A,
# build B and the baselines (bwrap start, `nsenter -a` into a sandbox's init), so a before/after is
# measured under the same load (A is printed as "base", B as "new"). Ends with each serve's own handler time (access-log duration_ms,
# request complete → response ready), to split what HTTP adds from what the handler does.
#
#   bench/http-post-ab.sh BIN_DIR_A BIN_DIR_B [N] [ROUNDS]    (default N=10, ROUNDS=2)
#
# Each BIN_DIR holds `sandboxer`, `libSandboxerLocalVM.so` and `sandboxer-localvm-init` (a release
# build's bin path, or a copy of one). Needs root, bubblewrap, util-linux nsenter, busybox-static, python3.
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,12p "$0" >&2; exit 2; }
A=$(cd "$1" && pwd); B=$(cd "$2" && pwd); N=${3:-10}; ROUNDS=${4:-2}
cd "$(dirname "$0")/.."
. bench/lib.sh
[ "$(id -u)" = 0 ] || { echo "bench/http-post-ab.sh needs root" >&2; exit 77; }
for tool in bwrap nsenter python3; do command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 77; }; done
declare -A DIR=([base]=$A [new]=$B)
TMP=$(mktemp -d /tmp/http-post-ab.XXXXXX); chmod 755 "$TMP"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for v in base new; do H="$TMP/home-$v"; [ -d "$H" ] || continue
    SANDBOXER_HOME="$H" ${DIR[$v]}/sandboxer list --json 2>/dev/null | python3 -c 'import json,sys
for s in json.load(sys.stdin): print(s["id"])' | while read -r id; do SANDBOXER_HOME="$H" ${DIR[$v]}/sandboxer destroy "$id" >/dev/null 2>&1 || true; done; done
  rm -rf "$TMP"; }
trap cleanup EXIT
for v in base new; do
  export SANDBOXER_HOME="$TMP/home-$v"; mkdir -m 755 -p "$SANDBOXER_HOME"
  B=${DIR[$v]}/sandboxer
  id=$($B create --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  echo "$id" > "$TMP/id-$v"
  mkfifo "$TMP/ready-$v"
  $B serve --listen 127.0.0.1:0 --json > "$TMP/ready-$v" 2> "$TMP/serve-$v.log" &
  PIDS+=($!)
  exec {fd}<"$TMP/ready-$v"; listen=""
  while [ -z "$listen" ] && IFS= read -r line <&$fd; do [[ "$line" =~ \"listen\"[[:space:]]*:[[:space:]]*\"([^\"]+)\" ]] && listen=${BASH_REMATCH[1]}; done
  echo "$listen" > "$TMP/listen-$v"
done
BASE=$(find "$TMP/home-new" -path '*/trash' -prune -o -type d -path '*/images/busybox/rootfs' -print -prune | head -n1)
INIT=$(SANDBOXER_HOME="$TMP/home-new" ${DIR[new]}/sandboxer show "$(cat $TMP/id-new)" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["info"]["init_pid"])')
for r in $(seq "$ROUNDS"); do
  : > "$TMP/bwrap.txt"; : > "$TMP/ns.txt"
  for _ in $(seq "$N"); do
    t0=$EPOCHREALTIME; bwrap --unshare-all --hostname bench --ro-bind "$BASE" / --proc /proc --dev /dev --tmpfs /tmp --new-session --die-with-parent -- /bin/true; t1=$EPOCHREALTIME
    bench_ms_since "$t0" "$t1" >> "$TMP/bwrap.txt"
    t0=$EPOCHREALTIME; nsenter -a -t "$INIT" true; t1=$EPOCHREALTIME; bench_ms_since "$t0" "$t1" >> "$TMP/ns.txt"
  done
  echo "round $r $(date -u +%T) load $(cut -d' ' -f1 /proc/loadavg): bwrap $(bench_median < $TMP/bwrap.txt) ms, nsenter $(bench_median < $TMP/ns.txt) ms"
  for v in base new; do
    python3 - "$(cat $TMP/listen-$v)" "$N" "$(cat $TMP/id-$v)" "$v" <<'PYTHON'
import http.client, json, statistics, sys, time
host, port = sys.argv[1].rsplit(":", 1)
n, sid, tag = int(sys.argv[2]), sys.argv[3], sys.argv[4]
conn = http.client.HTTPConnection(host, int(port), timeout=60)
def call(method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers={"Content-Type": "application/json"})
    resp = conn.getresponse(); data = resp.read(); return resp.status, data
def timed(method, path, body, want):
    t0 = time.perf_counter(); status, data = call(method, path, body); ms = (time.perf_counter() - t0) * 1000
    assert status == want, (status, data[:200]); return ms, data
for _ in range(2):
    _, data = timed("POST", "/v1/sandboxes", {}, 201); call("DELETE", "/v1/sandboxes/" + json.loads(data)["id"])
    timed("POST", f"/v1/sandboxes/{sid}/exec", {"argv": ["true"]}, 200)
creates, execs = [], []
for _ in range(n):
    ms, data = timed("POST", "/v1/sandboxes", {}, 201); creates.append(ms)
    call("DELETE", "/v1/sandboxes/" + json.loads(data)["id"])
    ms, _ = timed("POST", f"/v1/sandboxes/{sid}/exec", {"argv": ["true"]}, 200); execs.append(ms)
print(f"  {tag}: http create {statistics.median(creates):.2f} ms, http exec {statistics.median(execs):.2f} ms")
PYTHON
  done
done
for v in base new; do
  echo "$v access log (server-side duration_ms medians):"
  python3 - "$TMP/serve-$v.log" <<'PYTHON'
import re, statistics, sys
c, e = [], []
for line in open(sys.argv[1]):
    m = re.search(r'method=POST path=(\S+) status=(\d+) .*duration_ms=([\d.]+)', line)
    if not m: continue
    (e if m.group(1).endswith('/exec') else c).append(float(m.group(3)))
print(f"  create handler {statistics.median(c):.1f} ms (n={len(c)}), exec handler {statistics.median(e):.1f} ms (n={len(e)})")
PYTHON
done
