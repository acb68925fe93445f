/*
 * exec.c — the exec verb: one command in a running sandbox, its stdin, stdout and stderr relayed as
 * frames while they flow (frames.c), its status as the last frame.
 *
 * The command dies with its call: its process group is killed when --timeout-ms passes (the
 * helper's own timer), when the controller's stream ends (EOF on our stdin, before or after the
 * end-of-stdin frame: ssh is gone; the stdin-EOF watchdog), or when our stdout breaks.
 */
#include "node.h"
#include "clocalvm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

int env_valid(const char *kv, struct node_err *e);

struct exec_req {
    const char *id, *cwd;
    long long timeout_ms;
    const char *env[NODE_MAX_ENV];
    int env_count;
    char **argv;
};

static int parse(int argc, char **argv, struct exec_req *r, struct node_err *e) {
    memset(r, 0, sizeof *r);
    r->timeout_ms = -1;
    int i = 0;
    for (; i < argc && strcmp(argv[i], "--"); i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return nfail(e, "invalid_request", "The option %.40s of exec needs a value.", k);
        if (!strcmp(k, "--id")) r->id = v;
        else if (!strcmp(k, "--cwd")) {
            if (v[0] != '/' || strlen(v) >= 4096) return nfail(e, "invalid_request", "--cwd must be an absolute path shorter than 4096 bytes.");
            r->cwd = v;
        } else if (!strcmp(k, "--timeout-ms")) {
            if (parse_i64(v, 1, NODE_MAX_TTL_SECONDS * 1000, &r->timeout_ms) < 0)
                return nfail(e, "invalid_request", "--timeout-ms must be a positive whole number.");
        } else if (!strcmp(k, "--env")) {
            if (r->env_count >= NODE_MAX_ENV) return nfail(e, "invalid_request", "exec takes at most %d --env entries.", NODE_MAX_ENV);
            if (env_valid(v, e) < 0) return -1;
            r->env[r->env_count++] = v;
        } else return nfail(e, "invalid_request", "exec does not know the option %.40s.", k);
    }
    if (!r->id) return nfail(e, "invalid_request", "exec needs --id ID and -- ARGV.");
    if (i >= argc - 1) return nfail(e, "invalid_request", "exec needs a command after --.");
    int n = argc - i - 1;
    size_t total = 0;
    for (int k = i + 1; k < argc; k++) total += strlen(argv[k]) + 1;
    if (n > NODE_MAX_ARGV || total > NODE_MAX_ARGV_BYTES || !argv[i + 1][0])
        return nfail(e, "invalid_request", "The command must be non-empty, at most %d arguments and %d bytes.", NODE_MAX_ARGV, NODE_MAX_ARGV_BYTES);
    r->argv = argv + i + 1;
    return 0;
}

/* envp: defaults, then create's environment (the sandbox's env file), then the request's; later wins. */
static const char **build_env(const struct sbx_paths *p, const struct exec_req *r, char *file, size_t cap) {
    static const char *envp[2 + 2 * NODE_MAX_ENV + 1];
    int n = 0;
    char path[NODE_PATH];
    struct node_err e;
    const char *add[2 + 2 * NODE_MAX_ENV];
    int na = 0;
    add[na++] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
    add[na++] = "HOME=/root";
    ssize_t len = path_join(path, p->dir, "env", &e) < 0 ? -1 : read_small(path, file, cap);
    for (ssize_t off = 0; len > 0 && off < len && na < 2 + NODE_MAX_ENV; off += (ssize_t)strlen(file + off) + 1)
        add[na++] = file + off;
    for (int i = 0; i < r->env_count; i++) add[na++] = r->env[i];
    for (int i = 0; i < na; i++) {
        size_t klen = (size_t)(strchr(add[i], '=') - add[i]) + 1;
        int k = 0;
        while (k < n && strncmp(envp[k], add[i], klen)) k++;
        envp[k] = add[i];
        if (k == n) n++;
    }
    envp[n] = NULL;
    return envp;
}

/* Opens everything the command needs under the sandbox's lock (released before it runs, so a
 * destroy can kill it). */
static int start(const struct node_ctx *c, const struct exec_req *r, clvm_node_exec *s, struct node_err *e) {
    struct sbx_paths p;
    struct cg_layout cg;
    struct node_meta m;
    static char envfile[NODE_MAX_ENV * (NODE_MAX_ENV_BYTES + 1)];
    if (sbx_paths(c, r->id, &p, e) < 0 || cg_layout(c, r->id, &cg, e) < 0) return -1;
    int lock = sbx_lock(&p, r->id, e);
    if (lock < 0) return -1;
    int rc = meta_load(p.dir, &m, e), pidfd = -1, fds[NODE_CG_MAX], nfds = 0;
    if (rc == 0) rc = nfail(e, "not_found", "The sandbox %s has no metadata (it is being created or was damaged).", r->id);
    if (rc > 0 && (pidfd = proc_pidfd(m.pid, m.start_time)) < 0)
        rc = nfail(e, "invalid_request", "The sandbox %s is not running (its init has exited).", r->id);
    /* A snapshot that died mid-way may have left it frozen: every exec would hang. */
    if (rc > 0) rc = cg_freeze(&cg, 0, e);
    if (rc >= 0 && cg_open_procs(&cg, fds, e) == 0) nfds = cg.count; else rc = -1;
    if (rc >= 0) {
        char err[512];
        clvm_exec_spec spec = {
            .init_pidfd = pidfd, .cgroup_fds = fds, .cgroup_count = (size_t)nfds,
            .argv = (const char *const *)r->argv, .envp = build_env(&p, r, envfile, sizeof envfile),
            .has_stdin = 1, .timeout_ms = -1, .command_only_cgroups = (size_t)cg.command_only,
        };
        if (clvm_node_exec_start(&spec, r->cwd, s, err, sizeof err) < 0)
            rc = nfail(e, "internal", "Starting the command in sandbox %s failed: %s.", r->id, err);
    }
    for (int i = 0; i < nfds; i++) close(fds[i]);
    if (pidfd >= 0) close(pidfd);
    close(lock);
    return rc < 0 ? -1 : 0;
}

int relay_run(clvm_node_exec *s, long long timeout_ms, int *status, int *timed_out, struct node_err *proto);

int verb_exec(const struct node_ctx *c, int argc, char **argv) {
    struct node_err e;
    struct exec_req r;
    clvm_node_exec s = { 0, -1, -1, -1, -1, -1 };
    if (parse(argc, argv, &r, &e) < 0 || start(c, &r, &s, &e) < 0) { frame_error(STDOUT_FILENO, &e); return 0; }
    int status = 0, timed_out = 0, exec_errno = 0;
    int rc = relay_run(&s, r.timeout_ms, &status, &timed_out, &e);
    char err[512];
    int end = clvm_node_exec_end(&s, &exec_errno, err, sizeof err);
    if (rc == -1) { frame_error(STDOUT_FILENO, &e); return 0; }
    if (end < 0) {
        nfail(&e, "internal", "Entering sandbox %s failed: %s.", r.id, err);
        frame_error(STDOUT_FILENO, &e);
        return 0;
    }
    if (exec_errno) {
        char msg[600];
        int n = snprintf(msg, sizeof msg, "sandboxer: %.200s: %s\n", r.argv[0], strerror(exec_errno));
        (void)frame_write(STDOUT_FILENO, 2, msg, (size_t)n);
        status = (exec_errno == ENOENT ? 127 : 126) << 8;
    } else if (rc == -2) {
        nfail(&e, "internal", "The exec helper of sandbox %s exited without reporting the command's status.", r.id);
        frame_error(STDOUT_FILENO, &e);
        return 0;
    }
    char json[128];
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : (sig ? 128 + sig : 255);
    if (sig) snprintf(json, sizeof json, "{\"exit_code\":%d,\"timed_out\":%s,\"signal\":%d}", code, timed_out ? "true" : "false", sig);
    else snprintf(json, sizeof json, "{\"exit_code\":%d,\"timed_out\":%s,\"signal\":null}", code, timed_out ? "true" : "false");
    (void)frame_write(STDOUT_FILENO, 3, json, strlen(json));
    return 0;
}
