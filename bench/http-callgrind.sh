#!/usr/bin/env bash
# bench/http-callgrind.sh: instructions per `GET /v1/sandboxes/{id}` in
# `sandboxer serve`, counted by callgrind: repeatable under load, unlike a time.
#
# Starts serve under `valgrind --tool=callgrind` on the fake (TestPlugin) backend, creates one
# sandbox, sends WARMUP requests, zeroes the counters, sends N requests on one keep-alive
# connection (the request wrk sends: request line and Host), dumps, and prints the totals per
# request and the heaviest functions (inclusive). Not a bench row: a profile for docs/performance.md.
#
#   bench/http-callgrind.sh BUILD_DIR [N] [OUT_DIR]   # BUILD_DIR holds sandboxer and libSandboxerTestPlugin.so
#
# Needs: valgrind (callgrind_control, callgrind_annotate), curl, python3.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
build=${1:?usage: bench/http-callgrind.sh BUILD_DIR [N] [OUT_DIR]}
n=${2:-2000}
out=${3:-}
bin=$build/sandboxer
plugin=$build/libSandboxerTestPlugin.so
[[ -x "$bin" && -f "$plugin" ]] || { echo "http-callgrind.sh: need $bin and $plugin" >&2; exit 1; }
for tool in valgrind callgrind_control callgrind_annotate curl python3; do
    command -v "$tool" >/dev/null || { echo "http-callgrind.sh: $tool is required" >&2; exit 77; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/sandboxer-http-callgrind.XXXXXX")
serve_pid=""
cleanup() {
    local rc=$?
    if [[ -n "$serve_pid" ]] && kill -0 "$serve_pid" 2>/dev/null; then kill -TERM "$serve_pid"; wait "$serve_pid" || true; fi
    exec 3<&- 2>/dev/null || true
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT

bench_fake_serve "$work" "$bin" "$plugin" valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out"
sid=$(curl -sS --fail -X POST -H 'Content-Type: application/json' -d '{}' "http://$listen/v1/sandboxes" \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

# requests COUNT: COUNT keep-alive GETs of the sandbox on one connection.
requests() { bench_keepalive_gets "$listen" "/v1/sandboxes/$sid" "$1"; }
requests 200
callgrind_control -z "$serve_pid" >/dev/null
requests "$n"
callgrind_control -d "$serve_pid" >/dev/null
dump=$(ls "$work"/callgrind.out.* | head -1)
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }')
echo "requests: $n; instructions: $total; per request: $(awk -v t="$total" -v n="$n" 'BEGIN { printf "%.0f", t / n }')"
# top TITLE OPTION: the heaviest 45 functions, per request (awk reads everything: no SIGPIPE).
top() {
    echo "-- $1"
    callgrind_annotate --threshold=100 "$2" "$dump" 2>/dev/null | sed -n '/file:function/,$p' \
        | awk -v n="$n" 'NR > 1 && $1 ~ /^[0-9,]+$/ && shown < 45 { c = $1; gsub(",", "", c); $1 = ""; sub(/^ *(\([^)]*\))? */, ""); printf "%9.0f/req  %s\n", c / n, $0; shown++ }'
}
top "inclusive" --inclusive=yes
top "exclusive" --inclusive=no
[[ -n "$out" ]] && cp "$dump" "$out/"
exit 0
