# bench/lib.sh: what every bench script shares. Source it; never run it.
#
# A bench script measures a row and its baseline in the same run and reports it with `bench_row`;
# bench/run.sh (`make bench`) collects the rows of every script into one table and fails when a
# goal is missed. A row is one tab-separated line on stdout:
#   BENCH-ROW <name> <measured> <baseline> <ratio> <op> <goal> <note>
# where the goal holds when `ratio op goal` is true (op is <= or >=). Measured and baseline are
# short texts with units ("12.1 ms", "bwrap 5.7 ms"); ratio is a plain number.

# median: the median of the numbers on stdin (one per line), two decimals.
bench_median() {
    sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) exit 1; if (NR % 2) printf "%.2f", a[(NR + 1) / 2]; else printf "%.2f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# bench_ms_since T0 T1: milliseconds between two $EPOCHREALTIME readings.
bench_ms_since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'; }

# bench_ratio A B: A / B, two decimals.
bench_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "inf"; else printf "%.2f", a / b }'; }

# bench_row NAME MEASURED BASELINE RATIO OP GOAL [NOTE]: reports one row (and echoes it readably on stderr).
bench_row() {
    local name=$1 measured=$2 baseline=$3 ratio=$4 op=$5 goal=$6 note=${7:-}
    printf 'BENCH-ROW\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$measured" "$baseline" "$ratio" "$op" "$goal" "$note"
    printf '  %-44s %-14s vs %-26s ratio %-6s (goal %s %s) %s\n' "$name" "$measured" "$baseline" "$ratio" "$op" "$goal" "$note" >&2
}

# bench_goal_met RATIO OP GOAL: exit status 0 when the goal holds.
bench_goal_met() { awk -v r="$1" -v op="$2" -v g="$3" 'BEGIN { if (r == "inf") exit 1; exit !((op == "<=") ? (r <= g) : (r >= g)) }'; }

# bench_fake_serve WORK BIN PLUGIN [WRAPPER...]: starts `BIN serve` (under WRAPPER, e.g. valgrind,
# when given) on a loopback port with the fake (TestPlugin) backend, its config and data in WORK.
# Returns once serve says it listens (the ready handshake: with --json it prints {"listen": ...}),
# with `serve_pid` and `listen` (host:port) set and fd 3 holding serve's stdout open (serve must not
# write into a closed pipe: close it, `exec 3<&-`, after stopping serve). Exits 1 if serve did not start.
bench_fake_serve() {
    local work=$1 bin=$2 plugin=$3 line
    shift 3
    mkdir -p "$work/fake" "$work/data"
    cat > "$work/config.yaml" <<CONFIG
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
CONFIG
    mkfifo "$work/ready"
    SANDBOXER_CONFIG="$work/config.yaml" "$@" "$bin" serve --listen 127.0.0.1:0 --json >"$work/ready" 2>"$work/serve.log" &
    serve_pid=$!
    exec 3<"$work/ready"
    listen=""
    while [[ -z "$listen" ]] && IFS= read -r line <&3; do   # the JSON may be pretty-printed over lines
        [[ "$line" =~ \"listen\"[[:space:]]*:[[:space:]]*\"([^\"]+)\" ]] && listen=${BASH_REMATCH[1]}
    done
    [[ -n "$listen" ]] || { echo "$(basename "$0"): sandboxer serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
}

# bench_keepalive_gets LISTEN PATH COUNT: COUNT keep-alive GETs of PATH on one connection to LISTEN
# (host:port), each answer read whole (Content-Length) and required to be a 200.
bench_keepalive_gets() {
    python3 - "$1" "$2" "$3" <<'PY'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
path, count = sys.argv[2], int(sys.argv[3])
s = socket.create_connection((host, int(port)))
req = f"GET {path} HTTP/1.1\r\nHost: {sys.argv[1]}\r\n\r\n".encode()
buf = b""
for _ in range(count):
    s.sendall(req)
    while b"\r\n\r\n" not in buf: buf += s.recv(65536)
    head, _, buf = buf.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
    while len(buf) < length: buf += s.recv(65536)
    buf = buf[length:]
s.close()
PY
}
