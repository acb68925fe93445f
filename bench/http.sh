#!/usr/bin/env bash
# bench/http.sh: how fast does `sandboxer serve` answer GET /v1/sandboxes/{id}, against nginx serving
# the same JSON bytes from a file on the same machine in the same run?
#
# Starts a release `sandboxer serve` on the fake (TestPlugin) backend, creates one sandbox, saves its
# JSON, starts nginx on another loopback port with a minimal config serving that JSON at the same path.
# Then ROUNDS interleaved rounds: in each, both servers are measured with the same wrk (THREADS
# threads, CONNECTIONS keep-alive connections), each run preceded by a WARMUP run against the same
# server, the order alternating from round to round (serve first in odd rounds, nginx first in even
# ones) so a load change on this shared machine does not always fall on the same side. The row is
# the median of the rounds' ratios (sandboxer / nginx); every round is printed. The goal is >= 0.5.
#
# Alike on both sides: keep-alive without a request limit, an access log line per request written to
# a file in batches (serve buffers a loop round's lines, up to 64 KiB; nginx gets `buffer=64k
# flush=1s`), and the file kept open by nginx (`open_file_cache`), so neither side does work per
# request the other does not. The response sizes (head and body) are printed.
#
#   bench/http.sh                       # builds in release mode first
#   SANDBOXER_BUILD_DIR=/path/to/.build/release bench/http.sh
#   ROUNDS=7 DURATION=5s bench/http.sh
#
# Needs: wrk, nginx, curl (Debian: apt-get install -y wrk nginx-light curl), python3.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
WARMUP=${WARMUP:-1s}
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
bench_fake_serve "$work" "$bin" "$plugin"
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
    access_log $work/nginx/logs/access.log combined buffer=64k flush=1s;
    open_file_cache max=16 inactive=60s;
    open_file_cache_valid 60s;
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
# The bytes of one answer (head and body) from each, for the record.
answer_bytes() { curl -sS --fail -o /dev/null -w '%{size_header}+%{size_download}' "$1"; }
echo "== answer sizes (head+body): sandboxer $(answer_bytes "$sbx_base$path"), nginx $(answer_bytes "$nginx_base$path") bytes" >&2

# cpu_ticks PID...: user + system CPU of these processes (every thread), in clock ticks.
cpu_ticks() { local p; for p in "$@"; do cut -d' ' -f14,15 "/proc/$p/stat"; done | awk '{ t += $1 + $2 } END { print t }'; }
tick_us=$(awk -v hz="$(getconf CLK_TCK)" 'BEGIN { print 1e6 / hz }')

# rps URL PID...: "requests/s cpu-µs-per-request" of one wrk run (after a warm-up run against the
# same URL), the CPU being what the server processes PID... used during the measured run; fails on
# any non-2xx answer or socket error.
rps() {
    local url=$1 out before after
    shift
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$url" >/dev/null
    before=$(cpu_ticks "$@")
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "$url")
    after=$(cpu_ticks "$@")
    if grep -q "Non-2xx\|Socket errors" <<<"$out"; then echo "http.sh: errors from $url:" >&2; echo "$out" >&2; exit 1; fi
    awk -v b="$before" -v a="$after" -v us="$tick_us" '/^Requests\/sec:/ { r = $2 } / requests in / { n = $1 }
        END { printf "%.0f %.1f\n", r, (a - b) * us / n }' <<<"$out"
}

nginx_pids=$(pgrep -P "$(cat "$work/nginx/nginx.pid")" | paste -sd' ' -)
echo "== GET $path: $ROUNDS rounds, wrk -t$THREADS -c$CONNECTIONS -d$DURATION (warm-up $WARMUP), $(nproc) cores, nginx $(${NGINX} -v 2>&1 | sed 's/.*: //')" >&2
sbx_all=(); nginx_all=(); ratios=(); sbx_cpu=(); nginx_cpu=()
for ((round = 1; round <= ROUNDS; round++)); do
    # shellcheck disable=SC2086 # nginx_pids is a list
    if ((round % 2)); then read -r s sc < <(rps "$sbx_base$path" "$serve_pid"); read -r n nc < <(rps "$nginx_base$path" $nginx_pids)
    else read -r n nc < <(rps "$nginx_base$path" $nginx_pids); read -r s sc < <(rps "$sbx_base$path" "$serve_pid"); fi
    r=$(bench_ratio "$s" "$n")
    sbx_all+=("$s"); nginx_all+=("$n"); ratios+=("$r"); sbx_cpu+=("$sc"); nginx_cpu+=("$nc")
    echo "  round $round: sandboxer $s req/s ($sc µs CPU/request), nginx $n req/s ($nc µs CPU/request, $(wc -w <<<"$nginx_pids") workers), ratio $r (load $(cut -d' ' -f1 /proc/loadavg))" >&2
done
sbx_rps=$(printf "%s\n" "${sbx_all[@]}" | bench_median | xargs printf "%.0f")
nginx_rps=$(printf "%s\n" "${nginx_all[@]}" | bench_median | xargs printf "%.0f")
ratio=$(printf '%s\n' "${ratios[@]}" | bench_median)
range=$(printf '%s\n' "${ratios[@]}" | sort -n | sed -n '1p;$p' | paste -sd- -)

cpu_note="CPU/request: serve $(printf '%s\n' "${sbx_cpu[@]}" | bench_median) µs, nginx $(printf '%s\n' "${nginx_cpu[@]}" | bench_median) µs (medians)"
echo "GET /v1/sandboxes/{id}, $ROUNDS interleaved rounds of wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(nproc) cores:"
echo "  sandboxer: median $sbx_rps req/s"
echo "  nginx:     median $nginx_rps req/s"
echo "  ratio (sandboxer / nginx): median $ratio of $ROUNDS rounds (range $range; goal: >= $GOAL)"
echo "  $cpu_note"
bench_row "GET /v1/sandboxes/{id} throughput" "$sbx_rps req/s" "nginx $nginx_rps req/s" "$ratio" ">=" "$GOAL" \
    "median of $ROUNDS interleaved rounds ($range); $cpu_note"
