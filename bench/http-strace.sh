#!/usr/bin/env bash
# bench/http-strace.sh: system calls per `GET /v1/sandboxes/{id}` in `sandboxer serve`, counted by
# `strace -c -f`: a count of work, repeatable under load, unlike a time.
#
# Starts serve on the fake (TestPlugin) backend, creates one sandbox, sends WARMUP (200) requests
# (the JSON cache is filled), attaches `strace -c -f` to every thread, sends N requests on one
# keep-alive connection (the request wrk sends: request line and Host), detaches and prints the
# calls per request by name. Not a bench row: the measurement behind docs/performance.md's
# "The store stamp without a lock (session 6)" (no fcntl on the cached GET).
#
#   bench/http-strace.sh BUILD_DIR [N]   # BUILD_DIR holds sandboxer and libSandboxerTestPlugin.so
#
# Needs: strace, curl, python3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
build=$(cd "${1:?usage: bench/http-strace.sh BUILD_DIR [N]}" && pwd)   # absolute: the config names the plugin by path
n=${2:-2000}
bin=$build/sandboxer
plugin=$build/libSandboxerTestPlugin.so
[[ -x "$bin" && -f "$plugin" ]] || { echo "http-strace.sh: need $bin and $plugin" >&2; exit 1; }
for tool in strace curl python3; do
    command -v "$tool" >/dev/null || { echo "http-strace.sh: $tool is required" >&2; exit 77; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/sandboxer-http-strace.XXXXXX")
serve_pid=""
strace_pid=""
cleanup() {
    local rc=$?
    if [[ -n "$strace_pid" ]] && kill -0 "$strace_pid" 2>/dev/null; then kill -INT "$strace_pid"; wait "$strace_pid" || true; fi
    if [[ -n "$serve_pid" ]] && kill -0 "$serve_pid" 2>/dev/null; then kill -TERM "$serve_pid"; wait "$serve_pid" || true; fi
    exec 3<&- 2>/dev/null || true
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT

bench_fake_serve "$work" "$bin" "$plugin"
sid=$(curl -sS --fail -X POST -H 'Content-Type: application/json' -d '{}' "http://$listen/v1/sandboxes" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

# requests COUNT: COUNT keep-alive GETs of the sandbox on one connection.
requests() { bench_keepalive_gets "$listen" "/v1/sandboxes/$sid" "$1"; }
requests 200
threads=$(ls "/proc/$serve_pid/task" | wc -l)
strace -c -f -p "$serve_pid" -o "$work/strace.txt" 2>"$work/strace.err" &
strace_pid=$!
# Ready handshake: strace reports one "attached" line per thread before it counts anything.
for _ in $(seq 1 600); do
    [[ $(grep -c attached "$work/strace.err" 2>/dev/null || true) -ge $threads ]] && break
    kill -0 "$strace_pid" 2>/dev/null || { echo "http-strace.sh: strace failed:" >&2; cat "$work/strace.err" >&2; exit 1; }
    sleep 0.05
done
requests "$n"
kill -INT "$strace_pid"; wait "$strace_pid" || true; strace_pid=""
echo "requests: $n (threads traced: $threads)"
awk -v n="$n" '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { name = $NF; calls = $4; printf "%-16s %8d calls  %.3f/request\n", name, calls, calls / n; total += calls }
               END { printf "%-16s %8d calls  %.3f/request\n", "total", total, total / n }' "$work/strace.txt"
exit 0
