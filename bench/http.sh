#!/usr/bin/env bash
# bench/http.sh: how fast does `sandboxer serve` answer GET /v1/sandboxes/{id}, against nginx serving
# the same JSON bytes from a file on the same machine in the same run?
#
# Starts a release `sandboxer serve` on the fake (TestPlugin) backend, creates one sandbox, saves its
# JSON, starts nginx on another loopback port with a minimal config serving that JSON at the same path,
# then runs wrk (2 threads, 32 connections, keep-alive) for DURATION against each. Prints both
# requests/s and the ratio sandboxer / nginx; the goal is >= 0.5. Both servers write an access log
# to a file (sandboxer always logs; nginx is configured to, so the work compared is alike).
#
#   bench/http.sh                       # builds in release mode first
#   SANDBOXER_BUILD_DIR=/path/to/.build/release bench/http.sh
#   DURATION=30s bench/http.sh
#
# Needs: wrk, nginx, curl (Debian: apt-get install -y wrk nginx-light curl), python3.
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
GOAL=0.5
here=$(cd "$(dirname "$0")/.." && pwd)
. "$here/bench/lib.sh"

for tool in wrk nginx curl python3; do
    command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || {
        echo "http.sh: $tool is required (apt-get install -y wrk nginx-light curl)" >&2; exit 77; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

if [[ -z "${SANDBOXER_BUILD_DIR:-}" ]]; then
    (cd "$here" && swift build -c release >/dev/null)
    SANDBOXER_BUILD_DIR=$(cd "$here" && swift build -c release --show-bin-path)
fi
bin=$SANDBOXER_BUILD_DIR/sandboxer
plugin=$SANDBOXER_BUILD_DIR/libSandboxerTestPlugin.so
[[ -x "$bin" && -f "$plugin" ]] || { echo "http.sh: need $bin and $plugin" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sandboxer-bench-http.XXXXXX")
serve_pid=""
nginx_started=""
cleanup() {
    local rc=$?
    if [[ -n "$nginx_started" ]]; then
        "$NGINX" -p "$work/nginx/" -c "$work/nginx/nginx.conf" -s stop 2>/dev/null || true
    fi
    if [[ -n "$serve_pid" ]] && kill -0 "$serve_pid" 2>/dev/null; then
        kill -TERM "$serve_pid"
        wait "$serve_pid" || { echo "http.sh: sandboxer serve exited $? after SIGTERM" >&2; rc=1; }
    fi
    exec 3<&- 2>/dev/null || true
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT

# --- sandboxer ---------------------------------------------------------------------------------
mkdir -p "$work/fake" "$work/data"
cat > "$work/config.yaml" <<EOF
data_dir: $work/data
backends:
  fake:
    plugin: $plugin
    config:
      state_dir: $work/fake
profiles:
  default:
    backend: fake
    ttl: {default: 1h, max: 24h}
EOF
# Ready handshake: with --json, serve prints {"listen": ...} on stdout once it is listening.
mkfifo "$work/ready"
SANDBOXER_CONFIG="$work/config.yaml" "$bin" serve --listen 127.0.0.1:0 --json \
    >"$work/ready" 2>"$work/serve.log" &
serve_pid=$!
exec 3<"$work/ready"   # kept open until the end: serve's stdout must not hit a closed pipe
listen=""
while [[ -z "$listen" ]] && IFS= read -r line <&3; do   # the JSON may be pretty-printed over lines
    [[ "$line" =~ \"listen\"[[:space:]]*:[[:space:]]*\"([^\"]+)\" ]] && listen=${BASH_REMATCH[1]}
done
[[ -n "$listen" ]] || { echo "http.sh: sandboxer serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
sbx_base="http://$listen"

sid=$(curl -sS --fail -X POST -H 'Content-Type: application/json' -d '{}' "$sbx_base/v1/sandboxes" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
path="/v1/sandboxes/$sid"

# --- nginx, serving the same bytes at the same path -------------------------------------------
mkdir -p "$work/nginx/logs" "$work/nginx/tmp" "$work/www/v1/sandboxes"
curl -sS --fail -o "$work/www$path" "$sbx_base$path"
chmod -R a+rX "$work"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
user_line=""
[[ $(id -u) == 0 ]] && user_line="user root;"
cat > "$work/nginx/nginx.conf" <<EOF
$user_line
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log $work/nginx/logs/access.log;
    client_body_temp_path $work/nginx/tmp/body;
    proxy_temp_path $work/nginx/tmp/proxy;
    fastcgi_temp_path $work/nginx/tmp/fastcgi;
    uwsgi_temp_path $work/nginx/tmp/uwsgi;
    scgi_temp_path $work/nginx/tmp/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$port;
        root $work/www;
        default_type application/json;
        location / { try_files \$uri =404; }
    }
}
EOF
# nginx binds its sockets before it daemonizes: once this returns 0, the port is listening.
"$NGINX" -p "$work/nginx/" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log"
nginx_started=1
nginx_base="http://127.0.0.1:$port"

cmp -s <(curl -sS --fail "$sbx_base$path") <(curl -sS --fail "$nginx_base$path") || {
    echo "http.sh: sandboxer and nginx do not serve the same body" >&2; exit 1; }

# --- measure -------------------------------------------------------------------------------------
# rps URL: requests/s from one wrk run (after a short warm-up run), failing on any non-2xx answer.
rps() {
    local url=$1 out
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$url" >/dev/null
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url")
    if grep -q "Non-2xx" <<<"$out"; then echo "http.sh: non-2xx answers from $url:" >&2; echo "$out" >&2; exit 1; fi
    echo "$out" >&2
    awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}

echo "== sandboxer GET $path ($THREADS threads, $CONNECTIONS connections, $DURATION)" >&2
sbx_rps=$(rps "$sbx_base$path")
echo "== nginx $(${NGINX} -v 2>&1 | sed 's/.*: //') same body" >&2
nginx_rps=$(rps "$nginx_base$path")
ratio=$(awk -v a="$sbx_rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')

echo "GET /v1/sandboxes/{id}, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(nproc) cores:"
echo "  sandboxer: $sbx_rps req/s"
echo "  nginx:     $nginx_rps req/s"
echo "  ratio (sandboxer / nginx): $ratio (goal: >= $GOAL)"
bench_row "GET /v1/sandboxes/{id} throughput" "$sbx_rps req/s" "nginx $nginx_rps req/s" "$ratio" ">=" "$GOAL"
