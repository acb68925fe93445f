/*
 * nolibc_io.c — the file and process system calls of the glibc-free init (see nolibc.h), with
 * glibc's argument conventions (open's optional mode, prctl's and waitpid's shapes).
 */
#if defined(__x86_64__)
#define _GNU_SOURCE
#include "nolibc.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int chdir(const char *path) { return (int)NOLIBC_CALL(SYS_chdir, path, 0, 0, 0, 0, 0); }

int close(int fd) { return (int)NOLIBC_CALL(SYS_close, fd, 0, 0, 0, 0, 0); }

int dup2(int fd, int fd2) { return (int)NOLIBC_CALL(SYS_dup2, fd, fd2, 0, 0, 0, 0); }

ssize_t read(int fd, void *buf, size_t n) { return NOLIBC_CALL(SYS_read, fd, buf, n, 0, 0, 0); }

ssize_t write(int fd, const void *buf, size_t n) { return NOLIBC_CALL(SYS_write, fd, buf, n, 0, 0, 0); }

/* The mode argument exists only with O_CREAT or O_TMPFILE, as glibc reads it. */
#define NOLIBC_MODE_ARG(flags, mode) do {                                   \
        if (((flags) & O_CREAT) || ((flags) & O_TMPFILE) == O_TMPFILE) {    \
            va_list ap;                                                     \
            va_start(ap, flags);                                            \
            (mode) = va_arg(ap, mode_t);                                    \
            va_end(ap);                                                     \
        }                                                                   \
    } while (0)

int openat(int dir, const char *path, int flags, ...) {
    mode_t mode = 0;
    NOLIBC_MODE_ARG(flags, mode);
    return (int)NOLIBC_CALL(SYS_openat, dir, path, flags, mode, 0, 0);
}

int open(const char *path, int flags, ...) {
    mode_t mode = 0;
    NOLIBC_MODE_ARG(flags, mode);
    return (int)NOLIBC_CALL(SYS_openat, AT_FDCWD, path, flags, mode, 0, 0);
}

int unlinkat(int dir, const char *path, int flags) { return (int)NOLIBC_CALL(SYS_unlinkat, dir, path, flags, 0, 0, 0); }

int statx(int dir, const char *restrict path, int flags, unsigned int mask, struct statx *restrict buf) {
    return (int)NOLIBC_CALL(SYS_statx, dir, path, flags, mask, buf, 0);
}

int poll(struct pollfd *fds, nfds_t n, int timeout) { return (int)NOLIBC_CALL(SYS_poll, fds, n, timeout, 0, 0, 0); }

/* Without the vDSO: a real system call, taken at most a few times per program run. */
int clock_gettime(clockid_t clock, struct timespec *ts) { return (int)NOLIBC_CALL(SYS_clock_gettime, clock, ts, 0, 0, 0, 0); }

int prctl(int option, ...) {
    va_list ap;
    va_start(ap, option);
    unsigned long a2 = va_arg(ap, unsigned long), a3 = va_arg(ap, unsigned long);
    unsigned long a4 = va_arg(ap, unsigned long), a5 = va_arg(ap, unsigned long);
    va_end(ap);
    return (int)NOLIBC_CALL(SYS_prctl, option, a2, a3, a4, a5, 0);
}

int setns(int fd, int type) { return (int)NOLIBC_CALL(SYS_setns, fd, type, 0, 0, 0, 0); }

pid_t setsid(void) { return (pid_t)NOLIBC_CALL(SYS_setsid, 0, 0, 0, 0, 0, 0); }

int kill(pid_t pid, int sig) { return (int)NOLIBC_CALL(SYS_kill, pid, sig, 0, 0, 0, 0); }

pid_t waitpid(pid_t pid, int *status, int options) { return (pid_t)NOLIBC_CALL(SYS_wait4, pid, status, options, 0, 0, 0); }

/* A plain copy of the process: glibc's fork adds only its own bookkeeping (atfork handlers, lock
 * resets, the cached tid), none of which exists here. */
pid_t fork(void) { return (pid_t)NOLIBC_CALL(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0); }

int execve(const char *path, char *const argv[], char *const envp[]) {
    return (int)NOLIBC_CALL(SYS_execve, path, argv, envp, 0, 0, 0);
}

#endif
