/*
 * init_program.c — the sandbox's init (clvm_init_main) and the fd it is run from (clvm_init_image).
 *
 * It replaces `/bin/sh -c <script>` from the sandbox's rootfs: the same behaviour (see
 * InitProgram.swift), without a shell to start (busybox ash plus a `sleep` and a `date` child a
 * minute) and without ~2 MB of shell per sandbox. The launcher execs it by fd with
 * execveat(AT_EMPTY_PATH) after pivot_root, so it is no file of the rootfs and works with any rootfs,
 * even one with no /bin/sh.
 *
 * Signals are blocked and taken with sigtimedwait: a pid namespace's init drops signals it has no
 * handler for, but blocked ones stay pending (the kernel checks the mask before the init rule), so
 * blocking is "handling" for TERM, INT, HUP, USR1 and CHLD, with no handler racing the loop.
 */
#include "internal.h"
#include "clocalvm.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>


/* Longest sleep between two reads of the deadline file (as the shell init did). */
#define INIT_MAX_WAIT_NS (60LL * 1000000000LL)

/* The deadline in Unix seconds, or -1 for none (missing, empty or not a number). */
static long long read_deadline(void) {
    int fd = open("/run/sandboxer/deadline", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    char buf[32];
    ssize_t n;
    do { n = read(fd, buf, sizeof buf - 1); } while (n < 0 && errno == EINTR);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    long long d = 0;
    int digits = 0;
    for (ssize_t i = 0; i < n; i++) {
        char c = buf[i];
        if (c >= '0' && c <= '9') {
            if (digits++ > 18) return -1;
            d = d * 10 + (c - '0');
        } else if (c == '\n' || c == ' ' || c == '\t' || c == '\r') {
            if (digits) break;
        } else {
            return -1;
        }
    }
    return digits ? d : -1;
}

static void reap_all(void) {
    while (waitpid(-1, NULL, WNOHANG) > 0) {}
}

void clvm_init_main(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    /* Ready: every signal that matters is now held for us. */
    close(3);
    for (;;) {
        reap_all();
        long long wait_ns = INIT_MAX_WAIT_NS;
        long long deadline = read_deadline();
        if (deadline >= 0) {
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            long long left = (deadline - (long long)now.tv_sec) * 1000000000LL - now.tv_nsec;
            if (left <= 0) _exit(0);
            if (left < wait_ns) wait_ns = left;
        }
        struct timespec ts = { (time_t)(wait_ns / 1000000000LL), (long)(wait_ns % 1000000000LL) };
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT || sig == SIGHUP) _exit(0);
        /* SIGCHLD: reap at the top; SIGUSR1, a timeout or EINTR: re-read the deadline. */
    }
}

static pthread_mutex_t image_lock = PTHREAD_MUTEX_INITIALIZER;
static int image_fd = -1;

/* The program file itself (O_PATH): its page cache is then shared by the inits of every sandbox on
 * the host, whichever process started them (a private memfd copy per CLI process cost each sandbox
 * ~690 kB of unshared shmem). A sandbox sees it as /proc/1/exe but cannot write it: it belongs to
 * host root (checked by the caller), an id the sandbox's user namespace does not map. */
static int open_image(const char *path, char *err, size_t err_len) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) { snprintf(err, err_len, "open %s: %s", path, strerror(errno)); return -1; }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, err_len, "%s is not a regular file", path);
        close(fd);
        return -1;
    }
    return fd;
}

int clvm_init_image(const char *path, char *err, size_t err_len) {
    pthread_mutex_lock(&image_lock);
    if (image_fd < 0) image_fd = open_image(path, err, err_len);
    int fd = image_fd;
    pthread_mutex_unlock(&image_lock);
    return fd;
}
