#!/usr/bin/env bash
# bench/expire.sh: does the expiry sweep stay flat as the store grows?
#
# Fills two stores, one with 10,000 sandboxes and one with 1,000,000, where the SAME 1,000 are due
# (500 past expires_at, 500 idle past updated_at + idle_reap), and times a dry-run
# `sandboxer expire --json` on each. The big store also holds 500,000 destroyed sandboxes whose
# expires_at and idle deadline are long past: a sweep that is not confined to live rows pays for them.
# Prints both median times (interleaved rounds) and their ratio (1M / 10k); the goal is a ratio of at most 1.2.
#
#   bench/expire.sh                  # builds sandboxer in release mode first
#   SANDBOXER_BIN=/path/sandboxer bench/expire.sh
#   RUNS=15 bench/expire.sh
#
# Needs: bash, sqlite3 (Debian: sqlite3), a sandboxer whose store lives at $SANDBOXER_HOME/sandboxer.db.
set -euo pipefail

RUNS=${RUNS:-15}
DUE=1000
here=$(cd "$(dirname "$0")/.." && pwd)

. "$here/bench/lib.sh"
command -v sqlite3 >/dev/null || { echo "expire.sh: sqlite3 is required (apt-get install sqlite3)" >&2; exit 77; }
if [[ -z "${SANDBOXER_BIN:-}" ]]; then
    (cd "$here" && swift build -c release --product sandboxer >/dev/null)
    SANDBOXER_BIN="$(cd "$here" && swift build -c release --show-bin-path)/sandboxer"
fi
[[ -x "$SANDBOXER_BIN" ]] || { echo "expire.sh: no sandboxer executable at $SANDBOXER_BIN" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sandboxer-bench-expire.XXXXXX")
trap 'rm -rf "$work"' EXIT

# fill HOME TOTAL: lets sandboxer create the schema (its own migrations), then bulk-inserts TOTAL rows.
fill() {
    local home=$1 total=$2 now_ms
    mkdir -p "$home"
    SANDBOXER_HOME="$home" "$SANDBOXER_BIN" list --json >/dev/null
    now_ms=$(date +%s%3N)
    # Rows 1..DUE are due; the rest split between destroyed (long past every deadline, not live)
    # and live ones whose deadlines are hours away. Column list as in SandboxStore+Migrations.swift.
    sqlite3 "$home/sandboxer.db" <<SQL
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $total),
rows AS (
    SELECT i,
        CASE WHEN i <= $DUE THEN (CASE WHEN i % 2 = 0 THEN 'ready' ELSE 'active' END)
             WHEN i % 2 = 0 THEN 'destroyed'
             WHEN i % 3 = 0 THEN 'active' ELSE 'ready' END AS state,
        CASE WHEN i <= $DUE AND i % 2 = 1 THEN 600              -- due by idleness
             WHEN i > $DUE AND i % 5 = 0 THEN 600 END AS idle_reap,
        CASE WHEN i <= $DUE AND i % 2 = 0 THEN $now_ms - 3600000 -- due by expiry
             WHEN i <= $DUE THEN $now_ms + 3600000
             WHEN i % 2 = 0 THEN $now_ms - 86400000 - i          -- destroyed: long past
             ELSE $now_ms + 3600000 + i END AS expires_at,
        CASE WHEN i <= $DUE AND i % 2 = 1 THEN $now_ms - 7200000
             WHEN i > $DUE AND i % 2 = 0 THEN $now_ms - 86400000
             ELSE $now_ms END AS updated_at
    FROM n
)
INSERT INTO sandboxes (id, profile, backend, state, ttl_seconds, max_ttl_seconds, idle_reap_seconds,
                       created_at, ready_at, updated_at, expires_at, idle_at, labels, backend_ref, reason,
                       idempotency_key, request, host_id)
SELECT printf('sbx-%016x', i), 'default', 'localvm', state, 14400, 86400, idle_reap,
       updated_at - 60000, updated_at - 59000, updated_at, expires_at,
       CASE WHEN idle_reap IS NULL THEN NULL ELSE updated_at + idle_reap * 1000 END,
       '{}', printf('ref-%d', i), CASE state WHEN 'destroyed' THEN 'ttl' END,
       NULL, '{"profile":"default"}', 'bench-host'
FROM rows;
COMMIT;
SQL
    local due
    due=$(sqlite3 "$home/sandboxer.db" "SELECT count(*) FROM sandboxes WHERE state IN ('ready','active')
        AND (expires_at <= $now_ms OR idle_at <= $now_ms)")
    [[ "$due" == "$DUE" ]] || { echo "expire.sh: fill of $total made $due due rows, not $DUE" >&2; exit 1; }
}

# sweep_ms HOME: wall time of one dry-run sweep in ms ($EPOCHREALTIME: no `date` process inside the
# timed region).
sweep_ms() {
    local t0=$EPOCHREALTIME
    SANDBOXER_HOME="$1" "$SANDBOXER_BIN" expire --json >/dev/null
    bench_ms_since "$t0" "$EPOCHREALTIME"
}

fill "$work/small" 10000
fill "$work/large" 1000000
# Interleaved rounds, the order alternating (as the other rows' benches do): measured one store
# after the other, a change of load between the two phases showed up as a ratio of 0.95-1.48 for
# the same build (2026-11-30). One warm-up sweep each first.
sweep_ms "$work/small" >/dev/null; sweep_ms "$work/large" >/dev/null
: > "$work/small.ms"; : > "$work/large.ms"
for ((run = 0; run < RUNS; run++)); do
    if ((run % 2 == 0)); then
        sweep_ms "$work/small" >> "$work/small.ms"; sweep_ms "$work/large" >> "$work/large.ms"
    else
        sweep_ms "$work/large" >> "$work/large.ms"; sweep_ms "$work/small" >> "$work/small.ms"
    fi
done
small=$(bench_median < "$work/small.ms")
large=$(bench_median < "$work/large.ms")
ratio=$(awk -v a="$large" -v b="$small" 'BEGIN { printf "%.2f", a / b }')
echo "expire dry-run, $DUE due, median of $RUNS runs:"
echo "  10k sandboxes: ${small} ms"
echo "  1M sandboxes:  ${large} ms"
echo "  ratio (1M / 10k): ${ratio} (goal: <= 1.2)"
bench_row "expire dry-run, 1M rows (1k due)" "$large ms" "10k rows $small ms" "$ratio" "<=" 1.2
