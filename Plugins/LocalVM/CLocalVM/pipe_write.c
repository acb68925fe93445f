/*
 * pipe_write.c — clvm_pipe_write: write(2) to a command's standard input pipe without SIGPIPE.
 *
 * Standard input is a pipe, not a socket (see clvm_exec_pipes), so send(MSG_NOSIGNAL) is not
 * available; the plugin runs inside processes that may not ignore SIGPIPE (a test runner, a host
 * that loads it in process), and a command that exits early must cost an EPIPE, not the process.
 * SIGPIPE is blocked in the calling thread for the one write, and the signal that write raised is
 * consumed before it is unblocked (one that was already pending stays pending).
 */
#include "internal.h"
#include "clocalvm.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

ssize_t clvm_pipe_write(int fd, const void *buf, size_t len) {
    sigset_t pipe_only, old, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    sigemptyset(&pending);
    (void)sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE) == 1;
    ssize_t n;
    do { n = write(fd, buf, len); } while (n < 0 && errno == EINTR);
    int saved = errno;
    if (n < 0 && saved == EPIPE && !was_pending) {
        /* Raised by this write for this thread (unless SIGPIPE is ignored: then nothing waits). */
        struct timespec zero = { 0, 0 };
        while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR) {}
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return n;
}
