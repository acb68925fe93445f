#!/usr/bin/env bash
# bench/e2b.sh — create + exec + destroy of an E2B sandbox through `sandboxer` against E2B's official
# Python SDK doing the same, on the same local stand-in, in one run.
#
#   bench/e2b.sh [N]        (default N=20; needs python3 and the stand-in's venv with e2b==2.63.0,
#                            made here by scripts/venv.sh, which needs PyPI once)
#
# Rows (median of N, milliseconds, each round one sandbox):
#   sdk        in one Python process (import and client set-up not timed): Sandbox.create(),
#              sandbox.commands.run("echo hi"), sandbox.kill().
#   sandboxer  three CLI processes, each timed from start to exit: `create --json`,
#              `exec ID -- echo hi`, `destroy ID` (process start, config, SQLite store and plugin
#              load are all inside the time: the CLI pays them three times a round).
#   serve      the same three calls to one long-lived `sandboxer serve` over its HTTP API
#              (POST /v1/sandboxes, POST /v1/sandboxes/ID/exec, DELETE /v1/sandboxes/ID) on one
#              keep-alive connection: the host and plugin without process start-up, like the SDK.
# Prints ratio = sandboxer / sdk for both (goal: <= 1.0, sandboxer no slower than the SDK).
set -euo pipefail
N=${1:-20}
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.build/venv-e2b
"$ROOT/scripts/venv.sh" "$VENV" "$ROOT/Tests/Fixtures/E2BStandIn/requirements.txt" >/dev/null
PY=$VENV/bin/python

TMP=$(mktemp -d /tmp/e2b-bench.XXXXXX)
chmod 700 "$TMP"
STANDIN_PID=
SERVE_PID=
cleanup() {
    [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null || true
    [ -n "$STANDIN_PID" ] && kill "$STANDIN_PID" 2>/dev/null && wait "$STANDIN_PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

echo "building (release)..." >&2
swift build -c release --product sandboxer >&2
swift build -c release --product SandboxerE2B >&2
BIN=$(swift build -c release --show-bin-path)
install -m 0755 "$BIN/libSandboxerE2B.so" "$TMP/libSandboxerE2B.so"

# The stand-in writes its ports into a FIFO once it listens: the ready handshake.
KEY=bench-key-$$
mkfifo "$TMP/ports"
PYTHONDONTWRITEBYTECODE=1 "$PY" Tests/Fixtures/E2BStandIn/standin.py --api-port 0 --envd-port 0 \
    --port-file "$TMP/ports" --api-key "$KEY" --data-dir "$TMP/standin" 2>"$TMP/standin.log" &
STANDIN_PID=$!
PORTS=$(cat "$TMP/ports")
API=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["api"])' "$PORTS")
ENVD=$("$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["envd"])' "$PORTS")

cat > "$TMP/sandboxer.yaml" <<YAML
data_dir: $TMP/data
backends:
  e2b:
    plugin: $TMP/libSandboxerE2B.so
    config:
      api_url: http://127.0.0.1:$API
      sandbox_url: http://127.0.0.1:$ENVD
      api_key_secret: e2b
profiles:
  default:
    backend: e2b
    ttl: {default: 10m, max: 1h}
YAML

# `sandboxer serve` on a free loopback port (no tokens: loopback only, no auth).
SERVE_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
SANDBOXER_CONFIG="$TMP/sandboxer.yaml" SANDBOXER_SECRET_E2B="$KEY" "$BIN/sandboxer" serve --listen "127.0.0.1:$SERVE_PORT" \
    2>"$TMP/serve.log" &
SERVE_PID=$!

"$PY" - "$N" "$API" "$ENVD" "$KEY" "$BIN/sandboxer" "$TMP/sandboxer.yaml" "$SERVE_PORT" <<'PYTHON'
import http.client, json, os, statistics, subprocess, sys, time
n, api, envd, key, sandboxer, config = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
serve_port = int(sys.argv[7])
os.environ.update(E2B_API_KEY=key, E2B_API_URL=f"http://127.0.0.1:{api}", E2B_SANDBOX_URL=f"http://127.0.0.1:{envd}")
from e2b import Sandbox

def sdk_round():
    start = time.perf_counter()
    sb = Sandbox.create()
    assert sb.commands.run("echo hi").stdout == "hi\n"
    sb.kill()
    return (time.perf_counter() - start) * 1000

env = dict(os.environ, SANDBOXER_CONFIG=config, SANDBOXER_SECRET_E2B=key)
def cli(*args):
    out = subprocess.run([sandboxer, *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"sandboxer {' '.join(args)} failed: {out.stderr.strip()}")
    return out.stdout

def sandboxer_round():
    start = time.perf_counter()
    sid = json.loads(cli("create", "--json"))["id"]
    assert cli("exec", sid, "--", "echo", "hi") == "hi\n"
    cli("destroy", sid)
    return (time.perf_counter() - start) * 1000

# Wait for serve's /healthz (a bench, not a test: a bounded poll is fine here).
for _ in range(500):
    try:
        c = http.client.HTTPConnection("127.0.0.1", serve_port, timeout=5)
        c.request("GET", "/healthz"); c.getresponse().read(); break
    except OSError:
        time.sleep(0.02)
conn = http.client.HTTPConnection("127.0.0.1", serve_port, timeout=60)
def call(method, path, body=None):
    conn.request(method, path, body=json.dumps(body) if body is not None else None, headers={"Content-Type": "application/json"})
    r = conn.getresponse(); data = r.read()
    if r.status >= 300:
        sys.exit(f"serve {method} {path} answered {r.status}: {data[:300]!r}")
    return json.loads(data) if data else None

def serve_round():
    start = time.perf_counter()
    sid = call("POST", "/v1/sandboxes", {"profile": "default"})["id"]
    assert call("POST", f"/v1/sandboxes/{sid}/exec", {"argv": ["echo", "hi"]})["stdout"] == "hi\n"
    call("DELETE", f"/v1/sandboxes/{sid}")
    return (time.perf_counter() - start) * 1000

sdk_round(); sandboxer_round(); serve_round()   # warm-up: page cache, store migration, connections
sdk = [sdk_round() for _ in range(n)]
ours = [sandboxer_round() for _ in range(n)]
served = [serve_round() for _ in range(n)]
s, o, v = statistics.median(sdk), statistics.median(ours), statistics.median(served)
print(f"rounds     {n}")
print(f"sdk        {s:8.1f} ms  (median create+exec+destroy, official e2b SDK in one process)")
print(f"sandboxer  {o:8.1f} ms  (median create+exec+destroy, three CLI processes)")
print(f"serve      {v:8.1f} ms  (median create+exec+destroy, HTTP API of one sandboxer serve)")
print(f"ratio      {o / s:8.2f}  cli / sdk   (goal <= 1.0)")
print(f"ratio      {v / s:8.2f}  serve / sdk (goal <= 1.0)")
row = "BENCH-ROW\t{}\t{:.1f} ms\t{}\t{:.2f}\t<=\t1.0\t"
print(row.format("e2b create+exec+destroy, CLI", o, f"e2b SDK {s:.1f} ms", o / s))
print(row.format("e2b create+exec+destroy, serve", v, f"e2b SDK {s:.1f} ms", v / s))
PYTHON
