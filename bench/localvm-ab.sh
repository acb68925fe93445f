#!/usr/bin/env bash
# bench/localvm-ab.sh — interleaved A/B of two builds of the LocalVM plugin: create→ready and
# destroy through the C ABI, with the driver thread's own CPU time and run-queue wait per call.
#
#   bench/localvm-ab.sh A_DIR B_DIR [ROUNDS] [PER_ROUND]     (default 6 rounds of 5 cycles each)
#
# A_DIR and B_DIR each hold a libSandboxerLocalVM.so and its sandboxer-localvm-init (copy a build's
# two files into a directory to keep it). Each round runs one driver process per build, A then B,
# each with a warm-up cycle (builds the image) and PER_ROUND timed create+destroy cycles, so slow
# phases of this shared machine fall on both builds alike. Prints medians (ms) per build and the
# B/A ratio; it is a tool for attributing a change, not a `make bench` row (needs root, busybox-static).
set -euo pipefail
A=$1 B=$2 ROUNDS=${3:-6} PER=${4:-5}
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh
[ "$(id -u)" = 0 ] || { echo "bench/localvm-ab.sh needs root" >&2; exit 77; }
[ -x /bin/busybox ] || { echo "needs busybox-static (apt-get install busybox-static)" >&2; exit 77; }

TMP=$(mktemp -d /tmp/localvm-ab.XXXXXX)
chmod 755 "$TMP"
trap 'rm -rf "$TMP"' EXIT

cat > "$TMP/driver.c" <<'C'
#include "sandboxer_plugin.h"
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static void lg(void *c, int32_t l, const char *m, const uint8_t *j, size_t n) { (void)c; (void)l; (void)m; (void)j; (void)n; }
static int64_t now_ms(void *c) { (void)c; struct timespec t; clock_gettime(CLOCK_REALTIME, &t); return t.tv_sec * 1000LL + t.tv_nsec / 1000000; }
static int32_t sec(void *c, const char *n, uint8_t **o, size_t *l) { (void)c; (void)n; (void)o; (void)l; return SBX_NOT_FOUND; }
static void bf(void *c, uint8_t *d, size_t l) { (void)c; (void)d; (void)l; }
static int32_t canc(void *c, uint64_t id) { (void)c; (void)id; return 0; }
static double mono(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
/* This thread's CPU time and run-queue wait so far (ns), from /proc/thread-self/schedstat. */
static void sched(double *cpu, double *wait) {
    unsigned long long a = 0, b = 0;
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    if (f) { if (fscanf(f, "%llu %llu", &a, &b) != 2) a = b = 0; fclose(f); }
    *cpu = a / 1e6; *wait = b / 1e6;
}
static int call(const sbx_plugin *p, void *inst, const char *op, const char *json) {
    sbx_result r = { sizeof r, 0, 0, 0 };
    int rc = p->invoke(inst, op, (const uint8_t *)json, strlen(json), 1, &r);
    if (rc) fprintf(stderr, "%s: code %d: %.*s\n", op, rc, (int)r.len, r.data);
    p->result_free(&r);
    return rc;
}
int main(int argc, char **argv) {
    if (argc < 5) return 2;
    const char *so = argv[1], *data = argv[2], *tag = argv[4]; int n = atoi(argv[3]);
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    sbx_plugin_entry_fn entry = (sbx_plugin_entry_fn)dlsym(h, SANDBOXER_PLUGIN_ENTRY_SYMBOL);
    static sbx_host_api api = { sizeof api, SANDBOXER_ABI_MAJOR, SANDBOXER_ABI_MINOR, 0, lg, now_ms, sec, bf, canc };
    const sbx_plugin *p = entry(&api);
    char cfg[1024], req[1024];
    snprintf(cfg, sizeof cfg, "{\"data_dir\":\"%s\",\"cgroup_parent\":\"sbxab-%d\"}", data, (int)getpid());
    void *inst = 0; sbx_result r = { sizeof r, 0, 0, 0 };
    if (p->instance_create(p, (const uint8_t *)cfg, strlen(cfg), &inst, &r)) { fprintf(stderr, "instance: %.*s\n", (int)r.len, r.data); return 1; }
    for (int i = -1; i < n; i++) { /* i = -1: warm-up */
        snprintf(req, sizeof req, "{\"sandbox_id\":\"ab%d\",\"host_id\":\"bench\",\"profile\":\"default\",\"resources\":{},"
                 "\"network\":\"none\",\"env\":{},\"labels\":{}}", i + 1);
        double c0, w0, c1, w1, c2, w2;
        sched(&c0, &w0);
        double t0 = mono();
        if (call(p, inst, "create", req)) return 1;
        double t1 = mono();
        sched(&c1, &w1);
        snprintf(req, sizeof req, "{\"sandbox_id\":\"ab%d\",\"backend_ref\":\"ab%d\"}", i + 1, i + 1);
        double t2 = mono();
        if (call(p, inst, "destroy", req)) return 1;
        double t3 = mono();
        sched(&c2, &w2);
        if (i >= 0) printf("%s %.3f %.3f %.3f %.3f %.3f %.3f\n", tag, t1 - t0, t3 - t2, c1 - c0, w1 - w0, c2 - c1, w2 - w1);
    }
    p->instance_destroy(inst);
    return 0;
}
C
cc -O2 -o "$TMP/driver" -I "$ROOT/Sources/PluginABI/include" "$TMP/driver.c" -ldl

mkdir -m 755 "$TMP/a" "$TMP/b"
: > "$TMP/rows"
for _ in $(seq "$ROUNDS"); do
    "$TMP/driver" "$A/libSandboxerLocalVM.so" "$TMP/a" "$PER" A >> "$TMP/rows"
    "$TMP/driver" "$B/libSandboxerLocalVM.so" "$TMP/b" "$PER" B >> "$TMP/rows"
done

col() { awk -v t="$1" -v c="$2" '$1 == t { print $c }' "$TMP/rows" | bench_median; }
echo "localvm A/B, $ROUNDS rounds x $PER cycles, N=$((ROUNDS * PER)) each, medians in ms (load $(cut -d' ' -f1 /proc/loadavg))"
printf '  %-3s %10s %10s %12s %12s %12s %12s\n' "" create destroy "create cpu" "create wait" "destroy cpu" "destroy wait"
for t in A B; do
    printf '  %-3s %10s %10s %12s %12s %12s %12s\n' "$t" "$(col $t 2)" "$(col $t 3)" "$(col $t 4)" "$(col $t 5)" "$(col $t 6)" "$(col $t 7)"
done
printf '  B/A create %s, destroy %s\n' "$(bench_ratio "$(col B 2)" "$(col A 2)")" "$(bench_ratio "$(col B 3)" "$(col A 3)")"
