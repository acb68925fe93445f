#!/usr/bin/env bash
# bench/localvm-ops.sh — the LocalVM operations a consumer waits on, each against a bare-tool baseline
# measured in the same run (issue 16's new rows):
#
#   http create     warm POST /v1/sandboxes → 201 on one keep-alive connection   vs bwrap start   (goal <= 1.5x;
#                   its bwrap runs are interleaved with the creates, one per cycle)
#   cli exec        `sandboxer exec ID -- true`, process start to exit            vs nsenter -a     (goal <= 5x)
#   http exec       warm POST /v1/sandboxes/{id}/exec of `true` → 200             vs nsenter -a     (goal <= 2x)
#   cli destroy     `sandboxer destroy ID` of a ready sandbox, start to exit      vs bwrap start   (goal <= 2x)
#   expire --apply  of 100 due sandboxes (one command)                            vs 100 x one CLI destroy (goal <= 0.3x)
#
# Baselines: `bwrap --unshare-all` of the busybox rootfs running /bin/true to exit (as bench/localvm.sh),
# one per cycle of the row it is the baseline of;
# `nsenter -a -t INIT true` into a running sandbox's init (what entering a sandbox costs at the least).
#
#   bench/localvm-ops.sh [N]      (default N=20; needs root, bubblewrap, util-linux nsenter, busybox-static, python3)
set -euo pipefail
N=${1:-20}
cd "$(dirname "$0")/.."
. bench/lib.sh
[ "$(id -u)" = 0 ] || { echo "bench/localvm-ops.sh needs root" >&2; exit 77; }
for tool in bwrap nsenter python3; do
    command -v $tool >/dev/null || { echo "localvm-ops.sh needs $tool (apt-get install bubblewrap util-linux python3)" >&2; exit 77; }
done
[ -x /bin/busybox ] || { echo "localvm-ops.sh needs busybox-static" >&2; exit 77; }

echo "building (release)..." >&2
swift build -c release --product sandboxer >&2
swift build -c release --product SandboxerLocalVM >&2
swift build -c release --product sandboxer-localvm-init >&2 # the C init, next to the plugin
BIN=$(swift build -c release --show-bin-path)

TMP=$(mktemp -d /tmp/localvm-ops.XXXXXX)
chmod 755 "$TMP"
SERVE_PID=
cleanup() {
    if [ -n "$SERVE_PID" ]; then kill -TERM "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null || true; fi
    SANDBOXER_HOME="$TMP/home" "$BIN/sandboxer" list --json 2>/dev/null | python3 -c '
import json, sys
for s in json.load(sys.stdin): print(s["id"])' 2>/dev/null | while read -r id; do
        SANDBOXER_HOME="$TMP/home" "$BIN/sandboxer" destroy "$id" >/dev/null 2>&1 || true
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
export SANDBOXER_HOME="$TMP/home"
mkdir -m 755 -p "$SANDBOXER_HOME"
sbx() { "$BIN/sandboxer" "$@"; }
json_field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# Warm-up: builds the busybox image, migrates the store.
id=$(sbx create --json | json_field 'd["id"]')
sbx destroy "$id" >/dev/null
BASE=$(find "$SANDBOXER_HOME" -path '*/trash' -prune -o -type d -path '*/images/busybox/rootfs' -print -prune | head -n1)
[ -d "$BASE" ] || { echo "localvm-ops.sh: found no busybox rootfs under $SANDBOXER_HOME" >&2; exit 1; }

# --- baselines -----------------------------------------------------------------------------------
# The destroy row's bwrap runs one per destroy cycle, below (interleaved: the same load as the
# destroys; measured in a phase of its own before, it varied 7.2-9.2 ms between runs of one build).
bwrap --unshare-all --ro-bind "$BASE" / --proc /proc --dev /dev --tmpfs /tmp -- /bin/true

id=$(sbx create --json | json_field 'd["id"]')
INIT=$(sbx show "$id" --json | json_field 'd["info"]["init_pid"]')
: > "$TMP/nsenter.txt"; : > "$TMP/cliexec.txt"
nsenter -a -t "$INIT" true
sbx exec "$id" -- true
for _ in $(seq "$N"); do
    t0=$EPOCHREALTIME; nsenter -a -t "$INIT" true; t1=$EPOCHREALTIME
    bench_ms_since "$t0" "$t1" >> "$TMP/nsenter.txt"
    t0=$EPOCHREALTIME; sbx exec "$id" -- true; t1=$EPOCHREALTIME
    bench_ms_since "$t0" "$t1" >> "$TMP/cliexec.txt"
done
NSENTER=$(bench_median < "$TMP/nsenter.txt")
CLIEXEC=$(bench_median < "$TMP/cliexec.txt")

# --- CLI destroy ---------------------------------------------------------------------------------
: > "$TMP/destroy.txt"; : > "$TMP/bwrap.txt"
for _ in $(seq "$N"); do
    d=$(sbx create --json | json_field 'd["id"]')
    t0=$EPOCHREALTIME
    bwrap --unshare-all --hostname bench --ro-bind "$BASE" / --proc /proc --dev /dev --tmpfs /tmp \
        --new-session --die-with-parent -- /bin/true
    t1=$EPOCHREALTIME
    bench_ms_since "$t0" "$t1" >> "$TMP/bwrap.txt"
    t0=$EPOCHREALTIME; sbx destroy "$d" >/dev/null; t1=$EPOCHREALTIME
    bench_ms_since "$t0" "$t1" >> "$TMP/destroy.txt"
done
DESTROY=$(bench_median < "$TMP/destroy.txt")
BWRAP=$(bench_median < "$TMP/bwrap.txt")

# --- HTTP: create and exec on one keep-alive connection ---------------------------------------------
mkfifo "$TMP/ready"
"$BIN/sandboxer" serve --listen 127.0.0.1:0 --json > "$TMP/ready" 2> "$TMP/serve.log" &
SERVE_PID=$!
exec 3<"$TMP/ready"
listen=""
while [ -z "$listen" ] && IFS= read -r line <&3; do
    [[ "$line" =~ \"listen\"[[:space:]]*:[[:space:]]*\"([^\"]+)\" ]] && listen=${BASH_REMATCH[1]}
done
[ -n "$listen" ] || { echo "localvm-ops.sh: serve did not start: $(cat "$TMP/serve.log")" >&2; exit 1; }
read -r HTTPCREATE HTTPEXEC HTTPBWRAP < <(python3 - "$listen" "$N" "$id" "$BASE" <<'PYTHON'
import http.client, json, statistics, subprocess, sys, time
host, port = sys.argv[1].rsplit(":", 1)
n, sid, base = int(sys.argv[2]), sys.argv[3], sys.argv[4]
# The create row's own baseline, one bwrap run per cycle (interleaved: the same load as the creates).
BWRAP = ["bwrap", "--unshare-all", "--hostname", "bench", "--ro-bind", base, "/", "--proc", "/proc", "--dev", "/dev",
         "--tmpfs", "/tmp", "--new-session", "--die-with-parent", "--", "/bin/true"]
def bwrap():
    t0 = time.perf_counter()
    subprocess.run(BWRAP, check=True)
    return (time.perf_counter() - t0) * 1000
conn = http.client.HTTPConnection(host, int(port), timeout=60)
def call(method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None,
                 headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    return resp.status, data
def timed(method, path, body, want):
    t0 = time.perf_counter()
    status, data = call(method, path, body)
    ms = (time.perf_counter() - t0) * 1000
    assert status == want, (status, data[:200])
    return ms, data
for _ in range(2):  # warm-up
    _, data = timed("POST", "/v1/sandboxes", {}, 201)
    call("DELETE", "/v1/sandboxes/" + json.loads(data)["id"])
    timed("POST", f"/v1/sandboxes/{sid}/exec", {"argv": ["true"]}, 200)
creates, execs, bwraps = [], [], []
for _ in range(n):
    ms, data = timed("POST", "/v1/sandboxes", {}, 201)
    creates.append(ms)
    call("DELETE", "/v1/sandboxes/" + json.loads(data)["id"])
    ms, _ = timed("POST", f"/v1/sandboxes/{sid}/exec", {"argv": ["true"]}, 200)
    execs.append(ms)
    bwraps.append(bwrap())
print(f"{statistics.median(creates):.2f} {statistics.median(execs):.2f} {statistics.median(bwraps):.2f}")
PYTHON
)

# --- expire --apply of 100 due sandboxes ---------------------------------------------------------------
python3 - "$listen" <<'PYTHON'
import http.client, json, sys
host, port = sys.argv[1].rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port), timeout=60)
for _ in range(100):
    conn.request("POST", "/v1/sandboxes", body=json.dumps({"ttl": "10m"}), headers={"Content-Type": "application/json"})
    resp = conn.getresponse(); resp.read()
    assert resp.status == 201, resp.status
PYTHON
kill -TERM "$SERVE_PID"; wait "$SERVE_PID" 2>/dev/null || true; SERVE_PID=
t0=$EPOCHREALTIME
SANDBOXER_CLOCK_OFFSET=1h sbx expire --apply --json > "$TMP/expire.json"
t1=$EPOCHREALTIME
EXPIRE=$(bench_ms_since "$t0" "$t1")
expired=$(json_field 'sum(1 for i in d["items"] if i["outcome"] == "destroyed")' < "$TMP/expire.json")
[ "$expired" -ge 100 ] || { echo "localvm-ops.sh: expire --apply ended $expired sandboxes, not 100" >&2; exit 1; }
SERIAL=$(awk -v d="$DESTROY" 'BEGIN { printf "%.2f", d * 100 }')
sbx destroy "$id" >/dev/null

echo "localvm operations, N=$N, medians in ms: bwrap $BWRAP, nsenter $NSENTER" >&2
bench_row "POST /v1/sandboxes → 201 (warm, LocalVM)" "$HTTPCREATE ms" "bwrap $HTTPBWRAP ms" "$(bench_ratio "$HTTPCREATE" "$HTTPBWRAP")" "<=" 1.5
bench_row "sandboxer exec ID -- true (CLI)" "$CLIEXEC ms" "nsenter $NSENTER ms" "$(bench_ratio "$CLIEXEC" "$NSENTER")" "<=" 5
bench_row "POST …/exec of true → 200 (warm)" "$HTTPEXEC ms" "nsenter $NSENTER ms" "$(bench_ratio "$HTTPEXEC" "$NSENTER")" "<=" 2
bench_row "sandboxer destroy (CLI, ready sandbox)" "$DESTROY ms" "bwrap $BWRAP ms" "$(bench_ratio "$DESTROY" "$BWRAP")" "<=" 2
bench_row "expire --apply of 100 due" "$EXPIRE ms" "100 x destroy $SERIAL ms" "$(bench_ratio "$EXPIRE" "$SERIAL")" "<=" 0.3
