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
