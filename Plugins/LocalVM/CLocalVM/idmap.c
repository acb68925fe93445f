/*
 * idmap.c — a per-sandbox host id range without copying the base image: idmapped mounts.
 *
 * Files on disk (the shared base image and every sandbox's upper layer) stay owned by the one
 * shifted range `uid_base..uid_base+65535`; each sandbox's processes run in a range of their own
 * (`0 <slice> 65536`). The intermediate of a launch, still host root, makes two *detached* idmapped
 * trees that translate one into the other (on-disk `uid_base + k` shows as `slice + k`): a clone of
 * the lower layer and one of the layer dir (upper/ and work/). The init, in its own mount
 * namespace, attaches them at `<sandbox>/lower` and `<sandbox>/layers` (move_mount) before it mounts
 * the overlay. Detached trees need no mount namespace of the intermediate's own: an earlier version
 * unshared one (a copy of the host's whole mount table, torn down again when the intermediate
 * exited) only to attach them there for the init's namespace to copy. Kernel 5.19+ (idmapped
 * overlay layers); measured on 6.18.
 *
 * The user namespace that carries the map is made by `clvm_idmap_userns_open`, once per map and
 * process when the caller keeps it (LocalVM caches it per id slice), else once per launch.
 */
#include "internal.h"
#include "clocalvm.h"

#include <linux/mount.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/wait.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

struct clvm_mount_attr {
    uint64_t attr_set, attr_clr, propagation, userns_fd;
};

/* The throwaway child of idmap_userns: holds its user namespace open until the pipe closes. It
 * shares the intermediate's memory (CLONE_VM), errno included (the same TLS), so it makes only
 * calls that do not fail here (close_range with valid ranges, a read that ends with EOF) and exits.
 * It keeps only its read end: the clone copied every fd of the process (no CLONE_FILES), its own
 * write end (else the read never sees EOF) and also the write end of another thread's holder pipe
 * made at the same moment; two holders made at once then each held the other's write end and
 * waited for EOF for ever (a hung test run: both blocked in read, each parent in waitpid). */
static int userns_holder(void *arg) {
    const int *p = arg;
    char c;
    if (p[0] > 0) syscall(SYS_close_range, 0U, (unsigned)p[0] - 1U, 0U);
    syscall(SYS_close_range, (unsigned)p[0] + 1U, ~0U, 0U);
    while (read(p[0], &c, 1) < 0 && errno == EINTR) {}
    _exit(0);
}

/* A user namespace whose maps are `map` (for uids and gids), as an fd: a throwaway child is
 * cloned into it, its maps written, its namespace opened, and the child let go. -1 with errno.
 * The child shares the caller's memory and runs on `stack` below (it is reaped before this frame
 * ends): a fork-like clone would copy the page tables of the whole host process, once per create. */
static int idmap_userns(const char *map, int *step) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) { *step = CLVM_STEP_IDMAP_USERNS; return -1; }
    char stack[16384] __attribute__((aligned(16)));
    long pid = clone(userns_holder, stack + sizeof stack, CLONE_VM | CLONE_NEWUSER | SIGCHLD, p);
    if (pid < 0) { *step = CLVM_STEP_IDMAP_USERNS; close(p[0]); close(p[1]); return -1; }
    close(p[0]);
    char path[64];
    int fd = -1, saved = 0;
    static const char *const leaves[] = { "uid_map", "gid_map" };
    for (int i = 0; i < 2; i++) {
        memcpy(path, "/proc/", 6);
        size_t n = 6 + clvm_u64_to_dec(path + 6, (uint64_t)pid);
        path[n++] = '/';
        memcpy(path + n, leaves[i], 8);
        int m = open(path, O_WRONLY | O_CLOEXEC);
        if (m < 0 || clvm_write_all(m, map, strlen(map)) < 0) {
            saved = errno;
            if (m >= 0) close(m);
            *step = CLVM_STEP_IDMAP_USERNS;
            goto out;
        }
        close(m);
    }
    memcpy(path, "/proc/", 6);
    size_t n = 6 + clvm_u64_to_dec(path + 6, (uint64_t)pid);
    memcpy(path + n, "/ns/user", 9);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { saved = errno; *step = CLVM_STEP_IDMAP_USERNS; }
out:
    close(p[1]); /* the child reads EOF and exits */
    while (waitpid((pid_t)pid, 0, 0) < 0 && errno == EINTR) {}
    errno = saved;
    return fd;
}

/* A detached clone of the tree at src (not its submounts), idmapped with userns_fd: its fd, or -1. */
static int idmapped_tree(const char *src, int userns_fd, uint64_t extra) {
    int t = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | O_CLOEXEC);
    if (t < 0) return -1;
    struct clvm_mount_attr attr = { MOUNT_ATTR_IDMAP | extra, 0, 0, (uint64_t)userns_fd };
    if (syscall(SYS_mount_setattr, t, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) {
        int saved = errno;
        close(t);
        errno = saved;
        return -1;
    }
    return t;
}

int clvm_child_idmap_trees(const struct clvm_idmap_paths *p, const char *map, int userns_fd, int *lower_tree,
                           int *layers_tree, int *err) {
    int step = 0, own = -1;
    if (userns_fd < 0) {
        own = idmap_userns(map, &step);
        if (own < 0) { *err = errno; return step; }
        userns_fd = own;
    }
    /* The lower layer read-only as well: overlay never writes it, and nothing else may. */
    *lower_tree = idmapped_tree(p->lower_src, userns_fd, MOUNT_ATTR_RDONLY);
    if (*lower_tree < 0) { *err = errno; step = CLVM_STEP_IDMAP_LOWER; goto out; }
    *layers_tree = idmapped_tree(p->layers_src, userns_fd, 0);
    if (*layers_tree < 0) { *err = errno; close(*lower_tree); *lower_tree = -1; step = CLVM_STEP_IDMAP_LAYERS; }
out:
    if (own >= 0) close(own);
    return step;
}

int clvm_child_idmap_attach(int lower_tree, int layers_tree, int *err) {
    if (syscall(SYS_move_mount, lower_tree, "", AT_FDCWD, "lower", MOVE_MOUNT_F_EMPTY_PATH) < 0) {
        *err = errno;
        return CLVM_STEP_IDMAP_LOWER;
    }
    if (syscall(SYS_move_mount, layers_tree, "", AT_FDCWD, "layers", MOVE_MOUNT_F_EMPTY_PATH) < 0) {
        *err = errno;
        return CLVM_STEP_IDMAP_LAYERS;
    }
    close(lower_tree);
    close(layers_tree);
    return 0;
}

int clvm_idmap_userns_open(const char *map, char *err, size_t err_len) {
    /* The holder child shares this process's memory: no host signal handler may run on its stack. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int step = 0;
    int fd = idmap_userns(map, &step);
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (fd < 0) snprintf(err, err_len, "%s: %s", clvm_step_name(step), strerror(saved));
    return fd;
}
