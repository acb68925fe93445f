/*
 * bench/driver-common.h — what the C-ABI bench drivers (localvm-exec-driver.c,
 * localvm-stream-driver.c, and in part localvm-driver.c) share: do-nothing host callbacks, a monotonic clock, one `invoke` with
 * its answer copied out, the sandbox init's pid from meta.json, one timed `nsenter -a -t PID true`,
 * and the whole main (`driver_main`): each driver only says what one measured exec is.
 * Included once by each driver, after the system headers it uses (its functions are static; the
 * create/destroy driver, localvm-driver.c, takes the callbacks and `call` only).
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
__attribute__((unused)) static long init_pid(const char *data, const char *id) {
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

__attribute__((unused)) static double run_nsenter(const char *pid) {
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


/* The whole driver: dlopen, one instance and sandbox, N interleaved rounds of `measured` and
 * nsenter (MODE "ab", the default) or of `measured` alone (MODE "plugin"), then destroy. The
 * instance's cgroup parent is `cgroup_prefix`-<pid>, so concurrent drivers never share one. */
__attribute__((unused)) static int driver_main(int argc, char **argv, const char *cgroup_prefix, double (*measured)(const sbx_plugin *, void *)) {
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
    snprintf(cfg, sizeof cfg, "{\"data_dir\":\"%s\",\"cgroup_parent\":\"%s-%d\"}", data, cgroup_prefix, (int)getpid());
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
    for (int i = 0; i < 3; i++) { measured(p, inst); if (ab) run_nsenter(pidtext); }
    for (int i = 0; i < n; i++) {
        /* Alternate which goes first, so neither always runs right after the other's exit. */
        double a, b = 0;
        if (!ab) a = measured(p, inst);
        else if (i % 2) { b = run_nsenter(pidtext); a = measured(p, inst); }
        else { a = measured(p, inst); b = run_nsenter(pidtext); }
        if (ab) printf("%.3f %.3f\n", a, b); else printf("%.3f\n", a);
    }
out:
    if (call(p, inst, "destroy", "{\"sandbox_id\":\"benchx\",\"backend_ref\":\"benchx\"}", NULL)) rc = 1;
    p->instance_destroy(inst);
    return rc;
}

#endif
