/*
 * exec_stream.c — starts one command inside a running sandbox and hands its pipes back to the
 * caller instead of capturing them: clvm_exec_start, for streamed exec (sandboxer.exec-stream/1).
 *
 * The command is started exactly as clvm_exec starts it (same helper A, same command B, so every
 * restriction the exec path applies applies here too); only the parent's half differs: it waits
 * until B has exec'd (or failed to), then returns B's pid, a pidfd for it and the parent's ends of
 * the pipes. Nothing here buffers output: the caller reads the pipes at its own pace, and a command
 * whose reader falls behind blocks on its full pipe.
 */
#include "internal.h"
#include "clocalvm.h"

#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#endif

/* Bigger pipes mean fewer wake-ups per megabyte; an unprivileged process may ask for up to
 * /proc/sys/fs/pipe-max-size (1 MiB by default), so a refusal is harmless. */
#define CLVM_STREAM_PIPE_BYTES (1 << 20)

static void close_fd(int *fd) { if (*fd >= 0) { close(*fd); *fd = -1; } }

int clvm_exec_start(const clvm_exec_spec *s, clvm_exec_stream *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    out->command_pidfd = out->stdin_fd = out->stdout_fd = out->stderr_fd = out->status_fd = -1;
    int outp[2], errp[2], inp[2], statp[2], failp[2];
    if (clvm_exec_pipes(s->has_stdin, outp, errp, inp, statp, failp, err, err_len) < 0) return -1;
    (void)fcntl(outp[0], F_SETPIPE_SZ, CLVM_STREAM_PIPE_BYTES);
    (void)fcntl(errp[0], F_SETPIPE_SZ, CLVM_STREAM_PIPE_BYTES);
    if (inp[1] >= 0) (void)fcntl(inp[1], F_SETPIPE_SZ, CLVM_STREAM_PIPE_BYTES);
    int in_r = clvm_hoist_fd(inp[0]), out_w = clvm_hoist_fd(outp[1]), err_w = clvm_hoist_fd(errp[1]);
    int fail_w = clvm_hoist_fd(failp[1]);

    long a = clvm_exec_spawn_helper(s, in_r, out_w, err_w, statp[1], fail_w);
    int clone_errno = errno;
    close(in_r); close(out_w); close(err_w); close(statp[1]); close(fail_w);
    if (a < 0) {
        snprintf(err, err_len, "clone: %s", strerror(clone_errno));
        close(outp[0]); close(errp[0]); close(statp[0]); close(failp[0]); close_fd(&inp[1]);
        return -1;
    }

    /* A reports B's pid first; then the error pipe reaches EOF once B has exec'd (CLOEXEC) or
     * carries the step that failed. Both come quickly: nothing here waits on the command. */
    int32_t b32 = 0;
    ssize_t got_pid = clvm_read_full(statp[0], &b32, sizeof b32);
    struct clvm_child_error e;
    ssize_t got_err = clvm_read_full(failp[0], &e, sizeof e);
    close(failp[0]);
    int failed_setup = got_err == (ssize_t)sizeof e && e.step != CLVM_STEP_EXEC;
    if (got_pid != (ssize_t)sizeof b32 || failed_setup) {
        if (got_pid == (ssize_t)sizeof b32 && b32 > 0) kill((pid_t)b32, SIGKILL);
        int st;
        while (waitpid((pid_t)a, &st, 0) < 0 && errno == EINTR) {}
        if (got_err == (ssize_t)sizeof e) clvm_format_child_error(&e, err, err_len);
        else snprintf(err, err_len, "the exec helper exited before starting the command");
        close(outp[0]); close(errp[0]); close(statp[0]); close_fd(&inp[1]);
        return -1;
    }
    out->helper_pid = (pid_t)a;
    out->command_pid = (pid_t)b32;
    out->command_pidfd = clvm_pidfd_open((pid_t)b32);
    out->exec_errno = got_err == (ssize_t)sizeof e ? e.err : 0;
    out->stdout_fd = outp[0];
    out->stderr_fd = errp[0];
    out->status_fd = statp[0];
    out->stdin_fd = inp[1];
    fcntl(out->stdout_fd, F_SETFL, O_NONBLOCK);
    fcntl(out->stderr_fd, F_SETFL, O_NONBLOCK);
    if (out->stdin_fd >= 0) fcntl(out->stdin_fd, F_SETFL, O_NONBLOCK);
    return 0;
}

int clvm_exec_stream_status(clvm_exec_stream *s, int timeout_ms, int cancel_fd, int *out_status) {
    if (s->status_fd < 0) return -1;
    struct pollfd p[2] = { { s->status_fd, POLLIN, 0 }, { cancel_fd, POLLIN, 0 } };
    int rc;
    do { rc = poll(p, cancel_fd >= 0 ? 2 : 1, timeout_ms); } while (rc < 0 && errno == EINTR);
    if (rc <= 0 || !(p[0].revents & (POLLIN | POLLHUP | POLLERR))) return 0;
    int32_t st = 0;
    ssize_t got = clvm_read_full(s->status_fd, &st, sizeof st);
    close_fd(&s->status_fd);
    /* A exits right after writing the status (or has died): reap it so no zombie stays behind. */
    int wst;
    while (waitpid(s->helper_pid, &wst, 0) < 0 && errno == EINTR) {}
    s->helper_pid = 0;
    if (got != (ssize_t)sizeof st) return -1;
    *out_status = st;
    return 1;
}

int clvm_exec_stream_signal(const clvm_exec_stream *s, int sig) {
    /* The pidfd proves B is not yet reaped, so its pid (the leader of its own process group) still
     * names it and the group signal cannot hit a recycled pid. */
    if (s->command_pidfd < 0) return -1;
    if (clvm_pidfd_signal(s->command_pidfd, sig) < 0) return -1;
    (void)kill(-s->command_pid, sig);
    return 0;
}

void clvm_exec_stream_close(clvm_exec_stream *s) {
    if (s->helper_pid > 0) {
        /* Still running: end the command's group, then the helper follows (it only waits on B). */
        (void)clvm_exec_stream_signal(s, SIGKILL);
        int st;
        if (s->status_fd >= 0 && clvm_exec_stream_status(s, 5000, -1, &st) != 1 && s->helper_pid > 0) {
            kill(s->helper_pid, SIGKILL);
            while (waitpid(s->helper_pid, &st, 0) < 0 && errno == EINTR) {}
            s->helper_pid = 0;
        }
    }
    close_fd(&s->command_pidfd);
    close_fd(&s->stdin_fd);
    close_fd(&s->stdout_fd);
    close_fd(&s->stderr_fd);
    close_fd(&s->status_fd);
}

int clvm_fd_available(int fd) {
    int n = 0;
    return ioctl(fd, FIONREAD, &n) < 0 ? -1 : n;
}
