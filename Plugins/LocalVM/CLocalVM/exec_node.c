/*
 * exec_node.c — the BYOK node helper's streaming variant of clvm_exec: clvm_node_exec_start / clvm_node_exec_end.
 *
 * clvm_exec collects a command's output whole and takes its stdin up front; a caller that relays
 * both as they flow (the BYOK node helper) needs the descriptors instead and runs its own loop.
 * The process layout is clvm_exec's (see exec.c): helper A joins the sandbox's cgroups, enters its
 * namespaces through the init's pidfd, becomes root there and forks B, which starts a session (so
 * the caller can kill the command's process group) and execs. A's status pipe carries B's host pid
 * (int32) and then B's wait status (int32). The set-up code mirrors exec.c step for step, plus a
 * working directory; a change to exec.c's child steps (hardening) belongs here too.
 */
#include "internal.h"
#include "clocalvm.h"

#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct stream_fds { int in_r, out_w, err_w, status_w, fail_w; };


static void stream_a(const clvm_exec_spec *s, const char *cwd, const struct stream_fds *f) {
    /* A lives as long as the command: it must not hold the caller's standard streams (a relay's
     * stdout would not reach EOF while it lives). B gets its own below. */
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        for (int i = 0; i < 3; i++) if (null != i) (void)dup2(null, i);
        if (null > 2) close(null);
    }
    int oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (oom >= 0) { (void)clvm_write_all(oom, "0", 1); close(oom); }
    for (size_t i = s->command_only_cgroups; i < s->cgroup_count; i++) {
        if (clvm_write_all(s->cgroup_fds[i], "0", 1) < 0) { clvm_child_report(f->fail_w, CLVM_STEP_CGROUP, errno, (int)i); _exit(1); }
    }
    if (setns(s->init_pidfd, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC |
                                 CLONE_NEWNET | CLONE_NEWCGROUP) < 0) {
        clvm_child_report(f->fail_w, CLVM_STEP_SETNS, errno, 0);
        _exit(1);
    }
    int err = 0, step = clvm_child_become_root(&err);
    if (step) { clvm_child_report(f->fail_w, step, err, 0); _exit(1); }
    long b = clvm_raw_clone(SIGCHLD);
    if (b < 0) { clvm_child_report(f->fail_w, CLVM_STEP_FORK, errno, 0); _exit(1); }
    if (b == 0) clvm_exec_child_b(s, cwd, f->in_r, f->out_w, f->err_w, f->fail_w);
    clvm_exec_child_a_wait(b, f->status_w, -1);
}

int clvm_node_exec_start(const clvm_exec_spec *s, const char *cwd, clvm_node_exec *out, char *err, size_t err_len) {
    int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, inp[2] = { -1, -1 }, statp[2] = { -1, -1 }, failp[2] = { -1, -1 };
    int ok = pipe2(outp, O_CLOEXEC) == 0 && pipe2(errp, O_CLOEXEC) == 0 && pipe2(statp, O_CLOEXEC) == 0 &&
             pipe2(failp, O_CLOEXEC) == 0;
    /* A pipe, not a socket: see clvm_exec_pipes (sendfile from a socket stdin deadlocks the relay). */
    if (ok && s->has_stdin) ok = pipe2(inp, O_CLOEXEC) == 0;
    else if (ok) ok = (inp[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;
    if (!ok) {
        snprintf(err, err_len, "pipe2: %s", strerror(errno));
        int all[] = { outp[0], outp[1], errp[0], errp[1], statp[0], statp[1], failp[0], failp[1], inp[0], inp[1] };
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) if (all[i] >= 0) close(all[i]);
        return -1;
    }
    struct stream_fds f = { clvm_hoist_fd(inp[0]), clvm_hoist_fd(outp[1]), clvm_hoist_fd(errp[1]), clvm_hoist_fd(statp[1]),
                            clvm_hoist_fd(failp[1]) };
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    long a = clvm_raw_clone(SIGCHLD);
    if (a == 0) stream_a(s, cwd, &f);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(f.in_r); close(f.out_w); close(f.err_w); close(f.status_w); close(f.fail_w);
    if (a < 0) {
        snprintf(err, err_len, "clone: %s", strerror(clone_errno));
        close(outp[0]); close(errp[0]); close(statp[0]); close(failp[0]);
        if (inp[1] >= 0) close(inp[1]);
        return -1;
    }
    out->helper_pid = (pid_t)a;
    out->stdin_fd = inp[1];
    out->stdout_fd = outp[0];
    out->stderr_fd = errp[0];
    out->status_fd = statp[0];
    out->fail_fd = failp[0];
    return 0;
}

int clvm_node_exec_end(clvm_node_exec *p, int *exec_errno, char *err, size_t err_len) {
    int *fds[] = { &p->stdin_fd, &p->stdout_fd, &p->stderr_fd, &p->status_fd };
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) if (*fds[i] >= 0) { close(*fds[i]); *fds[i] = -1; }
    *exec_errno = 0;
    /* Reaped first: once A is gone, every record B could write is in the pipe. */
    if (p->helper_pid > 0) {
        int st;
        while (waitpid(p->helper_pid, &st, 0) < 0 && errno == EINTR) {}
        p->helper_pid = 0;
    }
    struct clvm_child_error e;
    ssize_t got = -1;
    if (p->fail_fd >= 0) {
        fcntl(p->fail_fd, F_SETFL, O_NONBLOCK);
        got = read(p->fail_fd, &e, sizeof e);
        close(p->fail_fd);
        p->fail_fd = -1;
    }
    if (got == (ssize_t)sizeof e && e.step == CLVM_STEP_EXEC) { *exec_errno = e.err; return 0; }
    if (got == (ssize_t)sizeof e) { clvm_format_child_error(&e, err, err_len); return -1; }
    return 0;
}
