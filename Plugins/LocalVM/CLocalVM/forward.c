/*
 * forward.c — starts a sandbox's port forwarder: clvm_spawn_forwarder.
 *
 * Same shape as the launcher: a raw-cloned intermediate clones the forwarder, moves it into the
 * sandbox's v2 cgroup, releases it, reports its pid and exits, so the forwarder is nobody's child
 * here and survives the caller. The forwarder execs a separate small program at once (a copy of a
 * large host process must not live on for days holding its memory).
 */
#include "internal.h"
#include "clocalvm.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <grp.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Child: wait for the intermediate, put the listeners at 3, 4, ..., exec. Never returns. */
static void forwarder_child(const clvm_forward_spec *s, int errfd, int gofd) {
    char c;
    ssize_t r;
    do { r = read(gofd, &c, 1); } while (r < 0 && errno == EINTR);
    if (r != 1) _exit(1);
    if (setsid() < 0) { clvm_child_report(errfd, CLVM_STEP_SETSID, errno, 0); _exit(1); }
    /* Move every listener above the target range first, so dup2 onto 3.. never clobbers one. */
    int base = 3 + (int)s->listen_count + 8;
    if (errfd < base) {
        int moved = fcntl(errfd, F_DUPFD_CLOEXEC, base);
        if (moved < 0) _exit(1);
        errfd = moved;
        base = errfd + 1;
    }
    int high[64];
    for (size_t i = 0; i < s->listen_count; i++) {
        high[i] = fcntl(s->listen_fds[i], F_DUPFD_CLOEXEC, base);
        if (high[i] < 0) { clvm_child_report(errfd, CLVM_STEP_STDIO, errno, (int)i); _exit(1); }
        base = high[i] + 1;
    }
    for (size_t i = 0; i < s->listen_count; i++) {
        if (dup2(high[i], 3 + (int)i) < 0) { clvm_child_report(errfd, CLVM_STEP_STDIO, errno, (int)i); _exit(1); }
    }
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) {
        clvm_child_report(errfd, CLVM_STEP_STDIO, errno, 100);
        _exit(1);
    }
    /* Nothing else the host process had open may reach the forwarder. */
    if (syscall(SYS_close_range, 3U + (unsigned)s->listen_count, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        clvm_child_report(errfd, CLVM_STEP_STDIO, errno, 101);
        _exit(1);
    }
    if (chdir("/") < 0) { clvm_child_report(errfd, CLVM_STEP_CHDIR, errno, 0); _exit(1); }
    /* Drop to nobody before exec, so the forwarder never runs a single instruction as root (the
     * caller sees it started only after the exec, and by then its credentials are final). */
    if (setgroups(0, NULL) < 0) { clvm_child_report(errfd, CLVM_STEP_SETGROUPS, errno, 0); _exit(1); }
    if (setresgid(65534, 65534, 65534) < 0) { clvm_child_report(errfd, CLVM_STEP_SETGID, errno, 0); _exit(1); }
    if (setresuid(65534, 65534, 65534) < 0) { clvm_child_report(errfd, CLVM_STEP_SETUID, errno, 0); _exit(1); }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) { clvm_child_report(errfd, CLVM_STEP_EXEC, errno, 1); _exit(1); }
    clvm_child_reset_signals();
    execve(s->path, (char *const *)s->argv, (char *const *)s->envp);
    clvm_child_report(errfd, CLVM_STEP_EXEC, errno, 0);
    _exit(127);
}

static void forwarder_intermediate(const clvm_forward_spec *s, int errfd, int go_r, int go_w, int report_w) {
    long pid = clvm_raw_clone(SIGCHLD);
    if (pid < 0) { clvm_child_report(errfd, CLVM_STEP_CLONE, errno, 0); _exit(1); }
    if (pid == 0) {
        close(go_w);
        close(report_w);
        forwarder_child(s, errfd, go_r);
    }
    close(go_r);
    if (s->cgroup_fd >= 0) {
        char num[24];
        size_t n = clvm_u64_to_dec(num, (uint64_t)pid);
        if (clvm_write_all(s->cgroup_fd, num, n) < 0) {
            clvm_child_report(errfd, CLVM_STEP_CGROUP, errno, 0);
            kill((pid_t)pid, SIGKILL);
            _exit(1);
        }
    }
    if (clvm_write_all(go_w, "g", 1) < 0) {
        clvm_child_report(errfd, CLVM_STEP_SYNC, errno, 0);
        kill((pid_t)pid, SIGKILL);
        _exit(1);
    }
    int32_t p32 = (int32_t)pid;
    (void)clvm_write_all(report_w, &p32, sizeof p32);
    _exit(0);
}

int clvm_spawn_forwarder(const clvm_forward_spec *s, pid_t *out_pid, char *err, size_t err_len) {
    if (s->listen_count == 0 || s->listen_count > 64) {
        snprintf(err, err_len, "a forwarder takes 1 to 64 listening sockets, not %zu", s->listen_count);
        return -1;
    }
    int errp[2], gop[2], rep[2];
    if (pipe2(errp, O_CLOEXEC) < 0) { snprintf(err, err_len, "pipe2: %s", strerror(errno)); return -1; }
    if (pipe2(gop, O_CLOEXEC) < 0) {
        snprintf(err, err_len, "pipe2: %s", strerror(errno));
        close(errp[0]); close(errp[1]);
        return -1;
    }
    if (pipe2(rep, O_CLOEXEC) < 0) {
        snprintf(err, err_len, "pipe2: %s", strerror(errno));
        close(errp[0]); close(errp[1]); close(gop[0]); close(gop[1]);
        return -1;
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    long mid = clvm_raw_clone(SIGCHLD);
    if (mid == 0) forwarder_intermediate(s, errp[1], gop[0], gop[1], rep[1]);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(errp[1]); close(gop[0]); close(gop[1]); close(rep[1]);
    if (mid < 0) {
        close(errp[0]); close(rep[0]);
        snprintf(err, err_len, "clone: %s", strerror(clone_errno));
        return -1;
    }
    int32_t pid = 0;
    ssize_t got_pid = clvm_read_full(rep[0], &pid, sizeof pid);
    struct clvm_child_error e;
    /* EOF here: the forwarder exec'd (its copy of the pipe was close-on-exec). */
    ssize_t got_err = clvm_read_full(errp[0], &e, sizeof e);
    close(rep[0]);
    close(errp[0]);
    return clvm_finish_spawn(mid, got_pid, pid, got_err, &e, "forwarder", out_pid, err, err_len);
}
