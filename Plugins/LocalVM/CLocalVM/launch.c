/*
 * launch.c — starts a sandbox init: clvm_launch.
 *
 * Process layout: the caller clones an intermediate that shares its address space and runs on a
 * stack of its own while the calling thread is suspended (CLONE_VM | CLONE_VFORK, as posix_spawn
 * does: no copy of the host's page tables, which a plain fork-like clone makes and which grows with
 * the host); the intermediate clones the init into new
 * user, pid, mount, uts, ipc and net namespaces, moves it into its cgroups and writes its uid/gid
 * maps (it is still root of the host), creates its veth pair for a bridged network, releases it
 * through a pipe, reports its pid and exits. So the
 * init is never the caller's child (it survives the caller and is reaped by the host's reaper) and a
 * global waitpid(-1) elsewhere in the host cannot steal anything we need: results travel over pipes.
 * Readiness is a CLOEXEC error pipe: EOF means the init exec'd, a record means a step failed.
 */
#include "internal.h"
#include "clocalvm.h"

#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* struct clone_args of clone3 (linux/sched.h), spelled out: that header clashes with some glibcs'. */
struct launch_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/* Device nodes bind-mounted from the host into the sandbox's tmpfs /dev. */
static const char *const dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };
static const char *const dev_targets[] = {
    "rootfs/dev/null", "rootfs/dev/zero", "rootfs/dev/full",
    "rootfs/dev/random", "rootfs/dev/urandom", "rootfs/dev/tty",
};
static const char *const dev_sources[] = {
    "/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
};

#define CHILD_FAIL(step, detail) do { clvm_child_report(errfd, (step), errno, (detail)); _exit(1); } while (0)

static int mkdir_p1(const char *path, mode_t mode) {
    if (mkdir(path, mode) == 0 || errno == EEXIST) return 0;
    return -1;
}

/* Child: bring the loopback interface of the new net namespace up. */
static int loopback_up(void) {
    int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sk < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, "lo", 3);
    int rc = ioctl(sk, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
        rc = ioctl(sk, SIOCSIFFLAGS, &ifr);
    }
    int saved = errno;
    close(sk);
    errno = saved;
    return rc;
}

/* Child (the init, in its own net namespace): address eth0, bring it up, add the route (default
 * for egress, the pool for peers). The intermediate created eth0 here before it released us. */
static void sandbox_link_up(const clvm_net_spec *net, int errfd) {
    int sk = clvm_nl_open();
    if (sk < 0) CHILD_FAIL(CLVM_STEP_SANDBOX_ADDR, 0);
    int index = clvm_nl_ifindex("eth0");
    if (index < 0) CHILD_FAIL(CLVM_STEP_SANDBOX_ADDR, 1);
    if (clvm_nl_addr_add(sk, index, net->sandbox_addr, net->prefix_len) < 0) CHILD_FAIL(CLVM_STEP_SANDBOX_ADDR, 2);
    if (clvm_nl_link_up(sk, index) < 0) CHILD_FAIL(CLVM_STEP_SANDBOX_UP, 0);
    if (net->has_route && clvm_nl_route_add(sk, index, net->route_dst, net->route_len, net->host_addr) < 0)
        CHILD_FAIL(CLVM_STEP_SANDBOX_ROUTE, 0);
    close(sk);
}

/* Sysctl files of the host link, prepared by the parent (the children may not format strings). */
struct net_paths {
    char forwarding[96];
    char disable_ipv6[96];
    /* The idmapped layers' paths (only with spec->idmap), also prepared by the parent. */
    const struct clvm_idmap_paths *idmap;
};

/* Child: writes one sysctl value. With missing_ok, a file that does not exist is success. */
static int write_sysctl(const char *path, const char *value, int missing_ok) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return (missing_ok && errno == ENOENT) ? 0 : -1;
    int rc = clvm_write_all(fd, value, strlen(value));
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

static int host_link_steps(int sk, const clvm_net_spec *net, const struct net_paths *paths, long init_pid) {
    if (clvm_nl_veth_create(sk, net->host_link, net->link_alias, "eth0", init_pid) < 0) return CLVM_STEP_VETH;
    /* Before the link is up: forwarding as the sandbox's egress says (a new link inherits the
     * host's default, which may be 1), and no IPv6 on the host end, so there is no link-local
     * host address for the sandbox to reach (ENOENT: IPv6 is off on this host anyway). */
    if (write_sysctl(paths->forwarding, net->forwarding ? "1" : "0", 0) < 0) return CLVM_STEP_SYSCTL;
    if (write_sysctl(paths->disable_ipv6, "1", 1) < 0) return CLVM_STEP_SYSCTL;
    int index = clvm_nl_ifindex(net->host_link);
    if (index < 0) return CLVM_STEP_HOST_ADDR;
    if (clvm_nl_addr_add(sk, index, net->host_addr, net->prefix_len) < 0) return CLVM_STEP_HOST_ADDR;
    if (clvm_nl_link_up(sk, index) < 0) return CLVM_STEP_HOST_UP;
    return 0;
}

/* Intermediate (host root, host net namespace): the veth pair with its peer born in the init's
 * namespace, the host end's sysctls and address, link up. Returns 0 or the failed step. */
static int host_link_up(const clvm_net_spec *net, const struct net_paths *paths, long init_pid, int *err) {
    int sk = clvm_nl_open();
    if (sk < 0) { *err = errno; return CLVM_STEP_VETH; }
    int step = host_link_steps(sk, net, paths, init_pid);
    *err = errno;
    close(sk);
    return step;
}

/* The init, after clone: wait for the intermediate, then build the sandbox and exec. Never returns.
 * lower_tree and layers_tree: the detached idmapped trees (with spec->idmap), else -1; ctl_fd: the
 * detached control tmpfs (with spec->ctl_out, ctl.c), else -1. */
static void init_child(const clvm_launch_spec *s, int errfd, int gofd, int readyfd, int lower_tree, int layers_tree,
                       int ctl_fd) {
    /* Resolve the host paths first, while this process still has the host root's fsuid: it owns
     * root-owned ancestors such as a 0700 /root, which the sandbox's shifted root could not search.
     * They are opened here, in the new mount namespace, because overlayfs only accepts layers whose
     * mounts belong to the mounter's namespace (an fd from the parent would point at host mounts). */
    /* The control tmpfs moves above the fds the steps below place (0-2, the ready pipe at 3, itself at 4). */
    if (ctl_fd >= 0 && ctl_fd <= CLVM_CTL_FD) {
        int high = fcntl(ctl_fd, F_DUPFD_CLOEXEC, CLVM_CTL_FD + 1);
        if (high < 0) CHILD_FAIL(CLVM_STEP_STDIO, 4);
        close(ctl_fd);
        ctl_fd = high;
    }
    int sandbox_fd = open(s->sandbox_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (sandbox_fd < 0) CHILD_FAIL(CLVM_STEP_CHDIR_SANDBOX, 0);
    /* The mount points (rootfs/, lower/, layers/, ctl/): shared ones, or the sandbox dir's own. Only
     * this mount namespace mounts on them, so one empty set serves every sandbox of a data dir. */
    int shared = s->mount_dir && s->mount_dir[0];
    int mount_fd = shared ? open(s->mount_dir, O_PATH | O_DIRECTORY | O_CLOEXEC) : sandbox_fd;
    if (mount_fd < 0) CHILD_FAIL(CLVM_STEP_CHDIR_SANDBOX, 2);
    /* With shared mount points, the sandbox's own layers are named through its dir's fd. */
    char via[40];
    size_t vn = 0;
    if (shared) {
        memcpy(via, "/proc/self/fd/", 14);
        vn = 14 + clvm_u64_to_dec(via + 14, (uint64_t)sandbox_fd);
        via[vn++] = '/';
    }
    /* With idmapped layers they are attached under the sandbox dir below (see idmap.c). */
    int idmapped = s->idmap != NULL;
    int lower_fd = idmapped ? -1 : open(s->lower_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (!idmapped && lower_fd < 0) CHILD_FAIL(CLVM_STEP_MOUNT_OVERLAY, 1);
    /* Layers named relative to the sandbox dir, so mountinfo inside shows no host path for them. */
    char options[400];
    size_t on = 0;
    const char *layer = s->layer_dir && s->layer_dir[0] ? s->layer_dir : NULL;
    size_t layer_len = layer ? strlen(layer) : 0;
    if (layer_len > 64) { errno = ENAMETOOLONG; CHILD_FAIL(CLVM_STEP_MOUNT_OVERLAY, 2); }
#define OPT_ADD(p, n) do { memcpy(options + on, (p), (n)); on += (n); } while (0)
    if (idmapped) {
        OPT_ADD("lowerdir=lower,upperdir=layers/upper,workdir=layers/work,userxattr", 66);
    } else {
        OPT_ADD("lowerdir=/proc/self/fd/", 23);
        on += clvm_u64_to_dec(options + on, (uint64_t)lower_fd);
        OPT_ADD(",upperdir=", 10);
        OPT_ADD(via, vn);
        if (layer) { OPT_ADD(layer, layer_len); OPT_ADD("/", 1); }
        OPT_ADD("upper,workdir=", 14);
        OPT_ADD(via, vn);
        if (layer) { OPT_ADD(layer, layer_len); OPT_ADD("/", 1); }
        OPT_ADD("work,userxattr", 14);
    }
    /* volatile (Linux 5.10+): no sync of the upper layer's file system when the overlay goes. The
     * sandbox's directory is thrown away at destroy, and the unmount at its init's exit (the end of
     * its mount namespace) ran ovl_sync_fs -> sync_filesystem, a writeback and a device flush of the
     * whole host file system, in every destroy. A host crash loses a sandbox anyway (its processes),
     * so its writes need no flush of their own. Cut off again (at volatile_at) if the kernel refuses it. */
    size_t volatile_at = on;
    OPT_ADD(",volatile", 10); /* with the NUL */
#undef OPT_ADD
    /* The bind source of /run/sandboxer: the control tmpfs attached at the mount dir's ctl/, or
     * the (layer dir's) ctl/ of the sandbox dir. */
    char ctl[128];
    size_t cn = 0;
    if (ctl_fd < 0) {
        memcpy(ctl, via, vn);
        cn = vn;
        if (layer) { memcpy(ctl + cn, layer, layer_len); ctl[cn + layer_len] = '/'; cn += layer_len + 1; }
    }
    memcpy(ctl + cn, "ctl", 4);

    char c;
    ssize_t r;
    do { r = read(gofd, &c, 1); } while (r < 0 && errno == EINTR);
    if (r != 1) _exit(1); /* the intermediate failed and reported it */
    /* Fast cgroup mode: cloned into the v2 cgroup already; the v1 ones by "0" to their `tasks`
     * (permission comes from the fd's opener, the host). Before the mounts, so they are charged. */
    if (s->cgroup_fast) {
        for (size_t i = 0; i + 1 < s->cgroup_count; i++)
            if (clvm_write_all(s->cgroup_fds[i], "0", 1) < 0) CHILD_FAIL(CLVM_STEP_CGROUP, (int)i);
    }

    int err = 0, step = clvm_child_become_root(&err);
    if (step) { clvm_child_report(errfd, step, err, 0); _exit(1); }
    if (setsid() < 0) CHILD_FAIL(CLVM_STEP_SETSID, 0);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) CHILD_FAIL(CLVM_STEP_MOUNT_PRIVATE, 0);
    /* Relative paths from here: the sandbox dir (0711) is reachable by fd even when its ancestors
     * are not searchable by the sandbox's shifted root. */
    if (fchdir(mount_fd) < 0) CHILD_FAIL(CLVM_STEP_CHDIR_SANDBOX, 1);
    if (idmapped) {
        int ierr = 0, istep = clvm_child_idmap_attach(lower_tree, layers_tree, &ierr);
        if (istep) { clvm_child_report(errfd, istep, ierr, 1); _exit(1); }
    }
    int mounted = mount("overlay", "rootfs", "overlay", 0, options);
    if (mounted < 0 && errno == EINVAL) {
        /* A kernel before 5.10 does not know the option; the same mount without it. */
        options[volatile_at] = 0;
        mounted = mount("overlay", "rootfs", "overlay", 0, options);
    }
    if (mounted < 0) CHILD_FAIL(CLVM_STEP_MOUNT_OVERLAY, 0);

    static const char *const dirs[] = { "rootfs/proc", "rootfs/sys", "rootfs/dev", "rootfs/tmp", "rootfs/run",
                                        "rootfs/run/sandboxer" };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (mkdir_p1(dirs[i], 0755) < 0) CHILD_FAIL(CLVM_STEP_MKDIR, (int)i);

    if (mount("proc", "rootfs/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        CHILD_FAIL(CLVM_STEP_MOUNT_PROC, 0);
    if (mount("sysfs", "rootfs/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        CHILD_FAIL(CLVM_STEP_MOUNT_SYS, 0);
    if (mount("tmpfs", "rootfs/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=1024k") < 0)
        CHILD_FAIL(CLVM_STEP_MOUNT_DEV, 0);
    for (size_t i = 0; i < sizeof dev_nodes / sizeof dev_nodes[0]; i++) {
        int fd = open(dev_targets[i], O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
        if (fd < 0) CHILD_FAIL(CLVM_STEP_DEV_NODE, (int)i);
        close(fd);
        if (mount(dev_sources[i], dev_targets[i], NULL, MS_BIND, NULL) < 0) CHILD_FAIL(CLVM_STEP_DEV_NODE, (int)i);
    }
    (void)symlink("/proc/self/fd", "rootfs/dev/fd");
    (void)symlink("/proc/self/fd/0", "rootfs/dev/stdin");
    (void)symlink("/proc/self/fd/1", "rootfs/dev/stdout");
    (void)symlink("/proc/self/fd/2", "rootfs/dev/stderr");
    if (mkdir_p1("rootfs/dev/shm", 01777) < 0) CHILD_FAIL(CLVM_STEP_MKDIR, 100);
    if (mount("tmpfs", "rootfs/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
        CHILD_FAIL(CLVM_STEP_MOUNT_DEV, 1);
    /* Terminals: a devpts of the sandbox's own (newinstance), never the host's ptys. */
    if (mkdir_p1("rootfs/dev/pts", 0755) < 0) CHILD_FAIL(CLVM_STEP_MKDIR, 101);
    if (mount("devpts", "rootfs/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0)
        CHILD_FAIL(CLVM_STEP_MOUNT_PTS, 0);
    (void)symlink("pts/ptmx", "rootfs/dev/ptmx");
    if (mount("tmpfs", "rootfs/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
        CHILD_FAIL(CLVM_STEP_MOUNT_TMP, 0);

    if (ctl_fd >= 0) {
        int cerr = 0, cstep = clvm_child_ctl_attach(ctl_fd, &cerr);
        if (cstep) { errno = cerr; CHILD_FAIL(CLVM_STEP_MOUNT_CTL, 10 + cstep); }
    }
    /* The control dir (deadline for the backstop timer), read-only. A remount must keep the flags
     * the kernel locked on the source mount, so they are read back with statfs. */
    if (mount(ctl, "rootfs/run/sandboxer", NULL, MS_BIND, NULL) < 0) CHILD_FAIL(CLVM_STEP_MOUNT_CTL, 0);
    struct statfs sfs;
    if (syscall(SYS_statfs, "rootfs/run/sandboxer", &sfs) < 0) CHILD_FAIL(CLVM_STEP_MOUNT_CTL, 1);
    unsigned long keep = (unsigned long)sfs.f_flags &
        (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
    if (mount(NULL, "rootfs/run/sandboxer", NULL,
              MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | keep, NULL) < 0)
        CHILD_FAIL(CLVM_STEP_MOUNT_CTL, 2);

    /* The intermediate moves us into the cgroups while we build the mounts above (a cgroup
     * migration costs an RCU grace period, which overlaps with that work); wait for it here. */
    do { r = read(gofd, &c, 1); } while (r < 0 && errno == EINTR);
    if (r != 1) _exit(1);
    close(gofd);
    /* Now inside its cgroups: a cgroup namespace rooted there hides the host's tree. */
    if (unshare(CLONE_NEWCGROUP) < 0) CHILD_FAIL(CLVM_STEP_CGROUP_NS, 0);
    if (sethostname(s->hostname, strlen(s->hostname)) < 0) CHILD_FAIL(CLVM_STEP_HOSTNAME, 0);
    if (loopback_up() < 0) CHILD_FAIL(CLVM_STEP_LOOPBACK, 0);
    if (s->net) sandbox_link_up(s->net, errfd);

    if (chdir("rootfs") < 0) CHILD_FAIL(CLVM_STEP_PIVOT_ROOT, 0);
    if (syscall(SYS_pivot_root, ".", ".") < 0) CHILD_FAIL(CLVM_STEP_PIVOT_ROOT, 1);
    if (umount2(".", MNT_DETACH) < 0) CHILD_FAIL(CLVM_STEP_UMOUNT_OLD_ROOT, 0);
    if (chdir("/") < 0) CHILD_FAIL(CLVM_STEP_PIVOT_ROOT, 2);
    umask(022);

    int null = open("/dev/null", O_RDWR);
    if (null < 0) CHILD_FAIL(CLVM_STEP_STDIO, 0);
    if (null != errfd) {
        if (dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) CHILD_FAIL(CLVM_STEP_STDIO, 1);
        if (null > 2) close(null);
    }
    /* The ready pipe becomes fd 3 (kept across exec): the init closes it once its signal traps are
     * installed, so the caller knows SIGTERM and SIGUSR1 will be handled from then on. The control
     * tmpfs becomes fd CLVM_CTL_FD (4), kept for clvm_ctl_write; nothing else may sit on 3 or 4. */
    if (errfd == 3 || errfd == CLVM_CTL_FD) {
        errfd = fcntl(errfd, F_DUPFD_CLOEXEC, CLVM_CTL_FD + 1);
        if (errfd < 0) _exit(1);
    }

    if (readyfd == 3) {
        if (fcntl(3, F_SETFD, 0) < 0) CHILD_FAIL(CLVM_STEP_STDIO, 3);
    } else if (dup2(readyfd, 3) < 0) {
        CHILD_FAIL(CLVM_STEP_STDIO, 3);
    }
    unsigned first_closed = 4;
    if (ctl_fd >= 0) { /* above CLVM_CTL_FD (hoisted at the start); dup2 clears close-on-exec */
        if (dup2(ctl_fd, CLVM_CTL_FD) < 0) CHILD_FAIL(CLVM_STEP_STDIO, 5);
        first_closed = CLVM_CTL_FD + 1;
    }
    /* Nothing else the host process had open may reach the sandbox. */
    if (syscall(SYS_close_range, first_closed, ~0U, CLOSE_RANGE_CLOEXEC) < 0) CHILD_FAIL(CLVM_STEP_STDIO, 2);
    /* Every mount is made: from here on the init is fenced like any sandbox process. */
    int herr = 0, hstep = clvm_child_harden(&herr);
    if (hstep) { clvm_child_report(errfd, hstep, herr, 0); _exit(1); }
    clvm_child_reset_signals();
    if (s->init_fd)
        syscall(SYS_execveat, *s->init_fd, "", (char *const *)s->argv, (char *const *)s->envp, AT_EMPTY_PATH);
    else
        execve(s->argv[0], (char *const *)s->argv, (char *const *)s->envp);
    clvm_child_report(errfd, CLVM_STEP_EXEC, errno, 0);
    _exit(127);
}

/* Child path for the map files: "/proc/<pid>/uid_map". */
static void proc_map_path(char *buf, long pid, const char *leaf) {
    memcpy(buf, "/proc/", 6);
    size_t n = 6 + clvm_u64_to_dec(buf + 6, (uint64_t)pid);
    buf[n++] = '/';
    size_t l = strlen(leaf);
    memcpy(buf + n, leaf, l + 1);
}

static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = clvm_write_all(fd, text, strlen(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* The intermediate: clone the init, wire it up from outside, release it, report its pid.
 * It shares the caller's memory (CLONE_VM) while the calling thread is suspended (CLONE_VFORK), so
 * it touches nothing but its own stack, the spec and the pipes (errno lands in the suspended
 * thread's TLS, which nobody reads meanwhile), and it never waits for the caller. */
static void intermediate(const clvm_launch_spec *s, const struct net_paths *paths, int errfd, int go_r, int go_w,
                         int report_w, int ready_w) {
    /* The idmapped layers as detached trees: the init (a fork-like copy) inherits the fds and
     * attaches them in its own mount namespace. */
    int lower_tree = -1, layers_tree = -1, ctl_fd = -1;
    if (s->ctl_out) {
        int cerr = 0, cstep = clvm_child_ctl_mount(s->ctl_deadline, s->ctl_out, &ctl_fd, &cerr);
        if (cstep) { clvm_child_report(errfd, CLVM_STEP_MOUNT_CTL, cerr, 10 + cstep); _exit(1); }
    }
    if (s->idmap) {
        int ierr = 0, istep = clvm_child_idmap_trees(paths->idmap, s->idmap, s->idmap_userns ? *s->idmap_userns : -1,
                                                     &lower_tree, &layers_tree, &ierr);
        if (istep) { clvm_child_report(errfd, istep, ierr, 0); _exit(1); }
    }
    const unsigned long ns_flags = CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET;
    long pid = -1;
    int v2_procs = -1; /* fast mode on a kernel without CLONE_INTO_CGROUP: the v2 cgroup.procs */
    if (s->cgroup_fast && s->cgroup_count > 0) {
        struct launch_clone_args ca;
        memset(&ca, 0, sizeof ca);
        ca.flags = ns_flags | CLONE_INTO_CGROUP;
        ca.exit_signal = SIGCHLD;
        ca.cgroup = (uint64_t)s->cgroup_fds[s->cgroup_count - 1];
        pid = syscall(SYS_clone3, &ca, sizeof ca);
        if (pid < 0 && (errno == ENOSYS || errno == E2BIG || errno == EINVAL)) {
            v2_procs = openat(s->cgroup_fds[s->cgroup_count - 1], "cgroup.procs", O_WRONLY | O_CLOEXEC);
            if (v2_procs < 0) { clvm_child_report(errfd, CLVM_STEP_CGROUP, errno, (int)s->cgroup_count - 1); _exit(1); }
            pid = clvm_raw_clone(ns_flags | SIGCHLD);
        }
    } else {
        pid = clvm_raw_clone(ns_flags | SIGCHLD);
    }
    if (pid < 0) { clvm_child_report(errfd, CLVM_STEP_CLONE, errno, 0); _exit(1); }
    if (pid == 0) {
        close(go_w);
        close(report_w);
        init_child(s, errfd, go_r, ready_w, lower_tree, layers_tree, ctl_fd);
    }
    close(go_r);
    close(ready_w);
    if (lower_tree >= 0) close(lower_tree);
    if (layers_tree >= 0) close(layers_tree);
    if (ctl_fd >= 0) close(ctl_fd);
    char path[64];
    proc_map_path(path, pid, "uid_map");
    if (write_file(path, s->id_map) < 0) {
        clvm_child_report(errfd, CLVM_STEP_UID_MAP, errno, 0);
        kill((pid_t)pid, SIGKILL);
        _exit(1);
    }
    proc_map_path(path, pid, "gid_map");
    if (write_file(path, s->id_map) < 0) {
        clvm_child_report(errfd, CLVM_STEP_GID_MAP, errno, 0);
        kill((pid_t)pid, SIGKILL);
        _exit(1);
    }
    /* First byte: the maps are written, build the root. */
    if (clvm_write_all(go_w, "g", 1) < 0) {
        clvm_child_report(errfd, CLVM_STEP_SYNC, errno, 0);
        kill((pid_t)pid, SIGKILL);
        _exit(1);
    }
    /* The init builds its mounts meanwhile; it configures its end after the second byte. */
    if (s->net) {
        int err = 0, step = host_link_up(s->net, paths, pid, &err);
        if (step) {
            clvm_child_report(errfd, step, err, 0);
            kill((pid_t)pid, SIGKILL); /* its namespace, and with it the whole veth pair, goes too */
            _exit(1);
        }
    }
    char num[24];
    size_t n = clvm_u64_to_dec(num, (uint64_t)pid);
    /* Fast mode: only the fallback's v2 write is left here (the init joins the v1 ones itself). */
    size_t first = s->cgroup_fast ? s->cgroup_count : 0;
    if (v2_procs >= 0 && clvm_write_all(v2_procs, num, n) < 0) {
        if (errno == ESRCH) _exit(1);
        clvm_child_report(errfd, CLVM_STEP_CGROUP, errno, (int)s->cgroup_count - 1);
        kill((pid_t)pid, SIGKILL);
        _exit(1);
    }
    for (size_t i = first; i < s->cgroup_count; i++) {
        if (clvm_write_all(s->cgroup_fds[i], num, n) < 0) {
            /* ESRCH: the init already failed a step of its own and reported that one. */
            if (errno == ESRCH) _exit(1);
            clvm_child_report(errfd, CLVM_STEP_CGROUP, errno, (int)i);
            kill((pid_t)pid, SIGKILL);
            _exit(1);
        }
    }
    /* Second byte: in the cgroups, go on to exec. */
    if (clvm_write_all(go_w, "c", 1) < 0) { /* EPIPE (SIGPIPE is blocked): the init died and reported why */
        if (errno == EPIPE) _exit(1);
        clvm_child_report(errfd, CLVM_STEP_SYNC, errno, 1);
        kill((pid_t)pid, SIGKILL);
        _exit(1);
    }
    int32_t p32 = (int32_t)pid;
    (void)clvm_write_all(report_w, &p32, sizeof p32);
    _exit(0);
}

/* What the intermediate gets through clone(2)'s single argument. */
struct intermediate_args {
    const clvm_launch_spec *spec;
    const struct net_paths *paths;
    int errfd, go_r, go_w, report_w, ready_w;
};

static int intermediate_entry(void *arg) {
    const struct intermediate_args *a = arg;
    intermediate(a->spec, a->paths, a->errfd, a->go_r, a->go_w, a->report_w, a->ready_w);
    return 1; /* not reached: intermediate always _exits */
}

/* The intermediate's stack: its frames (netlink buffers of 4 KiB are the largest) and the init's
 * until it execs (the init's copy of memory includes it). A guard page below catches overflow. */
#define INTERMEDIATE_STACK (256 * 1024)
#define STACK_GUARD 4096

/* Clones the intermediate with CLONE_VM | CLONE_VFORK on a fresh stack: returns once it exited
 * (or failed to start). The pid, or -1 with errno. */
static long clone_intermediate(struct intermediate_args *a) {
    char *stack = mmap(NULL, INTERMEDIATE_STACK + STACK_GUARD, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
    if (stack == MAP_FAILED) return -1;
    if (mprotect(stack, STACK_GUARD, PROT_NONE) < 0) {
        int saved = errno;
        munmap(stack, INTERMEDIATE_STACK + STACK_GUARD);
        errno = saved;
        return -1;
    }
    long mid = clone(intermediate_entry, stack + STACK_GUARD + INTERMEDIATE_STACK,
                     CLONE_VM | CLONE_VFORK | SIGCHLD, a);
    int saved = errno;
    munmap(stack, INTERMEDIATE_STACK + STACK_GUARD); /* the intermediate is gone: nobody runs on it */
    errno = saved;
    return mid;
}

int clvm_launch(const clvm_launch_spec *s, pid_t *out_pid, char *err, size_t err_len) {
    int errp[2], gop[2], rep[2], readyp[2];
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
    if (pipe2(readyp, O_CLOEXEC) < 0) {
        snprintf(err, err_len, "pipe2: %s", strerror(errno));
        close(errp[0]); close(errp[1]); close(gop[0]); close(gop[1]); close(rep[0]); close(rep[1]);
        return -1;
    }
    errp[1] = clvm_hoist_fd(errp[1]);
    struct net_paths paths;
    memset(&paths, 0, sizeof paths);
    /* 12 KiB of paths: on the heap (the intermediate shares it; the init gets a copy). */
    struct clvm_idmap_paths *idmap_paths = NULL;
    if (s->idmap) {
        idmap_paths = calloc(1, sizeof *idmap_paths);
        if (!idmap_paths) {
            snprintf(err, err_len, "out of memory");
            close(errp[0]); close(errp[1]); close(gop[0]); close(gop[1]); close(rep[0]); close(rep[1]);
            close(readyp[0]); close(readyp[1]);
            return -1;
        }
        const char *layer = s->layer_dir && s->layer_dir[0] ? s->layer_dir : NULL;
        idmap_paths->lower_src = s->lower_dir;
        snprintf(idmap_paths->layers_src, sizeof idmap_paths->layers_src, "%s%s%s", s->sandbox_dir, layer ? "/" : "",
                 layer ? layer : "");
        snprintf(idmap_paths->lower_dst, sizeof idmap_paths->lower_dst, "%s/lower", s->sandbox_dir);
        snprintf(idmap_paths->layers_dst, sizeof idmap_paths->layers_dst, "%s/layers", s->sandbox_dir);
        paths.idmap = idmap_paths;
    }
    if (s->net) {
        snprintf(paths.forwarding, sizeof paths.forwarding, "/proc/sys/net/ipv4/conf/%s/forwarding", s->net->host_link);
        snprintf(paths.disable_ipv6, sizeof paths.disable_ipv6, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", s->net->host_link);
    }

    /* Block every signal so no Swift/host handler runs in the children; they reset before exec. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    struct intermediate_args args = { s, &paths, errp[1], gop[0], gop[1], rep[1], readyp[1] };
    long mid = clone_intermediate(&args);
    int clone_errno = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(idmap_paths); /* the intermediate has exited (CLONE_VFORK); the init has its own copy */
    close(errp[1]); close(gop[0]); close(gop[1]); close(rep[1]); close(readyp[1]);
    if (mid < 0) {
        close(errp[0]); close(rep[0]); close(readyp[0]);
        snprintf(err, err_len, "clone: %s", strerror(clone_errno));
        return -1;
    }

    int32_t init = 0;
    ssize_t got_pid = clvm_read_full(rep[0], &init, sizeof init);
    struct clvm_child_error e;
    ssize_t got_err = clvm_read_full(errp[0], &e, sizeof e);
    close(rep[0]);
    close(errp[0]);
    if (got_err != (ssize_t)sizeof e && got_pid == (ssize_t)sizeof init) {
        /* Exec'd: now wait until the init closes fd 3 (its traps are set) or dies. */
        char sink[64];
        for (;;) {
            ssize_t r = read(readyp[0], sink, sizeof sink);
            if (r > 0 || (r < 0 && errno == EINTR)) continue;
            break;
        }
    }
    close(readyp[0]);
    return clvm_finish_spawn(mid, got_pid, init, got_err, &e, "sandbox init", out_pid, err, err_len);
}
