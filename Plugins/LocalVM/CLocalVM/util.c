/*
 * util.c — host-side helpers of CLocalVM (no fork involved): error text, pidfds, cgroup kill,
 * tree removal and owner shifting.
 */
#include "internal.h"
#include "clocalvm.h"

#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>

const char *clvm_step_name(int step) {
    switch (step) {
    case CLVM_STEP_CLONE: return "clone of the sandbox init";
    case CLVM_STEP_CGROUP: return "write to cgroup.procs";
    case CLVM_STEP_UID_MAP: return "write of uid_map";
    case CLVM_STEP_GID_MAP: return "write of gid_map";
    case CLVM_STEP_SYNC: return "release of the sandbox init";
    case CLVM_STEP_SETGID: return "setresgid";
    case CLVM_STEP_SETGROUPS: return "setgroups";
    case CLVM_STEP_SETUID: return "setresuid";
    case CLVM_STEP_SETSID: return "setsid";
    case CLVM_STEP_CGROUP_NS: return "unshare of the cgroup namespace";
    case CLVM_STEP_MOUNT_PRIVATE: return "mount --make-rprivate /";
    case CLVM_STEP_CHDIR_SANDBOX: return "fchdir to the sandbox directory";
    case CLVM_STEP_MOUNT_OVERLAY: return "mount of the overlay root";
    case CLVM_STEP_MKDIR: return "mkdir of a mount point in the root";
    case CLVM_STEP_MOUNT_PROC: return "mount of /proc";
    case CLVM_STEP_MOUNT_SYS: return "mount of /sys";
    case CLVM_STEP_MOUNT_DEV: return "mount of /dev";
    case CLVM_STEP_DEV_NODE: return "bind mount of a /dev node";
    case CLVM_STEP_MOUNT_TMP: return "mount of /tmp";
    case CLVM_STEP_MOUNT_CTL: return "mount of /run/sandboxer";
    case CLVM_STEP_HOSTNAME: return "sethostname";
    case CLVM_STEP_LOOPBACK: return "bringing up the loopback interface";
    case CLVM_STEP_PIVOT_ROOT: return "pivot_root";
    case CLVM_STEP_UMOUNT_OLD_ROOT: return "unmount of the old root";
    case CLVM_STEP_STDIO: return "set-up of standard streams";
    case CLVM_STEP_EXEC: return "execve";
    case CLVM_STEP_SETNS: return "setns into the sandbox";
    case CLVM_STEP_FORK: return "fork inside the sandbox";
    case CLVM_STEP_CHDIR: return "chdir to /";
    case CLVM_STEP_OOM_SCORE: return "reset oom_score_adj";
    case CLVM_STEP_VETH: return "creation of the sandbox's veth pair";
    case CLVM_STEP_SYSCTL: return "a sysctl of the sandbox's host link";
    case CLVM_STEP_HOST_ADDR: return "adding the host address of the sandbox's link";
    case CLVM_STEP_HOST_UP: return "bringing up the sandbox's host link";
    case CLVM_STEP_SANDBOX_ADDR: return "adding the sandbox's address to eth0";
    case CLVM_STEP_SANDBOX_UP: return "bringing up eth0 in the sandbox";
    case CLVM_STEP_SANDBOX_ROUTE: return "adding the sandbox's route via its host end";
    case CLVM_STEP_CAPS: return "dropping capabilities";
    case CLVM_STEP_NO_NEW_PRIVS: return "prctl(PR_SET_NO_NEW_PRIVS)";
    case CLVM_STEP_SECCOMP: return "installing the seccomp filter";
    case CLVM_STEP_MOUNT_PTS: return "mount of /dev/pts";
    case CLVM_STEP_IDMAP_NS: return "a private mount namespace for the idmapped layers";
    case CLVM_STEP_IDMAP_USERNS: return "the user namespace of the idmapped layers";
    case CLVM_STEP_IDMAP_LOWER: return "the idmapped mount of the lower layer";
    case CLVM_STEP_IDMAP_LAYERS: return "the idmapped mount of the upper and work dirs";
    case CLVM_STEP_EXEC_HELPER: return "execve of the exec helper (sandboxer-localvm-init --exec-helper)";
    default: return "an unknown set-up step";
    }
}

void clvm_format_child_error(const struct clvm_child_error *e, char *err, size_t err_len) {
    if (e->step == CLVM_STEP_CGROUP || e->step == CLVM_STEP_DEV_NODE || e->step == CLVM_STEP_MKDIR ||
        e->step == CLVM_STEP_SYSCTL)
        snprintf(err, err_len, "%s (#%d) failed: %s", clvm_step_name(e->step), e->detail, strerror(e->err));
    else
        snprintf(err, err_len, "%s failed: %s", clvm_step_name(e->step), strerror(e->err));
}

int clvm_hoist_fd(int fd) {
    if (fd > 2) return fd;
    int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (nfd < 0) return fd;
    close(fd);
    return nfd;
}

ssize_t clvm_read_full(int fd, void *buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, (char *)buf + got, len - got);
        if (r < 0) { if (errno == EINTR) continue; return -1; }
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int clvm_pidfd_open(pid_t pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int clvm_pidfd_signal(int pidfd, int sig) {
    return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

int clvm_pidfd_wait_exit(int pidfd, int timeout_ms) {
    struct pollfd p = { pidfd, POLLIN, 0 };
    for (;;) {
        int rc = poll(&p, 1, timeout_ms);
        if (rc < 0 && errno == EINTR) continue;
        if (rc < 0) return -1;
        return rc > 0 ? 1 : 0;
    }
}

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 1 when the cgroup.events file open at fd says "populated 0", 0 when populated, -1 on error.
 * Reading it also re-arms its poll (kernfs wakes POLLPRI when the file changes after a read). */
static int cgroup_empty_fd(int fd) {
    char text[512];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    if (n < 0) return -1;
    text[n] = 0;
    const char *p = strstr(text, "populated ");
    if (!p) { errno = EINVAL; return -1; }
    return p[10] == '0' ? 1 : 0;
}

/* Kills, then waits with poll(POLLPRI) on cgroup.events itself: no inotify instance, whose close
 * waits for an SRCU grace period (measured 4-24 ms per destroy on a loaded host). */
int clvm_cgroup_kill_wait(const char *dir, int timeout_ms) {
    char kill_path[PATH_MAX], events[PATH_MAX];
    if (snprintf(kill_path, sizeof kill_path, "%s/cgroup.kill", dir) >= (int)sizeof kill_path ||
        snprintf(events, sizeof events, "%s/cgroup.events", dir) >= (int)sizeof events) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int ev = open(events, O_RDONLY | O_CLOEXEC);
    if (ev < 0) return -1;
    int fd = open(kill_path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) { int e = errno; close(ev); errno = e; return -1; }
    int rc = clvm_write_all(fd, "1", 1);
    int saved = errno;
    close(fd);
    if (rc < 0) { close(ev); errno = saved; return -1; }
    int64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        int empty = cgroup_empty_fd(ev);
        if (empty != 0) { int e = errno; close(ev); errno = e; return empty == 1 ? 0 : -1; }
        int64_t left = deadline - mono_ms();
        if (left <= 0) { close(ev); return 1; }
        struct pollfd p = { ev, POLLPRI, 0 };
        if (poll(&p, 1, (int)left) < 0 && errno != EINTR) { int e = errno; close(ev); errno = e; return -1; }
    }
}

/* Calls fn(dirfd, child, ctx) for every entry of the directory parent/name (not following a symlink
 * at name); stops at the first failure, which it returns with errno kept. */
static int for_each_child(int parent, const char *name, int (*fn)(int, const char *, void *), void *ctx) {
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    DIR *d = fdopendir(fd);
    if (!d) { int e = errno; close(fd); errno = e; return -1; }
    int rc = 0;
    struct dirent *ent;
    while ((ent = readdir(d))) {
        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..")) continue;
        if (fn(dirfd(d), ent->d_name, ctx) < 0) { rc = -1; break; }
    }
    int e = errno;
    closedir(d);
    if (rc < 0) errno = e;
    return rc;
}

static int remove_at(int parent, const char *name);
static int remove_child(int dir, const char *name, void *ctx) { (void)ctx; return remove_at(dir, name); }

/* Removes dirfd/name; refuses (EBUSY) to descend into a mount point. */
static int remove_at(int parent, const char *name) {
    struct statx sx;
    if (statx(parent, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE, &sx) < 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(sx.stx_mode)) {
        if (unlinkat(parent, name, 0) < 0 && errno != ENOENT) return -1;
        return 0;
    }
    if ((sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) && (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT)) {
        errno = EBUSY;
        return -1;
    }
    /* ENOENT: another remover (a drain in another process) took it or part of it meanwhile. */
    if (for_each_child(parent, name, remove_child, NULL) < 0 && errno != ENOENT) return -1;
    if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT) return -1;
    return 0;
}

int clvm_remove_tree(const char *path) {
    return remove_at(AT_FDCWD, path);
}

struct shift_ctx { uid_t base; uint32_t count; };
static int shift_at(int parent, const char *name, uid_t base, uint32_t count);
static int shift_child(int dir, const char *name, void *ctx) {
    const struct shift_ctx *c = ctx;
    return shift_at(dir, name, c->base, c->count);
}

static int shift_at(int parent, const char *name, uid_t base, uint32_t count) {
    struct stat st;
    if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return -1;
    uid_t uid = st.st_uid < count ? st.st_uid + base : st.st_uid;
    gid_t gid = st.st_gid < count ? st.st_gid + base : st.st_gid;
    if (uid != st.st_uid || gid != st.st_gid) {
        if (fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) return -1;
        /* chown clears set-id bits on files; put them back. */
        if (!S_ISLNK(st.st_mode) && !S_ISDIR(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)))
            if (fchmodat(parent, name, st.st_mode & 07777, 0) < 0) return -1;
    }
    if (!S_ISDIR(st.st_mode)) return 0;
    struct shift_ctx ctx = { base, count };
    return for_each_child(parent, name, shift_child, &ctx);
}

int clvm_shift_owners(const char *path, uid_t base, uint32_t count) {
    return shift_at(AT_FDCWD, path, base, count);
}

int clvm_own_image_path(char *buf, size_t len) {
    Dl_info info;
    if (dladdr((const void *)&clvm_own_image_path, &info) == 0 || info.dli_fname == NULL) return -1;
    size_t n = strlen(info.dli_fname);
    if (n + 1 > len) return -1;
    memcpy(buf, info.dli_fname, n + 1);
    return 0;
}

int clvm_finish_spawn(long mid, ssize_t got_pid, int32_t pid, ssize_t got_err, const struct clvm_child_error *e,
                      const char *what, pid_t *out_pid, char *err, size_t err_len) {
    int st;
    while (waitpid((pid_t)mid, &st, 0) < 0 && errno == EINTR) {}
    if (got_err == (ssize_t)sizeof *e) {
        /* A step failed after the child was made: it must not outlive the report. */
        if (got_pid == (ssize_t)sizeof pid && pid > 0) kill(pid, SIGKILL);
        clvm_format_child_error(e, err, err_len);
        return -1;
    }
    if (got_pid != (ssize_t)sizeof pid || pid <= 0) {
        snprintf(err, err_len, "the %s's launcher exited before it started the %s", what, what);
        return -1;
    }
    *out_pid = pid;
    return 0;
}

/* Looks argv[0] up in PATH (from envp) like execvp and execs it, using only the stack (it runs in a
 * child of a multi-threaded host, before execve). Returns errno when nothing could be exec'd. */
int clvm_exec_search(const char *const *argv, const char *const *envp) {
    const char *file = argv[0];
    if (strchr(file, '/')) {
        execve(file, (char *const *)argv, (char *const *)envp);
        return errno;
    }
    const char *path = "/usr/sbin:/usr/bin:/sbin:/bin";
    for (const char *const *e = envp; *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0) { path = *e + 5; break; }
    size_t flen = strlen(file);
    int result = ENOENT;
    char buf[4096];
    const char *p = path;
    for (;;) {
        const char *colon = strchr(p, ':');
        size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
        if (dlen + 1 + flen + 1 <= sizeof buf) {
            size_t n = 0;
            if (dlen == 0) { buf[n++] = '.'; } else { memcpy(buf, p, dlen); n = dlen; }
            buf[n++] = '/';
            memcpy(buf + n, file, flen + 1);
            execve(buf, (char *const *)argv, (char *const *)envp);
            if (errno == EACCES) result = EACCES;
            else if (errno != ENOENT && errno != ENOTDIR) return errno;
        }
        if (!colon) break;
        p = colon + 1;
    }
    return result;
}

int clvm_exec_pipes(int has_stdin, int outp[2], int errp[2], int inp[2], int statp[2], int failp[2],
                    char *err, size_t err_len) {
    int *all[] = { &outp[0], &outp[1], &errp[0], &errp[1], &statp[0], &statp[1], &failp[0], &failp[1],
                   &inp[0], &inp[1] };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) *all[i] = -1;
    int ok = pipe2(outp, O_CLOEXEC) == 0 && pipe2(errp, O_CLOEXEC) == 0 && pipe2(statp, O_CLOEXEC) == 0 &&
             pipe2(failp, O_CLOEXEC) == 0;
    if (ok) {
        if (has_stdin) {
            /* A pipe, not a socket: a command that copies a socket stdin with sendfile (busybox cat)
             * sleeps for input while holding its stdout pipe's mutex, and the host's read of that
             * pipe then sleeps on the mutex whatever O_NONBLOCK says, so the input never comes (a
             * deadlock). sendfile refuses a pipe source at once. Writers use clvm_pipe_write. */
            ok = pipe2(inp, O_CLOEXEC) == 0;
        } else {
            inp[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
            ok = inp[0] >= 0;
        }
    }
    if (ok) return 0;
    snprintf(err, err_len, "pipe2: %s", strerror(errno));
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (*all[i] >= 0) { close(*all[i]); *all[i] = -1; }
    }
    return -1;
}
