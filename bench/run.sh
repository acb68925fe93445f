#!/usr/bin/env bash
# bench/run.sh (`make bench`): runs every bench script, then prints one table of all rows: what was
# measured, the baseline measured in the same run, the ratio and the goal. Exits non-zero when a goal
# is missed or a script fails (a script that cannot run here, e.g. a missing tool, is reported as
# SKIPPED with its reason and does not fail the run).
#
#   bench/run.sh                 # every script
#   bench/run.sh localvm http    # only these (names without .sh)
#
# Reading the table: `ratio` is measured / baseline (or, for throughput rows, measured / baseline
# where higher is better: their goal reads `>=`). Absolute times are orientation only (2 noisy cores
# here); the ratio is the claim. See README.md "Benchmarks" and docs/performance.md.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts=("$@")
[ ${#scripts[@]} -gt 0 ] || scripts=(expire localvm localvm-ops http rss e2b modal plugin-ipc byok build cli-start localvm-exec localvm-stream)

out=$(mktemp -d /tmp/bench-run.XXXXXX)
trap 'rm -rf "$out"' EXIT
declare -a status
for name in "${scripts[@]}"; do
    script=bench/$name.sh
    if [ ! -x "$script" ]; then status+=("$name	SKIPPED	no $script"); continue; fi
    echo "== $script" >&2
    "$script" > "$out/$name.out" 2> >(tee "$out/$name.err" >&2)
    rc=$?
    grep -h '^BENCH-ROW' "$out/$name.out" >> "$out/rows" || true
    grep -v '^BENCH-ROW' "$out/$name.out" >&2 || true
    if [ $rc -eq 77 ]; then status+=("$name	SKIPPED	$(tail -n1 "$out/$name.err")")
    elif [ $rc -ne 0 ]; then status+=("$name	FAILED	exit $rc: $(tail -n1 "$out/$name.err")")
    fi
done

. bench/lib.sh
missed=0
echo
printf '%-46s %-16s %-28s %7s  %-9s %s\n' ROW MEASURED BASELINE RATIO GOAL RESULT
while IFS=$'\t' read -r _ name measured baseline ratio op goal note; do
    if bench_goal_met "$ratio" "$op" "$goal"; then result=ok; else result=MISSED; missed=$((missed + 1)); fi
    printf '%-46s %-16s %-28s %7s  %-9s %s %s\n' "$name" "$measured" "$baseline" "$ratio" "$op $goal" "$result" "$note"
done < <(cat "$out/rows" 2>/dev/null)
failed=0
for line in "${status[@]+"${status[@]}"}"; do
    IFS=$'\t' read -r name what why <<<"$line"
    printf '%-46s %s: %s\n' "$name.sh" "$what" "$why"
    [ "$what" = FAILED ] && failed=$((failed + 1))
done
echo
echo "bench: $missed goal(s) missed, $failed script(s) failed"
[ $missed -eq 0 ] && [ $failed -eq 0 ]
