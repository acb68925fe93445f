/*
 * relay.c — exec's loop: controller frames to the command's stdin, its stdout and stderr to frames,
 * its status from the exec helper, the timer and the watchdogs (see exec.c).
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
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* Stdin bytes waiting for the command: reading from the controller pauses above PEND_HIGH. */
#define PEND_HIGH (256 * 1024)
#define PEND_CAP (PEND_HIGH + NODE_FRAME_MAX + 8)
/* After the command exits, how long output that background processes still hold open is read. */
#define DRAIN_GRACE_MS 100

struct relay {
    clvm_node_exec *s;
    pid_t cmd;                 /* the command's host pid (its process group); 0 until A reports it */
    int kill_pending, have_status, status, timed_out, ctl_eof, out_gone, got_end;
    uint8_t head[5];
    size_t head_n;
    uint32_t need;             /* payload bytes left of the current frame */
    uint8_t type;
    uint8_t *pend;
    size_t pend_len;
    struct node_err proto;     /* a malformed controller stream */
    int proto_bad;
};

/* The --timeout-ms backstop while the loop is blocked writing output to a controller that does
 * not read: SIGALRM kills the command's group itself (kill is async-signal-safe). */
static volatile sig_atomic_t alarm_cmd, alarm_fired;

static void on_alarm(int sig) {
    (void)sig;
    alarm_fired = 1;
    if (alarm_cmd > 0) kill(-(pid_t)alarm_cmd, SIGKILL);
}

static void arm_alarm(long long timeout_ms) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART: a blocked write returns EINTR and is retried */
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it;
    memset(&it, 0, sizeof it);
    it.it_value.tv_sec = timeout_ms / 1000;
    it.it_value.tv_usec = (timeout_ms % 1000) * 1000;
    setitimer(ITIMER_REAL, &it, NULL);
}

static void kill_command(struct relay *x) {
    if (x->have_status) return;
    if (x->cmd > 0) kill(-x->cmd, SIGKILL);
    else x->kill_pending = 1; /* its pid is on the way */
}

static void close_stdin(struct relay *x) {
    if (x->s->stdin_fd >= 0) { close(x->s->stdin_fd); x->s->stdin_fd = -1; }
    x->pend_len = 0;
}

/* Consumes controller bytes: frames 1 (stdin bytes) and 2 (end of stdin). */
static void parse_ctl(struct relay *x, const uint8_t *b, size_t n) {
    while (n && !x->proto_bad) {
        if (x->head_n < 5) {
            size_t take = 5 - x->head_n < n ? 5 - x->head_n : n;
            memcpy(x->head + x->head_n, b, take);
            x->head_n += take; b += take; n -= take;
            if (x->head_n < 5) return;
            x->type = x->head[0];
            x->need = (uint32_t)x->head[1] << 24 | (uint32_t)x->head[2] << 16 | (uint32_t)x->head[3] << 8 | x->head[4];
            if ((x->type != 1 && x->type != 2) || x->need > NODE_FRAME_MAX || (x->type == 2 && x->need)) {
                nfail(&x->proto, "invalid_request", "The controller sent a malformed frame (type %u, %u bytes).", x->type, x->need);
                x->proto_bad = 1;
                kill_command(x);
                return;
            }
            if (x->type == 2) {
                x->got_end = 1;
                x->head_n = 0;
            }
            continue;
        }
        size_t take = x->need < n ? x->need : n;
        /* Stdin after its end, or for a command that closed its stdin, is dropped. */
        if (!x->got_end && x->s->stdin_fd >= 0) { memcpy(x->pend + x->pend_len, b, take); x->pend_len += take; }
        x->need -= (uint32_t)take; b += take; n -= take;
        if (!x->need) x->head_n = 0;
    }
}

/* Output of the command as one frame; a broken stdout means the controller is gone. */
static void forward(struct relay *x, int *fd, uint8_t type) {
    static uint8_t buf[NODE_FRAME_MAX];
    for (;;) {
        ssize_t r = read(*fd, buf, sizeof buf);
        if (r > 0) {
            if (!x->out_gone && frame_write(STDOUT_FILENO, type, buf, (size_t)r) < 0) { x->out_gone = 1; kill_command(x); }
            return; /* one chunk per turn: stdout and stderr interleave fairly */
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 && errno == EAGAIN) return;
        close(*fd);
        *fd = -1;
        return;
    }
}

static void read_status(struct relay *x, uint8_t *bytes, size_t *len) {
    ssize_t r = read(x->s->status_fd, bytes + *len, 8 - *len);
    if (r <= 0) {
        if (r < 0 && errno == EINTR) return;
        close(x->s->status_fd);
        x->s->status_fd = -1;
        return;
    }
    *len += (size_t)r;
    if (x->cmd == 0 && *len >= 4) {
        int32_t v;
        memcpy(&v, bytes, 4);
        x->cmd = v;
        alarm_cmd = v;
        if (x->kill_pending || alarm_fired) kill(-x->cmd, SIGKILL);
    }
    if (*len == 8) {
        int32_t v;
        memcpy(&v, bytes + 4, 4);
        x->status = v;
        x->have_status = 1;
        alarm_cmd = 0; /* reaped: its pid may be reused from now on */
        close(x->s->status_fd);
        x->s->status_fd = -1;
    }
}

static void feed_stdin(struct relay *x) {
    ssize_t w = clvm_pipe_write(x->s->stdin_fd, x->pend, x->pend_len);
    if (w > 0) {
        memmove(x->pend, x->pend + w, x->pend_len - (size_t)w);
        x->pend_len -= (size_t)w;
    } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        close_stdin(x); /* the command closed its stdin: the rest is dropped */
    }
}

/* Runs the relay until the command's status is in and its output drained; fills the outcome. */
int relay_run(clvm_node_exec *s, long long timeout_ms, int *status, int *timed_out, struct node_err *proto) {
    static uint8_t pend[PEND_CAP];
    struct relay x;
    memset(&x, 0, sizeof x);
    x.s = s;
    x.pend = pend;
    fcntl(s->stdout_fd, F_SETFL, O_NONBLOCK);
    fcntl(s->stderr_fd, F_SETFL, O_NONBLOCK);
    if (s->stdin_fd >= 0) fcntl(s->stdin_fd, F_SETFL, O_NONBLOCK);
    uint8_t stat_bytes[8];
    size_t stat_len = 0;
    int64_t deadline = timeout_ms > 0 ? now_mono_ms() + timeout_ms : -1, exited_at = -1;
    if (timeout_ms > 0) arm_alarm(timeout_ms);
    for (;;) {
        if (x.have_status && s->stdout_fd < 0 && s->stderr_fd < 0) break;
        if (!x.have_status && s->status_fd < 0) break; /* the exec helper died without a status */
        if (x.got_end && x.pend_len == 0 && s->stdin_fd >= 0) close_stdin(&x);
        int64_t now = now_mono_ms();
        int timeout = -1;
        if (x.have_status) {
            if (now - exited_at >= DRAIN_GRACE_MS) break;
            timeout = (int)(exited_at + DRAIN_GRACE_MS - now);
        } else if (deadline >= 0 && !x.timed_out) {
            int64_t left = deadline - now;
            timeout = left <= 0 ? 0 : (left > 60000 ? 60000 : (int)left);
        }
        struct pollfd p[5];
        int n = 0, i_ctl = -1, i_in = -1, i_out = -1, i_err = -1, i_stat = -1;
        if (!x.ctl_eof) { i_ctl = n; p[n].fd = STDIN_FILENO; p[n].events = x.pend_len <= PEND_HIGH ? POLLIN : 0; n++; }
        if (s->stdin_fd >= 0 && x.pend_len) { i_in = n; p[n].fd = s->stdin_fd; p[n].events = POLLOUT; n++; }
        if (s->stdout_fd >= 0) { i_out = n; p[n].fd = s->stdout_fd; p[n].events = POLLIN; n++; }
        if (s->stderr_fd >= 0) { i_err = n; p[n].fd = s->stderr_fd; p[n].events = POLLIN; n++; }
        if (s->status_fd >= 0) { i_stat = n; p[n].fd = s->status_fd; p[n].events = POLLIN; n++; }
        for (int k = 0; k < n; k++) p[k].revents = 0;
        int rc = poll(p, (nfds_t)n, timeout);
        if (rc < 0) { if (errno == EINTR) continue; break; }
        if (!x.have_status && deadline >= 0 && !x.timed_out && (alarm_fired || now_mono_ms() >= deadline)) {
            x.timed_out = 1;
            kill_command(&x);
        }
        if (i_ctl >= 0 && p[i_ctl].revents) {
            static uint8_t buf[NODE_FRAME_MAX];
            ssize_t r = (p[i_ctl].revents & POLLIN) || !(p[i_ctl].revents & (POLLHUP | POLLERR))
                        ? read(STDIN_FILENO, buf, sizeof buf) : 0;
            if (r > 0) parse_ctl(&x, buf, (size_t)r);
            else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                /* The stdin-EOF watchdog: the controller is gone, its command must not outlive it. */
                x.ctl_eof = 1;
                kill_command(&x);
                close_stdin(&x);
            }
        }
        if (i_in >= 0 && p[i_in].revents) {
            if (p[i_in].revents & (POLLERR | POLLHUP)) close_stdin(&x);
            else feed_stdin(&x);
        }
        /* The status pipe before any output: A writes the command's pid before the command can
         * print, so the pid is known (to the timer's signal handler too) before a write can block. */
        if (i_stat >= 0 && p[i_stat].revents) {
            read_status(&x, stat_bytes, &stat_len);
            if (x.have_status) exited_at = now_mono_ms();
        }
        if (i_out >= 0 && p[i_out].revents) forward(&x, &s->stdout_fd, 1);
        if (i_err >= 0 && p[i_err].revents) forward(&x, &s->stderr_fd, 2);
    }
    if (timeout_ms > 0) { struct itimerval off; memset(&off, 0, sizeof off); setitimer(ITIMER_REAL, &off, NULL); }
    alarm_cmd = 0; /* the status is in: the group may be gone, its pid reused */
    kill_command(&x); /* a no-op once the status is in; else nothing may outlive the call */
    *status = x.status;
    *timed_out = x.timed_out;
    if (x.proto_bad) *proto = x.proto;
    return x.have_status ? (x.proto_bad ? -1 : 0) : -2;
}
