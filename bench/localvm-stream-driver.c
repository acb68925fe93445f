/*
 * bench/localvm-stream-driver.c — the driver of bench/localvm-stream.sh: loads the LocalVM plugin
 * through the C ABI (dlopen of the release .so, as the host does), creates one sandbox and then, in
 * interleaved rounds, runs `true` inside it once through the plugin's streamed exec
 * (`sandboxer.exec-stream/1`) and once as `nsenter -a -t INIT true`.
 *
 * The streamed side makes the calls the host's ExecStreamRun (Sources/Lifecycle/
 * SandboxService+ExecStream.swift) makes for a command that ends at once, with the same arguments:
 * exec_start (timeout_seconds 600, the profile default), then inline rounds of exec_read of stdout
 * (max_bytes 256 KiB, wait_ms 50) and of stderr (wait_ms 0) while a round brings bytes or an end,
 * exec_wait (wait_ms 500) until the state is no longer "running", and exec_release. A command that
 * is still open after a round that brought nothing is read with wait_ms 500 per stream (the host
 * would start reader threads then; for `true` that does not happen).
 *
 *   localvm-stream-driver PLUGIN.so DATA_DIR N [ab|plugin]
 *
 * MODE "ab" (default) prints one line per round: "<streamed ms> <nsenter ms>"; MODE "plugin" runs
 * only the streamed exec N times (for strace, perf and callgrind of that path) and prints its times.
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

/* The value of "key": in a flat JSON answer, as a number (0 when absent) or a bool. */
static long long num(const char *json, const char *key) {
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *at = strstr(json, k);
    return at ? strtoll(at + strlen(k), NULL, 10) : 0;
}
static int yes(const char *json, const char *key) {
    char k[64];
    snprintf(k, sizeof k, "\"%s\":true", key);
    return strstr(json, k) != NULL;
}

/* One exec_read; returns 1 when the stream ended, 0 otherwise; *progressed is set on bytes or end. */
static int read_stream(const sbx_plugin *p, void *inst, const char *handle, const char *stream, long long *offset,
                       int wait_ms, int *progressed) {
    char req[512], *answer = NULL;
    snprintf(req, sizeof req, "{\"handle\":\"%s\",\"max_bytes\":262144,\"offset\":%lld,\"sandbox_id\":\"benchx\","
             "\"stream\":\"%s\",\"wait_ms\":%d}", handle, *offset, stream, wait_ms);
    if (call(p, inst, "exec_read", req, &answer) || !answer) exit(1);
    long long next = num(answer, "next_offset");
    int eof = yes(answer, "eof");
    if (next > *offset || eof) *progressed = 1;
    *offset = next;
    free(answer);
    return eof;
}

static double run_streamed(const sbx_plugin *p, void *inst) {
    static const char start[] = "{\"argv\":[\"true\"],\"backend_ref\":\"benchx\",\"env\":{},\"sandbox_id\":\"benchx\","
                                "\"stdin\":false,\"timeout_seconds\":600}";
    char *answer = NULL, handle[128], req[512];
    double t0 = mono();
    if (call(p, inst, "exec_start", start, &answer) || !answer) exit(1);
    const char *h = strstr(answer, "\"handle\":\"");
    if (!h || sscanf(h + 10, "%127[^\"]", handle) != 1) { fprintf(stderr, "exec_start answered %s\n", answer); exit(1); }
    free(answer);
    /* ExecStreamRun.readInline: stdout waits up to 50 ms, stderr is only polled. */
    long long off[2] = { 0, 0 };
    int open[2] = { 1, 1 };
    const char *name[2] = { "stdout", "stderr" };
    for (;;) {
        int progressed = 0, first = 1;
        for (int s = 0; s < 2; s++) {
            if (!open[s]) continue;
            if (read_stream(p, inst, handle, name[s], &off[s], first ? 50 : 0, &progressed)) open[s] = 0;
            first = 0;
        }
        if (!open[0] && !open[1]) break;
        if (!progressed) {
            /* The host's reader threads would take over here; read each to its end in turn. */
            for (int s = 0; s < 2; s++) while (open[s]) if (read_stream(p, inst, handle, name[s], &off[s], 500, &progressed)) open[s] = 0;
            break;
        }
    }
    int code = -1;
    for (;;) {
        snprintf(req, sizeof req, "{\"handle\":\"%s\",\"sandbox_id\":\"benchx\",\"wait_ms\":500}", handle);
        if (call(p, inst, "exec_wait", req, &answer) || !answer) exit(1);
        int running = strstr(answer, "\"state\":\"running\"") != NULL;
        code = (int)num(answer, "exit_code");
        free(answer);
        if (!running) break;
    }
    snprintf(req, sizeof req, "{\"handle\":\"%s\",\"sandbox_id\":\"benchx\"}", handle);
    if (call(p, inst, "exec_release", req, NULL)) exit(1);
    double t1 = mono();
    if (code != 0) { fprintf(stderr, "the streamed true exited %d\n", code); exit(1); }
    return t1 - t0;
}

int main(int argc, char **argv) { return driver_main(argc, argv, "sbxstreambench", run_streamed); }
