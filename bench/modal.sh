#!/usr/bin/env bash
# bench/modal.sh: create + exec + terminate of one sandbox, through `sandboxer` (the Modal plugin)
# against Modal's official Python client (modal==1.6.4), on the same Modal stand-in, in one run.
#
# Each round: sandboxer does `create`, `exec -- echo hi`, `destroy` (three CLI processes, each
# loading the plugin, as a user runs them); the official client does `Sandbox.create`,
# `exec("echo", "hi")` + read + wait, `terminate` in one Python process (its import time is
# included, like the CLI's start-up). Prints both medians and the ratio sandboxer / official;
# the goal is a ratio of at most 1.0.
#
#   bench/modal.sh                      # builds sandboxer and the plugin in release mode first
#   SANDBOXER_BUILD_DIR=/path/to/.build/release bench/modal.sh
#   RUNS=9 bench/modal.sh
#
# Needs: python3 with venv (Debian: python3-venv) and PyPI once, for the stand-in's venv.
set -euo pipefail

RUNS=${RUNS:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

if [[ -z "${SANDBOXER_BUILD_DIR:-}" ]]; then
    swift build -c release --product sandboxer >/dev/null
    swift build -c release --product SandboxerModal >/dev/null
    SANDBOXER_BUILD_DIR="$(swift build -c release --show-bin-path)"
fi
bin="$SANDBOXER_BUILD_DIR/sandboxer"
[[ -x "$bin" && -f "$SANDBOXER_BUILD_DIR/libSandboxerModal.so" ]] || {
    echo "modal.sh: no sandboxer or libSandboxerModal.so in $SANDBOXER_BUILD_DIR" >&2; exit 1; }
Tests/ModalTests/Support/make-venv.sh
python="$here/.build/venv-modal/bin/python"

work=$(mktemp -d "${TMPDIR:-/tmp}/sandboxer-bench-modal.XXXXXX")
standin_pid=""
cleanup() {
    [[ -n "$standin_pid" ]] && kill -TERM "$standin_pid" 2>/dev/null && wait "$standin_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# The plugin must live in a directory only its owner can write (the loader's rule).
mkdir -m 700 "$work/plugin"
install -m 755 "$SANDBOXER_BUILD_DIR/libSandboxerModal.so" "$work/plugin/"

# Start the stand-in; it writes its ports into the FIFO once it accepts calls (the ready handshake).
mkfifo "$work/ports"
"$python" Tests/Fixtures/ModalStandIn/standin.py --port-file "$work/ports" \
    --token-id ak-bench --token-secret as-bench --log-level WARNING 2>"$work/standin.log" &
standin_pid=$!
ports=$(head -n 1 "$work/ports")
api_url=$("$python" -c 'import json,sys; print(json.loads(sys.argv[1])["api_url"])' "$ports")

cat > "$work/sandboxer.yaml" <<YAML
data_dir: $work/data
backends:
  modal:
    plugin: $work/plugin/libSandboxerModal.so
    config:
      server_url: $api_url
      app: bench
profiles:
  default:
    backend: modal
    ttl: {default: 1h, max: 4h}
YAML
export SANDBOXER_CONFIG="$work/sandboxer.yaml" SANDBOXER_HOME="$work/data"
export SANDBOXER_SECRET_MODAL_TOKEN_ID=ak-bench SANDBOXER_SECRET_MODAL_TOKEN_SECRET=as-bench
: > "$work/empty.toml"

cat > "$work/official.py" <<'PY'
import modal
app = modal.App.lookup("bench", create_if_missing=True)
sb = modal.Sandbox.create("sleep", "infinity", app=app, image=modal.Image.from_registry("debian:bookworm-slim"))
p = sb.exec("echo", "hi")
assert p.stdout.read() == "hi\n"
assert p.wait() == 0
sb.terminate()
PY

now_ms() { date +%s%3N; }
sandboxer_round() {
    local id
    id=$("$bin" create --json | "$python" -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    [[ "$("$bin" exec "$id" -- echo hi)" == "hi" ]]
    "$bin" destroy "$id" >/dev/null
}
official_round() {
    MODAL_SERVER_URL="$api_url" MODAL_TOKEN_ID=ak-bench MODAL_TOKEN_SECRET=as-bench \
        MODAL_CONFIG_PATH="$work/empty.toml" "$python" "$work/official.py"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

sandboxer_round; official_round   # warm-up: image and app exist, caches are hot
: > "$work/s.txt"; : > "$work/o.txt"
for _ in $(seq "$RUNS"); do
    t0=$(now_ms); sandboxer_round; t1=$(now_ms); echo $((t1 - t0)) >> "$work/s.txt"
    t0=$(now_ms); official_round;  t1=$(now_ms); echo $((t1 - t0)) >> "$work/o.txt"
done
s=$(median < "$work/s.txt"); o=$(median < "$work/o.txt")
echo "create+exec+terminate, median of $RUNS: sandboxer ${s} ms, official client ${o} ms"
awk -v s="$s" -v o="$o" 'BEGIN { printf "ratio sandboxer/official: %.2f (goal <= 1.0)\n", s / o }'
. bench/lib.sh
bench_row "modal create+exec+terminate, CLI" "$s ms" "modal client $o ms" "$(bench_ratio "$s" "$o")" "<=" 1.0
