/*
 * ctl.c — the sandbox's control dir (`/run/sandboxer`, the backstop deadline) without a mount in
 * the host's namespace.
 *
 * The intermediate of a launch (host root, host mount namespace) makes a small tmpfs with the new
 * mount API as a *detached* mount (fsopen/fsmount: it is in no mount namespace, so the host's mount
 * table never shows it and destroy has nothing to unmount), writes the deadline into it and records
 * its root's device and inode for the caller. The init attaches it at the shared `ctl` mount point
 * in its own mount namespace (the old root, detached at pivot_root, so the sandbox never sees it)
 * and binds it read-only at `rootfs/run/sandboxer`; it keeps the writable mount open as fd
 * CLVM_CTL_FD, where `clvm_ctl_write` (extend-ttl) reaches it. The tmpfs belongs to host root (its
 * superblock to the host's user namespace): the sandbox's root sees its files as `nobody`'s and
 * cannot write them even through /proc/1/fd/4, nor remount it. It goes with the init's last fd.
 * Linux 5.2+ (the new mount API).
 */
#include "internal.h"
#include "clocalvm.h"

#include <linux/mount.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#ifndef FSOPEN_CLOEXEC
#define FSOPEN_CLOEXEC 0x00000001
#endif
#ifndef FSMOUNT_CLOEXEC
#define FSMOUNT_CLOEXEC 0x00000001
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static int ctl_config(int fs, const char *key, const char *value) {
    return (int)syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, key, value, 0);
}

int clvm_child_ctl_mount(const char *deadline, clvm_ctl_id *out, int *mount_fd, int *err) {
    *mount_fd = -1;
    int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
    if (fs < 0) { *err = errno; return 1; }
    /* 64 KiB and 16 inodes: the deadline file and the temporary that replaces it. */
    if (ctl_config(fs, "size", "64k") < 0 || ctl_config(fs, "nr_inodes", "16") < 0 ||
        ctl_config(fs, "mode", "0755") < 0 ||
        syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
        *err = errno;
        close(fs);
        return 2;
    }
    int m = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    *err = errno;
    close(fs);
    if (m < 0) return 3;
    if (deadline) {
        int f = openat(m, "deadline", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (f < 0 || clvm_write_all(f, deadline, strlen(deadline)) < 0) {
            *err = errno;
            if (f >= 0) close(f);
            close(m);
            return 4;
        }
        close(f);
    }
    struct stat st;
    if (fstat(m, &st) < 0) { *err = errno; close(m); return 5; }
    out->dev = (uint64_t)st.st_dev;
    out->ino = (uint64_t)st.st_ino;
    *mount_fd = m;
    return 0;
}

int clvm_child_ctl_attach(int mount_fd, int *err) {
    if (syscall(SYS_move_mount, mount_fd, "", AT_FDCWD, "ctl", MOVE_MOUNT_F_EMPTY_PATH) < 0) {
        *err = errno;
        return 6;
    }
    return 0;
}

/* The init's control dir as an fd of ours, or -1: by pidfd (pinned to that very process), else
 * through /proc (pidfd_getfd needs ptrace-attach rights, which Yama can withhold from root). */
static int ctl_dir_fd(int init_pidfd, pid_t pid) {
    int fd = (int)syscall(SYS_pidfd_getfd, init_pidfd, CLVM_CTL_FD, 0);
    if (fd >= 0) return fd;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, CLVM_CTL_FD);
    return open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
}

int clvm_ctl_write(int init_pidfd, pid_t pid, clvm_ctl_id id, const char *text, char *err, size_t err_len) {
    int dir = ctl_dir_fd(init_pidfd, pid);
    if (dir < 0) {
        snprintf(err, err_len, "the sandbox init's control dir cannot be reached: %s", strerror(errno));
        return -1;
    }
    /* Only the tmpfs this launch made: whatever the sandbox put at that fd, the host writes nowhere else. */
    struct stat st;
    struct statfs sfs;
    if (fstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0 || (uint64_t)st.st_dev != id.dev ||
        (uint64_t)st.st_ino != id.ino || fstatfs(dir, &sfs) < 0 || (unsigned long)sfs.f_type != TMPFS_MAGIC) {
        close(dir);
        snprintf(err, err_len, "the sandbox init's fd %d is not the control dir its launch made", CLVM_CTL_FD);
        return -1;
    }
    int f = openat(dir, ".deadline.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (f < 0 || clvm_write_all(f, text, strlen(text)) < 0) {
        snprintf(err, err_len, "write of the deadline: %s", strerror(errno));
        if (f >= 0) close(f);
        close(dir);
        return -1;
    }
    close(f);
    int rc = renameat(dir, ".deadline.tmp", dir, "deadline");
    if (rc < 0) snprintf(err, err_len, "rename of the deadline: %s", strerror(errno));
    close(dir);
    return rc;
}
