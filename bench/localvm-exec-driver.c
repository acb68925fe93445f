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

int main(int argc, char **argv) { return driver_main(argc, argv, "sbxexecbench", run_plugin); }
