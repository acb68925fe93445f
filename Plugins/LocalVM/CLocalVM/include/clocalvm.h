/*
 * clocalvm.h — the C half of the LocalVM backend.
 *
 * Everything that runs between fork/clone and execve lives here, because the Swift process that
 * loads the plugin is multi-threaded: after a fork only async-signal-safe system calls are allowed
 * until exec. Swift prepares every string and file descriptor beforehand and calls these functions.
 */
#ifndef CLOCALVM_H
#define CLOCALVM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What `clvm_launch` needs to start a sandbox's init. All strings are NUL-terminated. */
typedef struct clvm_launch_spec {
    /** Absolute path of `<data_dir>/sandboxes/<id>` (holds rootfs/, upper/, work/, ctl/). */
    const char *sandbox_dir;
    /** Absolute path of the read-only base rootfs (the overlay's lower layer). */
    const char *lower_dir;
    /** Host name inside the sandbox (the sandbox id). */
    const char *hostname;
    /** Lines for uid_map and gid_map, for example "0 100000 65536\n". */
    const char *id_map;
    /** Open (O_WRONLY) `cgroup.procs` fds the init is moved into before it runs. */
    const int *cgroup_fds;
    size_t cgroup_count;
    /** Init argv and envp, NULL-terminated; argv[0] is executed inside the new root (absolute path). */
    const char *const *argv;
    const char *const *envp;
} clvm_launch_spec;

/**
 * Starts a sandbox init in new user, pid, mount, uts, ipc, net and cgroup namespaces, detached from
 * the caller (it is a grandchild, in its own session). Returns 0 and the init's host pid once the
 * init has exec'd; on failure returns -1 and writes one sentence ("mount overlay: Permission
 * denied") into `err`. No process is left behind on failure.
 */
int clvm_launch(const clvm_launch_spec *spec, pid_t *out_pid, char *err, size_t err_len);

/** What `clvm_exec` needs to run one command inside a running sandbox. */
typedef struct clvm_exec_spec {
    /** pidfd of the sandbox init (the caller checked it is the right process). */
    int init_pidfd;
    /** Open (O_WRONLY) `cgroup.procs` fds the command joins before it enters the sandbox. */
    const int *cgroup_fds;
    size_t cgroup_count;
    /** NULL-terminated argv and envp; argv[0] is looked up in envp's PATH when it has no slash. */
    const char *const *argv;
    const char *const *envp;
    /** Bytes for standard input; with `has_stdin` 0 the command reads /dev/null. */
    const uint8_t *stdin_data;
    size_t stdin_len;
    int has_stdin;
    /** Milliseconds before the command's process group is killed; negative for none. */
    int64_t timeout_ms;
    /** Upper bound on bytes kept per output stream (the rest is read and dropped). */
    size_t max_output;
    /** How many of the first `cgroup_fds` the command's own process joins, rather than the helper
     *  that enters the sandbox: the memory cgroup. The helper is a copy of the host, so inside the
     *  sandbox's memory cgroup the OOM killer could pick it over the command (and lowering its own
     *  oom_score_adj needs CAP_SYS_RESOURCE, which a host may not have). */
    size_t command_only_cgroups;
} clvm_exec_spec;

/** The outcome of `clvm_exec`; release with `clvm_exec_result_free`. */
typedef struct clvm_exec_result {
    /** Exit status, or 128 + signal number when the command was killed by a signal. */
    int exit_code;
    /** 1 when the timeout fired and the command was killed. */
    int timed_out;
    /** errno of a failed execve of argv[0] (0 when the command started). */
    int exec_errno;
    uint8_t *out;
    size_t out_len;
    uint8_t *err;
    size_t err_len;
} clvm_exec_result;

/**
 * Runs argv inside the sandbox of `init_pidfd`: joins its cgroups, enters its namespaces (user
 * first), forks so the command is in the sandbox's pid namespace, and captures both output streams.
 * Returns 0 when the command ran (whatever its exit code), -1 with a message in `err` when the
 * sandbox could not be entered.
 */
int clvm_exec(const clvm_exec_spec *spec, clvm_exec_result *result, char *err, size_t err_len);

/** Frees the buffers of an exec result. */
void clvm_exec_result_free(clvm_exec_result *result);

/** pidfd_open(2): a descriptor for `pid` (O_CLOEXEC), or -1 with errno. */
int clvm_pidfd_open(pid_t pid);

/** pidfd_send_signal(2). Returns 0 or -1 with errno. */
int clvm_pidfd_signal(int pidfd, int sig);

/**
 * Waits until the process of `pidfd` has exited (poll on the pidfd), at most `timeout_ms`
 * (negative: forever). Returns 1 when it exited, 0 on timeout, -1 on error.
 */
int clvm_pidfd_wait_exit(int pidfd, int timeout_ms);

/**
 * Kills every process of the cgroup v2 directory `dir` (`cgroup.kill`) and waits, watching
 * `cgroup.events` with inotify, until it reports `populated 0`, at most `timeout_ms`.
 * Returns 0 when empty, 1 on timeout, -1 on error (errno set).
 */
int clvm_cgroup_kill_wait(const char *dir, int timeout_ms);

/**
 * Removes the directory tree at `path` (like rm -rf) without following symlinks and without
 * descending into other file systems (a mount left underneath is refused, not emptied).
 * Returns 0, or -1 with errno (EBUSY when another file system was found inside).
 */
int clvm_remove_tree(const char *path);

/**
 * Adds `base` to the owner and group of every entry under `path` (itself included) whose ids are
 * below `count`, keeping set-id bits. Returns 0, or -1 with errno.
 */
int clvm_shift_owners(const char *path, uid_t base, uint32_t count);

#ifdef __cplusplus
}
#endif

#endif /* CLOCALVM_H */
