/*
 * bench/localvm-ab-driver.c — bench/localvm-ab.sh's driver: one build's LocalVM create and destroy
 * through the C ABI, with this thread's CPU time and run-queue wait per call (from
 * /proc/thread-self/schedstat), for interleaved A/B rounds of two builds.
 *
 *   localvm-ab-driver PLUGIN.so DATA_DIR N TAG
 *
 * One warm-up cycle (builds the image), then N cycles, each printing
 * "<TAG> <create ms> <destroy ms> <create cpu> <create wait> <destroy cpu> <destroy wait>".
 */
#include "sandboxer_plugin.h"
#include <dlfcn.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver-common.h"  // after the system headers it uses

/* This thread's CPU time and run-queue wait so far (ms), from /proc/thread-self/schedstat. */
static void sched(double *cpu, double *wait) {
    unsigned long long a = 0, b = 0;
    FILE *f = fopen("/proc/thread-self/schedstat", "r");
    if (f) { if (fscanf(f, "%llu %llu", &a, &b) != 2) a = b = 0; fclose(f); }
    *cpu = a / 1e6; *wait = b / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: localvm-ab-driver PLUGIN.so DATA_DIR N TAG\n"); return 2; }
    const char *so = argv[1], *data = argv[2], *tag = argv[4];
    int n = atoi(argv[3]);
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    sbx_plugin_entry_fn entry = (sbx_plugin_entry_fn)dlsym(h, SANDBOXER_PLUGIN_ENTRY_SYMBOL);
    static sbx_host_api api = { sizeof api, SANDBOXER_ABI_MAJOR, SANDBOXER_ABI_MINOR, 0, lg, now_ms, sec, bf, canc };
    const sbx_plugin *p = entry(&api);
    char cfg[1024], req[1024];
    snprintf(cfg, sizeof cfg, "{\"data_dir\":\"%s\",\"cgroup_parent\":\"sbxab-%d\"}", data, (int)getpid());
    void *inst = 0;
    sbx_result r = { sizeof r, 0, 0, 0 };
    if (p->instance_create(p, (const uint8_t *)cfg, strlen(cfg), &inst, &r)) { fprintf(stderr, "instance: %.*s\n", (int)r.len, r.data); return 1; }
    for (int i = -1; i < n; i++) { /* i = -1: warm-up */
        snprintf(req, sizeof req, "{\"sandbox_id\":\"ab%d\",\"host_id\":\"bench\",\"profile\":\"default\",\"resources\":{},"
                 "\"network\":\"none\",\"env\":{},\"labels\":{}}", i + 1);
        double c0, w0, c1, w1, c2, w2;
        sched(&c0, &w0);
        double t0 = mono();
        if (call(p, inst, "create", req, NULL)) return 1;
        double t1 = mono();
        sched(&c1, &w1);
        snprintf(req, sizeof req, "{\"sandbox_id\":\"ab%d\",\"backend_ref\":\"ab%d\"}", i + 1, i + 1);
        double t2 = mono();
        if (call(p, inst, "destroy", req, NULL)) return 1;
        double t3 = mono();
        sched(&c2, &w2);
        if (i >= 0) printf("%s %.3f %.3f %.3f %.3f %.3f %.3f\n", tag, t1 - t0, t3 - t2, c1 - c0, w1 - w0, c2 - c1, w2 - w1);
    }
    p->instance_destroy(inst); /* empties the trash: nothing of the sandboxes outlives the driver */
    return 0;
}
