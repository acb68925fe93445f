/*
 * internal.h — helpers shared by the launcher and exec code of CLocalVM.
 *
 * Everything marked "child" here runs after a raw clone of a multi-threaded process, so it only
 * makes plain system calls: no malloc, no stdio, no locks, no glibc wrappers that look at other
 * threads (setresuid and setgroups are issued as raw syscalls because glibc would try to signal
 * the parent's threads, which do not exist in the child).
 */
#ifndef CLOCALVM_INTERNAL_H
#define CLOCALVM_INTERNAL_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/** One failed step of a child, sent through a CLOEXEC pipe (atomic: smaller than PIPE_BUF). */
struct clvm_child_error {
    int32_t step;
    int32_t err;
    int32_t detail;
};

/** The set-up steps a child can fail in; clvm_step_name gives each a name for messages. */
enum clvm_step {
    CLVM_STEP_CLONE = 1,
    CLVM_STEP_CGROUP,
    CLVM_STEP_UID_MAP,
    CLVM_STEP_GID_MAP,
    CLVM_STEP_SYNC,
    CLVM_STEP_SETGID,
    CLVM_STEP_SETGROUPS,
    CLVM_STEP_SETUID,
    CLVM_STEP_SETSID,
    CLVM_STEP_CGROUP_NS,
    CLVM_STEP_MOUNT_PRIVATE,
    CLVM_STEP_CHDIR_SANDBOX,
    CLVM_STEP_MOUNT_OVERLAY,
    CLVM_STEP_MKDIR,
    CLVM_STEP_MOUNT_PROC,
    CLVM_STEP_MOUNT_SYS,
    CLVM_STEP_MOUNT_DEV,
    CLVM_STEP_DEV_NODE,
    CLVM_STEP_MOUNT_TMP,
    CLVM_STEP_MOUNT_CTL,
    CLVM_STEP_HOSTNAME,
    CLVM_STEP_LOOPBACK,
    CLVM_STEP_PIVOT_ROOT,
    CLVM_STEP_UMOUNT_OLD_ROOT,
    CLVM_STEP_STDIO,
    CLVM_STEP_EXEC,
    CLVM_STEP_SETNS,
    CLVM_STEP_FORK,
    CLVM_STEP_CHDIR,
    CLVM_STEP_OOM_SCORE,
    CLVM_STEP_VETH,
    CLVM_STEP_SYSCTL,
    CLVM_STEP_HOST_ADDR,
    CLVM_STEP_HOST_UP,
    CLVM_STEP_SANDBOX_ADDR,
    CLVM_STEP_SANDBOX_UP,
    CLVM_STEP_SANDBOX_ROUTE,
    CLVM_STEP_CAPS,
    CLVM_STEP_NO_NEW_PRIVS,
    CLVM_STEP_SECCOMP,
    CLVM_STEP_MOUNT_PTS,
    CLVM_STEP_IDMAP_NS,
    CLVM_STEP_IDMAP_USERNS,
    CLVM_STEP_IDMAP_LOWER,
    CLVM_STEP_IDMAP_LAYERS,
    CLVM_STEP_EXEC_HELPER,
};

/** Human name of a step ("mount overlay"). */
const char *clvm_step_name(int step);

/** Formats "<step>: <strerror>" (plus the detail index when it matters) into err. */
void clvm_format_child_error(const struct clvm_child_error *e, char *err, size_t err_len);
/* The parent's end of a two-level spawn: reaps the intermediate `mid`, then turns the reports (the
 * child's pid from the report pipe, a step error from the error pipe) into 0 with *out_pid set, or -1
 * with `err` filled; a child that was made before a step failed is killed. `what` names the child. */
int clvm_finish_spawn(long mid, ssize_t got_pid, int32_t pid, ssize_t got_err, const struct clvm_child_error *e,
                      const char *what, pid_t *out_pid, char *err, size_t err_len);

/** Child: report a failed step. */
static inline void clvm_child_report(int fd, int step, int err, int detail) {
    struct clvm_child_error e = { step, err, detail };
    ssize_t r;
    do { r = write(fd, &e, sizeof e); } while (r < 0 && errno == EINTR);
}

/** Child: fork-like raw clone (no atfork handlers, no glibc bookkeeping). */
static inline long clvm_raw_clone(unsigned long flags) {
    return syscall(SYS_clone, flags, 0L, 0L, 0L, 0L);
}

/** Child: decimal text of v into buf (at least 21 bytes); returns the length. */
static inline size_t clvm_u64_to_dec(char *buf, uint64_t v) {
    char tmp[21];
    size_t n = 0;
    do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    for (size_t i = 0; i < n; i++) buf[i] = tmp[n - 1 - i];
    buf[n] = 0;
    return n;
}

/** Child: write all of buf (retrying on EINTR and short writes). Returns 0 or -1. */
static inline int clvm_write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len) {
        ssize_t r = write(fd, p, len);
        if (r < 0) { if (errno == EINTR) continue; return -1; }
        p += r; len -= (size_t)r;
    }
    return 0;
}

/** Child: become uid/gid 0 of the current user namespace (raw syscalls). Returns 0 or the failed step. */
static inline int clvm_child_become_root(int *err) {
    if (syscall(SYS_setresgid, 0, 0, 0) < 0) { *err = errno; return CLVM_STEP_SETGID; }
    if (syscall(SYS_setgroups, 0, (void *)0) < 0) { *err = errno; return CLVM_STEP_SETGROUPS; }
    if (syscall(SYS_setresuid, 0, 0, 0) < 0) { *err = errno; return CLVM_STEP_SETUID; }
    return 0;
}

/** Child, right before execve: default dispositions for every signal, nothing blocked. */
static inline void clvm_child_reset_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        (void)sigaction(sig, &sa, 0); /* glibc-internal signals answer EINVAL: harmless */
    }
    sigset_t none;
    sigemptyset(&none);
    (void)sigprocmask(SIG_SETMASK, &none, 0);
}

/* harden.c: the fence every sandbox process passes before execve. */

struct sock_filter;
/** Builds the sandbox's seccomp program into f (at most cap instructions); returns its length, 0
 *  when cap is too small. */
size_t clvm_build_filter(struct sock_filter *f, size_t cap);

/** Child, right before execve (after every mount and setns): drops capabilities to the kept set
 *  (bounding, ambient, inheritable, effective, permitted), sets no_new_privs and installs the
 *  seccomp filter. Returns 0 or the failed step, with *err = errno. */
int clvm_child_harden(int *err);

/* idmap.c: the per-sandbox id range over the shared on-disk range. */

/** Paths of the idmapped mounts, prepared by the parent (children may not format strings). */
struct clvm_idmap_paths {
    const char *lower_src;  /* the base image */
    char layers_src[4200];  /* the dir holding upper/ and work/ */
    char lower_dst[4200];   /* <sandbox>/lower */
    char layers_dst[4200];  /* <sandbox>/layers */
};

/** Child (the intermediate, host root): the control tmpfs as a detached mount (ctl.c), with
 *  `deadline` (or none when NULL) written into it and its root's identity in *out; its fd in
 *  *mount_fd. 0, or a detail number for CLVM_STEP_MOUNT_CTL with *err set. */
struct clvm_ctl_id;
int clvm_child_ctl_mount(const char *deadline, struct clvm_ctl_id *out, int *mount_fd, int *err);

/** Child (the init, cwd the mount dir): attaches the control tmpfs at `ctl`. 0 or a detail number. */
int clvm_child_ctl_attach(int mount_fd, int *err);

/** Child (the intermediate, host root): detached idmapped clones of the lower layer (read-only) and
 *  the layer dir, as fds in *lower_tree and *layers_tree, mapped by the user namespace `userns_fd`
 *  or, when it is -1, by one made here with `map` (uid_map = gid_map) and dropped again.
 *  Returns 0 or the failed step, with *err = errno. */
int clvm_child_idmap_trees(const struct clvm_idmap_paths *p, const char *map, int userns_fd, int *lower_tree,
                           int *layers_tree, int *err);

/** Child (the init, root of its own user and mount namespaces, cwd the sandbox dir): attaches the
 *  trees of `clvm_child_idmap_trees` at ./lower and ./layers and closes them. 0 or the failed step. */
int clvm_child_idmap_attach(int lower_tree, int layers_tree, int *err);

/* rtnetlink, with messages built on the stack: safe in a raw-cloned child (see netlink.c). */

/** Child: a NETLINK_ROUTE socket (CLOEXEC), or -1 with errno. */
int clvm_nl_open(void);

/** Child: the index of link `name` in the caller's namespace, or -1 with errno. */
int clvm_nl_ifindex(const char *name);

/** Child: creates a veth pair: `host_name` (with `alias`) here, `peer_name` in the net namespace
 *  of `peer_pid`. Returns 0 or -1 with errno. */
int clvm_nl_veth_create(int sk, const char *host_name, const char *alias, const char *peer_name, long peer_pid);

/** Child: adds the IPv4 address `addr`/`prefix_len` (network byte order) to link `ifindex`. */
int clvm_nl_addr_add(int sk, int ifindex, uint32_t addr, uint8_t prefix_len);

/** Child: sets link `ifindex` up. */
int clvm_nl_link_up(int sk, int ifindex);

/** Child: adds a route to `dst`/`dst_len` via `gateway` (network byte order) on link `ifindex`. */
int clvm_nl_route_add(int sk, int ifindex, uint32_t dst, uint8_t dst_len, uint32_t gateway);

/** Parent: move fd to a number >= 3 (so dup2 onto 0..2 in a child never clobbers it). */
int clvm_hoist_fd(int fd);

/** Parent: read exactly len bytes unless EOF comes first; returns bytes read or -1. */
ssize_t clvm_read_full(int fd, void *buf, size_t len);

/* Looks argv[0] up in envp's PATH like execvp and execs it (stack only: for a child before execve).
 * Returns errno when nothing could be exec'd. */
int clvm_exec_search(const char *const *argv, const char *const *envp);

/* The pipes of one exec: stdout, stderr, status and failure pipes (CLOEXEC) and stdin (a socketpair
 * with `has_stdin`, else /dev/null in inp[0], inp[1] = -1). 0, or -1 with a sentence in `err` and
 * every descriptor closed (all set to -1). */
int clvm_exec_pipes(int has_stdin, int outp[2], int errp[2], int inp[2], int statp[2], int failp[2],
                    char *err, size_t err_len);

/* Parent (exec.c): starts helper A (the init program's --exec-helper mode when spec->helper_fd names
 * it, exec_helper.c; else a clone of the caller), which enters the sandbox and runs the command as clvm_exec does
 * (shared with clvm_exec_start, so a streamed command gets exactly the same set-up), with every signal
 * blocked, and in the fast cgroup mode straight into the sandbox's v2 cgroup. A's pid, or -1 with errno. */
struct clvm_exec_spec;
long clvm_exec_spawn_helper(const struct clvm_exec_spec *s, int in_r, int out_w, int err_w, int status_w, int fail_w);

/* exec.c's two children, shared with exec_node.c. B (in the sandbox's pid namespace): joins the
 * command-only cgroups, starts a session, takes in_r/out_w/err_w as its stdio, chdirs to `cwd`
 * ("/" when NULL), is fenced and execs; never returns. A, once B exists: keeps only `status_w`,
 * writes B's pid, waits for B and writes its wait status; never returns. With `timeout_ms` >= 0, A
 * kills B's process group once that time has passed and marks the status CLVM_STATUS_TIMED_OUT. */
struct clvm_exec_spec;
__attribute__((noreturn)) void clvm_exec_child_b(const struct clvm_exec_spec *s, const char *cwd, int in_r, int out_w,
                                                 int err_w, int fail_w);
__attribute__((noreturn)) void clvm_exec_child_a_wait(long b, int status_w, int64_t timeout_ms);

/* exec_helper.c: starts A as `sandboxer-localvm-init --exec-helper` from `s->helper_fd` (clone3 with
 * CLONE_VM | CLONE_VFORK, into the v2 cgroup `into` unless it is -1): A's pid, or -1 with errno
 * (ENOSYS: no helper program or no such clone here; E2BIG or EINVAL: clone3 refused; the caller
 * then clones A the old way). Called with every signal blocked. */
long clvm_exec_spawn_program_helper(const struct clvm_exec_spec *s, int in_r, int out_w, int err_w, int status_w,
                                    int fail_w, int into);

/* exec.c: A's whole work (cgroups, setns, root, fork B, report); never returns. The helper program runs it. */
__attribute__((noreturn)) void clvm_exec_run_a(const struct clvm_exec_spec *s, int in_r, int out_w, int err_w,
                                               int status_w, int fail_w);

#endif
