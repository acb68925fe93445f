/*
 * exec.c — runs one command inside a running sandbox: clvm_exec.
 *
 * Process layout: the caller starts helper A (exec_helper.c: the static helper program, cloned
 * without copying the caller's memory; without that program, a raw clone of the caller); A joins the sandbox's cgroups (setns does not
 * change cgroups, and once in the sandbox's user namespace it could no longer write the host's
 * cgroup files), enters all namespaces of the init through its pidfd in one setns (user first),
 * becomes root of the sandbox and forks B, which is therefore in the sandbox's pid namespace.
 * B starts a session (so a timeout can kill its whole process group) and execs. A sends B's pid and
 * then B's wait status through a pipe, so the result never depends on who reaps what in the host.
 */
#include "internal.h"
#include "clocalvm.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* After the command exits, how long to keep reading output that background processes may still
 * hold open before returning what was captured. */
#define CLVM_DRAIN_GRACE_MS 100

static int64_t now_ms(void);

struct exec_fds {
    int in_r;      /* stdin for B */
    int out_w;     /* stdout of B */
    int err_w;     /* stderr of B */
    int status_w;  /* A -> caller: B's pid, then B's wait status */
    int fail_w;    /* failed step records (CLOEXEC: EOF once B has exec'd) */
    int cg_procs;  /* fast cgroup mode without clone3: the v2 cgroup's cgroup.procs, for A (or -1) */
};

/* struct clone_args of clone3 (linux/sched.h), spelled out: that header clashes with some glibcs'. */
struct clvm_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};


/* B: joins the cgroups only the command joins, starts its session, takes its stdio, is fenced, execs.
 * Shared with the node helper (exec_node.c), which also names a working directory. */
void clvm_exec_child_b(const clvm_exec_spec *s, const char *cwd, int in_r, int out_w, int err_w, int fail_w) {
    /* The cgroups only the command joins (see clvm_exec_spec). Permission comes from the opener of
     * the fd (the host), so the sandbox's uid may move itself. */
    for (size_t i = 0; i < s->command_only_cgroups && i < s->cgroup_count; i++) {
        if (clvm_write_all(s->cgroup_fds[i], "0", 1) < 0) {
            clvm_child_report(fail_w, CLVM_STEP_CGROUP, errno, (int)i);
            _exit(127);
        }
    }
    if (setsid() < 0) { clvm_child_report(fail_w, CLVM_STEP_SETSID, errno, 0); _exit(127); }
    if (dup2(in_r, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0) {
        clvm_child_report(fail_w, CLVM_STEP_STDIO, errno, 0);
        _exit(127);
    }
    if (chdir(cwd ? cwd : "/") < 0) { clvm_child_report(fail_w, CLVM_STEP_CHDIR, errno, 0); _exit(127); }
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        clvm_child_report(fail_w, CLVM_STEP_STDIO, errno, 1);
        _exit(127);
    }
    /* The same fence as the init's: entered through setns, the command would otherwise hold every
     * capability of the sandbox's user namespace. */
    int herr = 0, hstep = clvm_child_harden(&herr);
    if (hstep) { clvm_child_report(fail_w, hstep, herr, 0); _exit(127); }
    clvm_child_reset_signals();
    int e = clvm_exec_search(s->argv, s->envp);
    clvm_child_report(fail_w, CLVM_STEP_EXEC, e, 0);
    _exit(127);
}

static void exec_a(const clvm_exec_spec *s, const struct exec_fds *f) {
    /* The command starts as an ordinary OOM candidate whatever the host's own oom_score_adj (a
     * server may protect itself); raising it needs no privilege, lowering it is best effort. A stays
     * out of the sandbox's memory cgroup (B joins it), so the sandbox's OOM kills never pick A. */
    int oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (oom >= 0) { (void)clvm_write_all(oom, "0", 1); close(oom); }
    /* In the fast mode the last fd is the v2 cgroup A was cloned into (or, without clone3, joins
     * through cg_procs); the others are v1 `tasks` files, where "0" moves just this thread. */
    size_t end = s->cgroup_count;
    if (s->cgroup_fast && end > s->command_only_cgroups) end--;
    for (size_t i = s->command_only_cgroups; i < end; i++) {
        if (clvm_write_all(s->cgroup_fds[i], "0", 1) < 0) {
            clvm_child_report(f->fail_w, CLVM_STEP_CGROUP, errno, (int)i);
            _exit(1);
        }
    }
    if (f->cg_procs >= 0 && clvm_write_all(f->cg_procs, "0", 1) < 0) {
        clvm_child_report(f->fail_w, CLVM_STEP_CGROUP, errno, (int)end);
        _exit(1);
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
    if (b == 0) clvm_exec_child_b(s, NULL, f->in_r, f->out_w, f->err_w, f->fail_w);
    clvm_exec_child_a_wait(b, f->status_w, s->timeout_ms);
}

void clvm_exec_run_a(const clvm_exec_spec *s, int in_r, int out_w, int err_w, int status_w, int fail_w) {
    struct exec_fds f = { in_r, out_w, err_w, status_w, fail_w, -1 };
    exec_a(s, &f);
    _exit(1); /* not reached: exec_a ends in clvm_exec_child_a_wait */
}

/* A: waits up to timeout_ms for B through a pidfd; past it, kills B's process group (B leads it:
 * setsid) and B. 1 when it killed, 0 when B ended first or there is no pidfd (kernel < 5.3: the
 * caller's deadline alone then holds). B is A's unreaped child throughout, so its pid and group
 * cannot name another process. */
static int a_wait_deadline(long b, int64_t timeout_ms) {
    int pfd = (int)syscall(SYS_pidfd_open, (pid_t)b, 0);
    if (pfd < 0) return 0;
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            (void)kill((pid_t)-b, SIGKILL);
            (void)syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
            close(pfd);
            return 1;
        }
        struct pollfd p = { pfd, POLLIN, 0 };
        int rc = poll(&p, 1, left > 3600000 ? 3600000 : (int)left);
        if (rc > 0 || (rc < 0 && errno != EINTR)) { close(pfd); return 0; }
    }
}

void clvm_exec_child_a_wait(long b, int status_w, int64_t timeout_ms) {
    /* A lives as long as the command and holds the host's descriptors (a copy of the host in the
     * fallback; the helper program still has those not marked close-on-exec): keep
     * only the status pipe, or every descriptor the host had open at clone time (client sockets, lock
     * files, other sandboxes' pipes) stays open until the command ends. B closes its own copies at exec (CLOEXEC above). */
    unsigned keep = (unsigned)status_w;
    if (keep > 3) (void)syscall(SYS_close_range, 3U, keep - 1, 0U);
    (void)syscall(SYS_close_range, keep + 1 > 3 ? keep + 1 : 3U, ~0U, 0U);
    int32_t p32 = (int32_t)b;
    (void)clvm_write_all(status_w, &p32, sizeof p32);
    /* The command's deadline holds in A too: a host that stops calling (or a streamed handle it
     * forgot) cannot keep a command past its timeout, and no thread of the host has to watch it. */
    int timed_out = timeout_ms >= 0 && a_wait_deadline(b, timeout_ms);
    int st = 0;
    while (waitpid((pid_t)b, &st, 0) < 0) {
        if (errno != EINTR) { st = 0x7f00; break; } /* cannot happen: B is our child */
    }
    int32_t s32 = timed_out ? st | CLVM_STATUS_TIMED_OUT : st;
    (void)clvm_write_all(status_w, &s32, sizeof s32);
    _exit(0);
}

long clvm_exec_spawn_helper(const clvm_exec_spec *s, int in_r, int out_w, int err_w, int status_w, int fail_w) {
    struct exec_fds f = { in_r, out_w, err_w, status_w, fail_w, -1 };
    int into = s->cgroup_fast && s->cgroup_count > s->command_only_cgroups ? s->cgroup_fds[s->cgroup_count - 1] : -1;
    /* Every signal blocked, so no host handler runs in the child; A resets them before exec. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    long a = -1;
    int fallback = into < 0;
    /* A as the static helper program (exec_helper.c), when there is one: nothing of this process's
     * address space is copied. A kernel or architecture without that way takes the old one. */
    if (s->helper_fd > 2) {
        a = clvm_exec_spawn_program_helper(s, in_r, out_w, err_w, status_w, fail_w, into);
        if (a >= 0 || (errno != ENOSYS && errno != E2BIG && errno != EINVAL)) {
            int saved = errno;
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            errno = saved;
            return a;
        }
    }
    if (into >= 0) {
        struct clvm_clone_args ca;
        memset(&ca, 0, sizeof ca);
        ca.flags = CLONE_INTO_CGROUP;
        ca.exit_signal = SIGCHLD;
        ca.cgroup = (uint64_t)into;
        a = syscall(SYS_clone3, &ca, sizeof ca);
        /* A kernel without clone3 or CLONE_INTO_CGROUP: A joins that cgroup by a write instead. */
        if (a < 0 && (errno == ENOSYS || errno == E2BIG || errno == EINVAL)) {
            f.cg_procs = openat(into, "cgroup.procs", O_WRONLY | O_CLOEXEC);
            fallback = f.cg_procs >= 0;
        }
    }
    if (fallback) a = clvm_raw_clone(SIGCHLD);
    if (a == 0) exec_a(s, &f);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (f.cg_procs >= 0) close(f.cg_procs);
    errno = saved;
    return a;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct buf { uint8_t *p; size_t len, cap, max; };

static int buf_append(struct buf *b, const uint8_t *data, size_t n) {
    if (b->len + n > b->max) n = b->max - b->len; /* over the cap: read and drop */
    if (n == 0) return 0;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        uint8_t *np = realloc(b->p, cap);
        if (!np) return -1;
        b->p = np; b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

/* Reads what is available from fd into b; returns 1 at EOF (or a read error), else 0. */
static int drain(int fd, struct buf *b) {
    uint8_t chunk[65536];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r > 0) { if (buf_append(b, chunk, (size_t)r) < 0) return 1; continue; }
        if (r == 0) return 1;
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return 0;
        return 1;
    }
}

static void close_if(int *fd) { if (*fd >= 0) { close(*fd); *fd = -1; } }

int clvm_exec(const clvm_exec_spec *s, clvm_exec_result *res, char *err, size_t err_len) {
    memset(res, 0, sizeof *res);
    int outp[2], errp[2], inp[2], statp[2], failp[2];
    if (clvm_exec_pipes(s->has_stdin, outp, errp, inp, statp, failp, err, err_len) < 0) return -1;
    struct exec_fds f = {
        clvm_hoist_fd(inp[0]), clvm_hoist_fd(outp[1]), clvm_hoist_fd(errp[1]), statp[1], clvm_hoist_fd(failp[1]), -1,
    };

    long a = clvm_exec_spawn_helper(s, f.in_r, f.out_w, f.err_w, f.status_w, f.fail_w);
    int clone_errno = errno;
    close(f.in_r); close(f.out_w); close(f.err_w); close(f.status_w); close(f.fail_w);
    if (a < 0) {
        snprintf(err, err_len, "clone: %s", strerror(clone_errno));
        close(outp[0]); close(errp[0]); close(statp[0]); close(failp[0]); close_if(&inp[1]);
        return -1;
    }

    int out_fd = outp[0], err_fd = errp[0], stat_fd = statp[0], in_fd = inp[1];
    fcntl(out_fd, F_SETFL, O_NONBLOCK);
    fcntl(err_fd, F_SETFL, O_NONBLOCK);
    size_t in_off = 0;
    if (in_fd >= 0) fcntl(in_fd, F_SETFL, O_NONBLOCK);
    if (in_fd >= 0 && s->stdin_len == 0) close_if(&in_fd);

    struct buf out = { 0, 0, 0, s->max_output }, errb = { 0, 0, 0, s->max_output };
    uint8_t stat_bytes[8];
    size_t stat_len = 0;
    pid_t b = 0;
    int b_pidfd = -1, have_status = 0, status = 0, kill_pending = 0;
    int64_t deadline = s->timeout_ms >= 0 ? now_ms() + s->timeout_ms : -1, exited_at = -1;

    for (;;) {
        if (have_status && out_fd < 0 && err_fd < 0) break;
        if (!have_status && stat_fd < 0) break; /* A died without a status */
        int timeout = -1;
        int64_t now = now_ms();
        if (have_status) {
            int64_t left = exited_at + CLVM_DRAIN_GRACE_MS - now;
            if (left <= 0) break;
            timeout = (int)left;
        } else if (deadline >= 0 && !res->timed_out) {
            int64_t left = deadline - now;
            timeout = left > 0 ? (int)(left > 60000 ? 60000 : left) : 0;
        }
        struct pollfd p[4];
        int n = 0, i_out = -1, i_err = -1, i_in = -1, i_stat = -1;
        if (out_fd >= 0) { i_out = n; p[n].fd = out_fd; p[n].events = POLLIN; n++; }
        if (err_fd >= 0) { i_err = n; p[n].fd = err_fd; p[n].events = POLLIN; n++; }
        if (in_fd >= 0) { i_in = n; p[n].fd = in_fd; p[n].events = POLLOUT; n++; }
        if (stat_fd >= 0) { i_stat = n; p[n].fd = stat_fd; p[n].events = POLLIN; n++; }
        int rc = poll(p, (nfds_t)n, timeout);
        if (rc < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (rc == 0 && !have_status && deadline >= 0 && !res->timed_out && now_ms() >= deadline) {
            res->timed_out = 1;
            if (b > 0) {
                kill(-b, SIGKILL);
                if (b_pidfd >= 0) clvm_pidfd_signal(b_pidfd, SIGKILL);
            } else {
                kill_pending = 1; /* B's pid is on its way */
            }
            continue;
        }
        if (i_out >= 0 && p[i_out].revents && drain(out_fd, &out)) close_if(&out_fd);
        if (i_err >= 0 && p[i_err].revents && drain(err_fd, &errb)) close_if(&err_fd);
        if (i_in >= 0 && p[i_in].revents) {
            if (p[i_in].revents & (POLLERR | POLLHUP)) {
                close_if(&in_fd);
            } else {
                ssize_t w = clvm_pipe_write(in_fd, s->stdin_data + in_off, s->stdin_len - in_off);
                if (w > 0) in_off += (size_t)w;
                else if (w < 0 && errno != EAGAIN && errno != EINTR) close_if(&in_fd);
                if (in_fd >= 0 && in_off == s->stdin_len) close_if(&in_fd);
            }
        }
        if (i_stat >= 0 && p[i_stat].revents) {
            ssize_t r = read(stat_fd, stat_bytes + stat_len, sizeof stat_bytes - stat_len);
            if (r > 0) {
                stat_len += (size_t)r;
                if (b == 0 && stat_len >= 4) {
                    int32_t v; memcpy(&v, stat_bytes, 4);
                    b = v;
                    b_pidfd = clvm_pidfd_open(b);
                    if (kill_pending) {
                        kill(-b, SIGKILL);
                        if (b_pidfd >= 0) clvm_pidfd_signal(b_pidfd, SIGKILL);
                    }
                }
                if (stat_len == 8) {
                    int32_t v; memcpy(&v, stat_bytes + 4, 4);
                    if (v & CLVM_STATUS_TIMED_OUT) res->timed_out = 1; /* A's deadline came first */
                    status = v & 0xffff;
                    have_status = 1;
                    exited_at = now_ms();
                    close_if(&stat_fd);
                }
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                close_if(&stat_fd);
            }
        }
    }
    close_if(&out_fd); close_if(&err_fd); close_if(&in_fd); close_if(&stat_fd);
    if (b_pidfd >= 0) close(b_pidfd);

    struct clvm_child_error e;
    fcntl(failp[0], F_SETFL, O_NONBLOCK);
    ssize_t got = read(failp[0], &e, sizeof e);
    close(failp[0]);
    int st;
    while (waitpid((pid_t)a, &st, 0) < 0 && errno == EINTR) {}

    res->out = out.p; res->out_len = out.len;
    res->err = errb.p; res->err_len = errb.len;
    if (got == (ssize_t)sizeof e && e.step == CLVM_STEP_EXEC) {
        res->exec_errno = e.err;
        res->exit_code = e.err == ENOENT ? 127 : 126;
        return 0;
    }
    if (got == (ssize_t)sizeof e) {
        clvm_format_child_error(&e, err, err_len);
        clvm_exec_result_free(res);
        return -1;
    }
    if (!have_status) {
        snprintf(err, err_len, "the exec helper exited without reporting the command's status");
        clvm_exec_result_free(res);
        return -1;
    }
    if (WIFEXITED(status)) res->exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) res->exit_code = 128 + WTERMSIG(status);
    else res->exit_code = 255;
    return 0;
}

void clvm_exec_result_free(clvm_exec_result *r) {
    if (!r) return;
    free(r->out); free(r->err);
    r->out = r->err = NULL;
    r->out_len = r->err_len = 0;
}
