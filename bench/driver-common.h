/*
 * bench/driver-common.h — what the C-ABI bench drivers (localvm-exec-driver.c,
 * localvm-stream-driver.c) share: do-nothing host callbacks, a monotonic clock, one `invoke` with
 * its answer copied out, the sandbox init's pid from meta.json, and one timed `nsenter -a -t PID true`.
 * Included once by each driver, after the system headers it uses (its functions are static).
 */
#ifndef SANDBOXER_BENCH_DRIVER_COMMON_H
#define SANDBOXER_BENCH_DRIVER_COMMON_H
extern char **environ;

static void lg(void *c, int32_t l, const char *m, const uint8_t *j, size_t n) { (void)c; (void)l; (void)m; (void)j; (void)n; }
static int64_t now_ms(void *c) { (void)c; struct timespec t; clock_gettime(CLOCK_REALTIME, &t); return t.tv_sec * 1000LL + t.tv_nsec / 1000000; }
static int32_t sec(void *c, const char *n, uint8_t **o, size_t *l) { (void)c; (void)n; (void)o; (void)l; return SBX_NOT_FOUND; }
static void bf(void *c, uint8_t *d, size_t l) { (void)c; (void)d; (void)l; }
static int32_t canc(void *c, uint64_t id) { (void)c; (void)id; return 0; }
static double mono(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }

/* Invokes op; on success returns 0 and, when `answer` is given, a copy of the response (NUL-ended). */
static int call(const sbx_plugin *p, void *inst, const char *op, const char *json, char **answer) {
    sbx_result r = { sizeof r, 0, 0, 0 };
    int rc = p->invoke(inst, op, (const uint8_t *)json, strlen(json), 1, &r);
    if (rc) fprintf(stderr, "%s: code %d: %.*s\n", op, rc, (int)r.len, r.data);
    if (!rc && answer) {
        *answer = malloc(r.len + 1);
        if (*answer) { memcpy(*answer, r.data, r.len); (*answer)[r.len] = 0; }
    }
    p->result_free(&r);
    return rc;
}

/* The init's host pid from the sandbox's meta.json ("init_pid":N). */
static long init_pid(const char *data, const char *id) {
    char path[4096];
    snprintf(path, sizeof path, "%s/sandboxes/%s/meta.json", data, id);
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); return -1; }
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *k = strstr(buf, "\"init_pid\"");
    if (!k) return -1;
    k = strchr(k, ':');
    return k ? strtol(k + 1, NULL, 10) : -1;
}

static double run_nsenter(const char *pid) {
    char *argv[] = { "nsenter", "-a", "-t", (char *)pid, "true", NULL };
    double t0 = mono();
    pid_t child;
    if (posix_spawnp(&child, "nsenter", NULL, NULL, argv, environ) != 0) { perror("nsenter"); exit(1); }
    int st;
    while (waitpid(child, &st, 0) < 0) {}
    double t1 = mono();
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "nsenter failed: status %d\n", st); exit(1); }
    return t1 - t0;
}


#endif
