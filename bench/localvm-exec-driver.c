/*
 * bench/localvm-exec-driver.c — the driver of bench/localvm-exec.sh: loads the LocalVM plugin through
 * the C ABI (dlopen of the release .so, as the host does), creates one sandbox and then, in
 * interleaved rounds, runs `true` inside it once through the plugin's whole-buffer `exec` and once
 * as `nsenter -a -t INIT true` (the baseline: what entering the sandbox costs at the least).
 *
 *   localvm-exec-driver PLUGIN.so DATA_DIR N [MODE]
 *
 * MODE "ab" (default) prints one line per round: "<plugin ms> <nsenter ms>"; MODE "plugin" runs only
 * the plugin's exec N times (for strace, perf and callgrind of that path alone) and prints its times.
 * The sandbox is destroyed at the end.
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

static double run_plugin(const sbx_plugin *p, void *inst) {
    static const char req[] = "{\"sandbox_id\":\"benchx\",\"backend_ref\":\"benchx\",\"argv\":[\"true\"],\"env\":{}}";
    char *answer = NULL;
    double t0 = mono();
    if (call(p, inst, "exec", req, &answer)) exit(1);
    double t1 = mono();
    if (!answer || !strstr(answer, "\"exit_code\":0")) { fprintf(stderr, "exec answered %s\n", answer ? answer : "nothing"); exit(1); }
    free(answer);
    return t1 - t0;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s PLUGIN.so DATA_DIR N [ab|plugin]\n", argv[0]); return 2; }
    const char *so = argv[1], *data = argv[2];
    int n = atoi(argv[3]);
    int ab = argc < 5 || strcmp(argv[4], "plugin") != 0;
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    sbx_plugin_entry_fn entry = (sbx_plugin_entry_fn)dlsym(h, SANDBOXER_PLUGIN_ENTRY_SYMBOL);
    if (!entry) { fprintf(stderr, "no entry symbol\n"); return 1; }
    static sbx_host_api api = { sizeof api, SANDBOXER_ABI_MAJOR, SANDBOXER_ABI_MINOR, 0, lg, now_ms, sec, bf, canc };
    const sbx_plugin *p = entry(&api);
    if (!p) { fprintf(stderr, "the plugin refused the host\n"); return 1; }
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "{\"data_dir\":\"%s\",\"cgroup_parent\":\"sbxexecbench-%d\"}", data, (int)getpid());
    void *inst = 0;
    sbx_result r = { sizeof r, 0, 0, 0 };
    if (p->instance_create(p, (const uint8_t *)cfg, strlen(cfg), &inst, &r)) {
        fprintf(stderr, "instance: %.*s\n", (int)r.len, r.data);
        return 1;
    }
    const char *create = "{\"sandbox_id\":\"benchx\",\"host_id\":\"bench\",\"profile\":\"default\",\"resources\":{},"
                         "\"network\":\"none\",\"env\":{},\"labels\":{}}";
    if (call(p, inst, "create", create, NULL)) return 1;
    long pid = init_pid(data, "benchx");
    int rc = 0;
    if (pid <= 0) { fprintf(stderr, "no init_pid in the sandbox's meta.json\n"); rc = 1; goto out; }
    char pidtext[24];
    snprintf(pidtext, sizeof pidtext, "%ld", pid);
    /* Warm-up: the first calls pay for lazy binding and page faults of both paths. */
    for (int i = 0; i < 3; i++) { run_plugin(p, inst); if (ab) run_nsenter(pidtext); }
    for (int i = 0; i < n; i++) {
        /* Alternate which goes first, so neither always runs right after the other's exit. */
        double a, b = 0;
        if (!ab) a = run_plugin(p, inst);
        else if (i % 2) { b = run_nsenter(pidtext); a = run_plugin(p, inst); }
        else { a = run_plugin(p, inst); b = run_nsenter(pidtext); }
        if (ab) printf("%.3f %.3f\n", a, b); else printf("%.3f\n", a);
    }
out:
    if (call(p, inst, "destroy", "{\"sandbox_id\":\"benchx\",\"backend_ref\":\"benchx\"}", NULL)) rc = 1;
    p->instance_destroy(inst);
    return rc;
}
