/*
 * fsutil.c — small file, clock, tool and input-checking helpers of the node helper.
 */
#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int path_join(char *out, const char *a, const char *b, struct node_err *e) {
    int n = snprintf(out, NODE_PATH, "%s/%s", a, b);
    if (n < 0 || n >= NODE_PATH) return nfail(e, "invalid_request", "The path under %s is too long.", a);
    return 0;
}

int mkdirs(const char *path, mode_t mode, struct node_err *e) {
    char tmp[NODE_PATH];
    size_t n = strlen(path);
    if (n >= sizeof tmp) return nfail(e, "invalid_request", "The path %s is too long.", path);
    memcpy(tmp, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (tmp[i] != '/' && tmp[i] != 0) continue;
        char saved = tmp[i];
        tmp[i] = 0;
        if (mkdir(tmp, mode) < 0 && errno != EEXIST) return nfail_errno(e, "mkdir", tmp);
        tmp[i] = saved;
    }
    return 0;
}

int write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len) {
        ssize_t r = write(fd, p, len);
        if (r < 0) { if (errno == EINTR) continue; return -1; }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode, struct node_err *e) {
    char tmp[NODE_PATH];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%d", path, (int)getpid()) >= (int)sizeof tmp)
        return nfail(e, "invalid_request", "The path %s is too long.", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) return nfail_errno(e, "Creating", tmp);
    if (write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        nfail_errno(e, "Writing", tmp);
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        nfail_errno(e, "Renaming into", path);
        unlink(tmp);
        return -1;
    }
    return 0;
}

ssize_t read_small(const char *path, char *buf, size_t max) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    size_t got = 0;
    while (got + 1 < max) {
        ssize_t r = read(fd, buf + got, max - 1 - got);
        if (r < 0) { if (errno == EINTR) continue; int s = errno; close(fd); errno = s; return -1; }
        if (r == 0) break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    return (ssize_t)got;
}

int64_t now_real_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t now_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int run_tool(const char *const *argv, int in_fd, int out_fd, const char *what, struct node_err *e) {
    /* stderr goes to a memory file, not a pipe: nothing to drain while we wait for the tool. */
    int err_fd = memfd_create("sandboxer-node-stderr", MFD_CLOEXEC);
    if (err_fd < 0) return nfail_errno(e, "memfd_create for", what);
    pid_t pid = fork();
    if (pid < 0) { close(err_fd); return nfail_errno(e, "fork for", what); }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null < 0) _exit(126);
        if (dup2(in_fd >= 0 ? in_fd : null, 0) < 0 || dup2(out_fd >= 0 ? out_fd : null, 1) < 0 ||
            dup2(err_fd, 2) < 0)
            _exit(126);
        signal(SIGPIPE, SIG_DFL);
        static char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
        execvpe(argv[0], (char *const *)argv, env);
        dprintf(2, "cannot run %s: %s", argv[0], strerror(errno));
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) { close(err_fd); return nfail_errno(e, "waitpid for", what); }
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) { close(err_fd); return 0; }
    char text[301];
    ssize_t n = pread(err_fd, text, sizeof text - 1, 0);
    close(err_fd);
    text[n > 0 ? n : 0] = 0;
    for (char *p = text; *p; p++) if (*p == '\n') *p = ' ';
    if (WIFEXITED(st))
        return nfail(e, "internal", "The %s failed (%s exited with %d): %s", what, argv[0], WEXITSTATUS(st), text);
    return nfail(e, "internal", "The %s failed (%s was killed by signal %d): %s", what, argv[0], WTERMSIG(st), text);
}

int valid_id(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > NODE_MAX_ID) return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-')) return 0;
    return 1;
}

int valid_hex(const char *s) {
    if (strlen(s) != 64) return 0;
    for (size_t i = 0; i < 64; i++)
        if (!((s[i] >= 'a' && s[i] <= 'f') || (s[i] >= '0' && s[i] <= '9'))) return 0;
    return 1;
}

int parse_i64(const char *s, long long min, long long max, long long *out) {
    if (!*s || strlen(s) > 20) return -1;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || (s[0] != '-' && (s[0] < '0' || s[0] > '9'))) return -1;
    if (v < min || v > max) return -1;
    *out = v;
    return 0;
}
