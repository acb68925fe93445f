#!/usr/bin/env bash
# bench/localvm.sh — how fast a LocalVM sandbox is ready, against a bare bubblewrap start of the
# same rootfs measured in the same run.
#
#   bench/localvm.sh [N]        (default N=20; needs root, bubblewrap, busybox-static, a C compiler)
#
# Rows (median of N, milliseconds):
#   bwrap     bwrap --unshare-all of the busybox rootfs running /bin/true, to exit. bwrap 0.8 (Debian 12)
#             has no --overlay, so the closest is a read-only bind of the rootfs plus a tmpfs /tmp:
#             no overlay to mount, which favours the baseline.
#   plugin    the LocalVM plugin's create through the C ABI (dlopen of the release .so): sandbox
#             ready (init exec'd and its signal traps set).
#   destroy   the plugin's destroy of that ready sandbox through the C ABI, to its answer (the
#             directory's removal runs after the answer, in the plugin's background trash thread).
#             Goal: at most 2x bwrap (issue 16's destroy row, without the CLI's start).
#   cli       `sandboxer create --profile default --json`, process start to exit (ready);
#             destroy follows, not timed. Skipped when the CLI cannot create yet.
# Goal: cli at most 3x bwrap.
set -euo pipefail
N=${1:-20}
cd "$(dirname "$0")/.."
ROOT=$PWD

. bench/lib.sh
[ "$(id -u)" = 0 ] || { echo "bench/localvm.sh needs root" >&2; exit 77; }
command -v bwrap >/dev/null || { echo "needs bubblewrap (apt-get install bubblewrap)" >&2; exit 77; }
[ -x /bin/busybox ] || { echo "needs busybox-static (apt-get install busybox-static)" >&2; exit 77; }

TMP=$(mktemp -d /tmp/localvm-bench.XXXXXX)
chmod 755 "$TMP"
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT

echo "building (release)..." >&2
swift build -c release --product SandboxerLocalVM >&2
swift build -c release --product sandboxer-localvm-init >&2 # the C init, next to the plugin
swift build -c release --product sandboxer >&2 || echo "(the sandboxer CLI did not build; its row is skipped)" >&2
BIN=$(swift build -c release --show-bin-path)

# A driver that loads the plugin through the ABI, like the host does.
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
static int call(const sbx_plugin *p, void *inst, const char *op, const char *json) {
    sbx_result r = { sizeof r, 0, 0, 0 };
    int rc = p->invoke(inst, op, (const uint8_t *)json, strlen(json), 1, &r);
    if (rc) fprintf(stderr, "%s: code %d: %.*s\n", op, rc, (int)r.len, r.data);
    p->result_free(&r);
    return rc;
}
int main(int argc, char **argv) {
    const char *so = argv[1], *data = argv[2]; int n = atoi(argv[3]);
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    sbx_plugin_entry_fn entry = (sbx_plugin_entry_fn)dlsym(h, SANDBOXER_PLUGIN_ENTRY_SYMBOL);
    static sbx_host_api api = { sizeof api, SANDBOXER_ABI_MAJOR, SANDBOXER_ABI_MINOR, 0, lg, now_ms, sec, bf, canc };
    const sbx_plugin *p = entry(&api);
    char cfg[1024], req[1024];
    snprintf(cfg, sizeof cfg, "{\"data_dir\":\"%s\",\"cgroup_parent\":\"sbxbench-%d\"}", data, (int)getpid());
    void *inst = 0; sbx_result r = { sizeof r, 0, 0, 0 };
    if (p->instance_create(p, (const uint8_t *)cfg, strlen(cfg), &inst, &r)) { fprintf(stderr, "instance: %.*s\n", (int)r.len, r.data); return 1; }
    for (int i = -1; i < n; i++) { /* i = -1: warm-up, builds the image */
        snprintf(req, sizeof req, "{\"sandbox_id\":\"bench%d\",\"host_id\":\"bench\",\"profile\":\"default\",\"resources\":{},"
                 "\"network\":\"none\",\"env\":{},\"labels\":{}}", i + 1);
        double t0 = mono();
        if (call(p, inst, "create", req)) return 1;
        double t1 = mono();
        snprintf(req, sizeof req, "{\"sandbox_id\":\"bench%d\",\"backend_ref\":\"bench%d\"}", i + 1, i + 1);
        if (call(p, inst, "destroy", req)) return 1;
        double t2 = mono();
        if (i >= 0) printf("%.3f %.3f\n", t1 - t0, t2 - t1);
    }
    p->instance_destroy(inst); /* empties the trash: nothing of the sandboxes outlives the driver */
    return 0;
}
C
cc -O2 -o "$TMP/driver" -I "$ROOT/Sources/PluginABI/include" "$TMP/driver.c" -ldl

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) printf "%.2f", a[(NR + 1) / 2]; else printf "%.2f", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ms_since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'; }

mkdir -m 755 "$TMP/data"
"$TMP/driver" "$BIN/libSandboxerLocalVM.so" "$TMP/data" "$N" > "$TMP/plugin.txt"
PLUGIN=$(awk '{ print $1 }' "$TMP/plugin.txt" | median)
DESTROY=$(awk '{ print $2 }' "$TMP/plugin.txt" | median)
BASE="$TMP/data/images/busybox/rootfs" # built by the driver's warm-up create

: > "$TMP/bwrap.txt"
bwrap --unshare-all --ro-bind "$BASE" / --proc /proc --dev /dev --tmpfs /tmp -- /bin/true # warm-up
for _ in $(seq "$N"); do
    t0=$EPOCHREALTIME
    bwrap --unshare-all --hostname bench --ro-bind "$BASE" / --proc /proc --dev /dev --tmpfs /tmp \
        --new-session --die-with-parent -- /bin/true
    t1=$EPOCHREALTIME
    ms_since "$t0" "$t1" >> "$TMP/bwrap.txt"
done
BWRAP=$(median < "$TMP/bwrap.txt")

json_id() { python3 -c 'import json,sys
try: print(json.load(sys.stdin)["id"])
except Exception: pass'; }

CLI=""
if [ -x "$BIN/sandboxer" ]; then
    export SANDBOXER_HOME="$TMP/home"
    mkdir -m 755 -p "$SANDBOXER_HOME"
    : > "$TMP/cli.txt"
    out=$("$BIN/sandboxer" create --profile default --json 2>"$TMP/cli.err") || true
    id=$(printf '%s' "$out" | json_id)
    if [ -n "$id" ]; then
        "$BIN/sandboxer" destroy "$id" >/dev/null
        for _ in $(seq "$N"); do
            t0=$EPOCHREALTIME
            out=$("$BIN/sandboxer" create --profile default --json)
            t1=$EPOCHREALTIME
            ms_since "$t0" "$t1" >> "$TMP/cli.txt"
            id=$(printf '%s' "$out" | json_id)
            [ -n "$id" ] || { echo "sandboxer create printed no id: $out" >&2; exit 1; }
            "$BIN/sandboxer" destroy "$id" >/dev/null
        done
        CLI=$(median < "$TMP/cli.txt")
    else
        echo "(sandboxer create gave no JSON id, cli row skipped: $(printf '%s' "$out" | head -c 200) $(head -c 200 "$TMP/cli.err"))" >&2
    fi
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "localvm bench, N=$N, medians in ms"
printf '  bwrap  (ro-bind rootfs, /bin/true to exit)  %8s\n' "$BWRAP"
printf '  plugin (create via C ABI, to ready)         %8s   %sx bwrap\n' "$PLUGIN" "$(ratio "$PLUGIN" "$BWRAP")"
printf '  plugin (destroy via C ABI, to its answer)   %8s   %sx bwrap\n' "$DESTROY" "$(ratio "$DESTROY" "$BWRAP")"
if [ -n "$CLI" ]; then
    printf '  cli    (sandboxer create --json, to exit)   %8s   %sx bwrap  (goal <= 3x)\n' "$CLI" "$(ratio "$CLI" "$BWRAP")"
else
    echo "  cli    not measured (the sandboxer CLI cannot create yet)"
fi
bench_row "localvm create→ready via the C ABI" "$PLUGIN ms" "bwrap $BWRAP ms" "$(ratio "$PLUGIN" "$BWRAP")" "<=" 1.0
bench_row "localvm destroy via the C ABI" "$DESTROY ms" "bwrap $BWRAP ms" "$(ratio "$DESTROY" "$BWRAP")" "<=" 2
if [ -n "$CLI" ]; then
    bench_row "sandboxer create (CLI, start to exit)" "$CLI ms" "bwrap $BWRAP ms" "$(ratio "$CLI" "$BWRAP")" "<=" 3
fi
