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

/**
 * The bridged network of a sandbox: a veth pair whose host end stays in the host's namespace and
 * whose peer is created directly inside the sandbox's (as `eth0`). Addresses are IPv4 in network
 * byte order; the host end gets `host_addr/prefix_len`, the peer `sandbox_addr/prefix_len`.
 */
typedef struct clvm_net_spec {
    /** Host-side link name (at most 15 bytes), e.g. "sbx0123456789ab". */
    const char *host_link;
    /** The host link's alias (IFLA_IFALIAS): the label that proves whose link it is. */
    const char *link_alias;
    uint32_t host_addr;
    uint32_t sandbox_addr;
    uint8_t prefix_len;
    /** With has_route, a route inside the sandbox to `route_dst/route_len` (network byte order)
     *  via host_addr: 0.0.0.0/0 for egress nat, the pool for peers; without, the link route only. */
    int has_route;
    uint32_t route_dst;
    uint8_t route_len;
    /** `net.ipv4.conf.<host_link>.forwarding` for the host end: 1 only when the sandbox may be
     *  forwarded (egress nat, or peers allowed); always written, since new links inherit `default`. */
    int forwarding;
} clvm_net_spec;

/** Device and inode of a control tmpfs's root directory. */
typedef struct clvm_ctl_id {
    uint64_t dev;
    uint64_t ino;
} clvm_ctl_id;

/** What `clvm_launch` needs to start a sandbox's init. All strings are NUL-terminated. */
typedef struct clvm_launch_spec {
    /** Absolute path of `<data_dir>/sandboxes/<id>` (holds upper/ and work/; rootfs/ and ctl/ too
     *  without `mount_dir` and `ctl_out`). */
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
    /** The bridged network to build before the init runs, or NULL for `network: none` (only `lo`). */
    const clvm_net_spec *net;
    /** Directory (relative to sandbox_dir, one name such as "disk") that holds upper/, work/ and
     *  ctl/ instead of sandbox_dir itself; NULL or "" for sandbox_dir. Appended: zero means default. */
    const char *layer_dir;
    /** uid_map (= gid_map) lines of the idmapped mounts, e.g. "100000 1048576 65536\n": the ids
     *  files have on disk (the shared shifted range) → the sandbox's own host ids (id_map's range).
     *  The lower layer is then mounted at <sandbox_dir>/lower and the layer dir at
     *  <sandbox_dir>/layers (both must exist, empty). NULL: no idmapped mounts; the sandbox runs
     *  in the on-disk range itself. Appended: zero means off. */
    const char *idmap;
    /** An fd (from `clvm_init_image`) of the init program to run with execveat(AT_EMPTY_PATH)
     *  instead of argv[0] from the new root, so the init need not be a file in the sandbox.
     *  Appended: NULL means argv[0]. */
    const int *init_fd;
    /** With `idmap`: an fd of a user namespace whose uid_map and gid_map are `idmap` (from
     *  `clvm_idmap_userns_open`), used for the idmapped mounts instead of making one per launch.
     *  Appended: NULL means make one. */
    const int *idmap_userns;
    /** 0: every `cgroup_fds` entry is a `cgroup.procs` fd; the intermediate moves the init by
     *  writing its pid there. 1 (the layout of `clvm_exec_spec.cgroup_fast`): the entries are
     *  cgroup v1 `tasks` fds, except the last, an O_DIRECTORY fd of the v2 cgroup; the init is
     *  cloned straight into that one (clone3 CLONE_INTO_CGROUP) and joins the v1 ones itself by
     *  writing "0" (it is single-threaded, so its thread is the process). Neither takes the
     *  kernel's threadgroup lock for writing, whose RCU grace period a pid written to
     *  `cgroup.procs` waits for. Appended: zero means 0. */
    int cgroup_fast;
    /** Directory holding the empty mount points rootfs/, lower/ and layers/ the launch mounts on
     *  (only in the sandbox's own mount namespace, so one set serves every sandbox of a data dir);
     *  the layers of sandbox_dir are then named through its fd (`/proc/self/fd/N/upper`), never by
     *  a host path. Appended: NULL means sandbox_dir itself (which then holds them). */
    const char *mount_dir;
    /** Non-NULL: `/run/sandboxer` is a tmpfs of the sandbox's own instead of a bind of
     *  `<layer>/ctl`. The intermediate (host root) makes it as a detached mount (no mount in the
     *  host's namespace), writes `ctl_deadline` into it, and the sandbox gets a read-only clone;
     *  the init keeps the writable mount as fd `CLVM_CTL_FD`, where `clvm_ctl_write` reaches it.
     *  Its root's device and inode are stored here (the intermediate shares the caller's memory)
     *  so a later write can check that the fd it finds is this very directory. Appended: NULL
     *  means the bind. */
    clvm_ctl_id *ctl_out;
    /** With `ctl_out`: the text of `/run/sandboxer/deadline`, or NULL for no deadline file. */
    const char *ctl_deadline;
} clvm_launch_spec;

/** The init's fd that holds its writable control tmpfs (see `clvm_launch_spec.ctl_out`). */
#define CLVM_CTL_FD 4

/**
 * Replaces `deadline` in the control tmpfs of the running init `init_pidfd` (host pid `pid`; a
 * temporary renamed over it, so the init never reads half a file): the init's fd `CLVM_CTL_FD` is
 * taken with pidfd_getfd (else through /proc/<pid>/fd) and used only if it is a tmpfs directory owned by host root whose device and inode
 * are `id`'s, so nothing the sandbox does to its init's fds can make the host write anywhere else.
 * 0, or -1 with one sentence in `err`.
 */
int clvm_ctl_write(int init_pidfd, pid_t pid, clvm_ctl_id id, const char *text, char *err, size_t err_len);

/**
 * A user namespace whose uid_map and gid_map are `map` ("100000 1048576 65536\n"), as an O_CLOEXEC
 * fd for `clvm_launch_spec.idmap_userns`; it holds no process (a throwaway child is made in it and
 * reaped before this returns). -1 with one sentence in `err` on failure.
 */
int clvm_idmap_userns_open(const char *map, char *err, size_t err_len);

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
    /** Milliseconds before the command's process group is killed; negative for none. The exec
     *  helper kills at it too (and marks the status CLVM_STATUS_TIMED_OUT), so it holds with no
     *  call of the caller's watching. */
    int64_t timeout_ms;
    /** Upper bound on bytes kept per output stream (the rest is read and dropped). */
    size_t max_output;
    /** How many of the first `cgroup_fds` the command's own process joins, rather than the helper
     *  that enters the sandbox: the memory cgroup. The helper is a copy of the host, so inside the
     *  sandbox's memory cgroup the OOM killer could pick it over the command (and lowering its own
     *  oom_score_adj needs CAP_SYS_RESOURCE, which a host may not have). */
    size_t command_only_cgroups;
    /** 0: every `cgroup_fds` entry is a `cgroup.procs` fd, joined by writing "0" to it. 1: the fast
     *  way (measured in docs/performance.md, "LocalVM exec"): the entries are cgroup v1 `tasks` fds,
     *  except the last, an O_DIRECTORY fd of the v2 cgroup that the helper is cloned straight into
     *  (clone3 CLONE_INTO_CGROUP). A write to `cgroup.procs` moves a whole thread group and so takes
     *  the kernel's threadgroup lock for writing, which waits for an RCU grace period (16–35 ms
     *  under this machine's load); moving the (single) calling thread through `tasks` takes no such
     *  lock, and neither does CLONE_INTO_CGROUP. Zero-initialised callers keep the old way. */
    int cgroup_fast;
    /** An fd (> 2, from `clvm_init_image`) of `sandboxer-localvm-init`, which then runs the helper
     *  that enters the sandbox (its `--exec-helper` mode) instead of a copy of the caller: nothing
     *  of the caller's address space is copied (docs/performance.md, "LocalVM streamed exec
     *  (session 9)"). 0 or any fd <= 2 (zero-initialised callers) keeps the copy. */
    int helper_fd;
} clvm_exec_spec;

/** The ELF section whose presence in `sandboxer-localvm-init` says it has the `--exec-helper` mode. */
#define CLVM_EXEC_HELPER_SECTION "sbx_exec_helper_v1"

/** 1 when the ELF file at `path` has the section CLVM_EXEC_HELPER_SECTION (read from its section
 *  headers: a few small reads), else 0. Only then may `clvm_exec_spec.helper_fd` name it. */
int clvm_program_has_exec_helper(const char *path);

/** `sandboxer-localvm-init --exec-helper ...`: helper A of an exec started with `helper_fd`; never
 *  returns. */
__attribute__((noreturn)) void clvm_exec_helper_main(int argc, char **argv, char **envp);

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
 * `cgroup.events` with poll(POLLPRI), until it reports `populated 0`, at most `timeout_ms`.
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

/**
 * Deletes the network link `name` in the caller's namespace (rtnetlink RTM_DELLINK; deleting one
 * end of a veth pair deletes both). Returns 0 when deleted, 1 when there was no such link, -1 with
 * errno on any other failure.
 */
int clvm_link_delete(const char *name);

/** What `clvm_spawn_forwarder` needs to start a port forwarder next to a sandbox. */
typedef struct clvm_forward_spec {
    /** Absolute path of the forwarder executable, its argv and envp (NULL-terminated). */
    const char *path;
    const char *const *argv;
    const char *const *envp;
    /** Listening sockets, handed to the forwarder as fds 3, 4, ... in this order. */
    const int *listen_fds;
    size_t listen_count;
    /** An open (O_WRONLY) `cgroup.procs` the forwarder joins before it execs (the sandbox's v2
     *  cgroup, so one `cgroup.kill` ends it with the sandbox), or -1. */
    int cgroup_fd;
} clvm_forward_spec;

/**
 * Starts the forwarder detached from the caller (a grandchild in its own session, like a sandbox
 * init). Returns 0 and its pid once it has exec'd; -1 with one sentence in `err` otherwise.
 */
int clvm_spawn_forwarder(const clvm_forward_spec *spec, pid_t *out_pid, char *err, size_t err_len);

/**
 * Copies the path of the file this code was loaded from (the plugin library, or the executable it
 * is linked into) into `buf`. Returns 0, or -1 when it is unknown or does not fit.
 */
int clvm_own_image_path(char *buf, size_t len);

/**
 * The capabilities (bit n = capability n) a sandbox process keeps inside its user namespace; every
 * other one is dropped from all five sets before the init and every exec'd command run.
 */
uint64_t clvm_kept_capabilities(void);

/** A command started by `clvm_node_exec_start` (BYOK's node helper, exec_node.c): the caller relays its
 *  streams and reads its status (the host's streamed exec uses `clvm_exec_start` below). */
typedef struct clvm_node_exec {
    /** The exec helper (the caller's child); `clvm_node_exec_end` reaps it. */
    pid_t helper_pid;
    /** The command's stdin (a pipe: write with clvm_pipe_write), or -1 when `has_stdin` was 0. */
    int stdin_fd;
    /** Read ends of the command's stdout and stderr. */
    int stdout_fd;
    int stderr_fd;
    /** The command's host pid (int32, also its process group), then its wait status (int32). */
    int status_fd;
    /** Set-up failures (internal; read by `clvm_node_exec_end`). */
    int fail_fd;
} clvm_node_exec;

/**
 * Starts argv inside the sandbox of `spec->init_pidfd` as `clvm_exec` does, in working directory
 * `cwd` (NULL: "/"), and returns at once with the command's descriptors; `stdin_data`,
 * `timeout_ms` and `max_output` of the spec are not used (the caller streams and times).
 * Returns 0, or -1 with one sentence in `err`.
 */
int clvm_node_exec_start(const clvm_exec_spec *spec, const char *cwd, clvm_node_exec *out, char *err, size_t err_len);

/**
 * Closes what is still open of `stream`, reaps its helper (wait for the command's status first, or
 * kill the command) and reports: 0 with `*exec_errno` set when execve of argv[0] failed (0 when the
 * command ran), -1 with one sentence in `err` when entering the sandbox failed.
 */
int clvm_node_exec_end(clvm_node_exec *stream, int *exec_errno, char *err, size_t err_len);

/** Set in a command's wait status (bits a wait status never uses) when the exec helper killed the
 *  command at its `timeout_ms`. */
#define CLVM_STATUS_TIMED_OUT 0x10000

/** A command started by `clvm_exec_start`: the caller's ends of its pipes and how to reach it. */
typedef struct clvm_exec_stream {
    /** The helper that waits for the command (the caller's child); reaped by clvm_exec_stream_status
     *  or clvm_exec_stream_close, 0 once reaped. */
    pid_t helper_pid;
    /** The command (host pid), leader of its own session and process group. */
    pid_t command_pid;
    /** pidfd of the command, or -1. */
    int command_pidfd;
    /** Standard input (the write end of a non-blocking pipe: write it with clvm_pipe_write, close it for
     *  end of file), or -1 for /dev/null. */
    int stdin_fd;
    /** Read ends of standard output and error, non-blocking. */
    int stdout_fd;
    int stderr_fd;
    /** The helper writes the command's wait status here (4 bytes) when it ends. */
    int status_fd;
    /** errno of a failed execve of argv[0] (0 when the command started); the status then says 127. */
    int exec_errno;
} clvm_exec_stream;

/**
 * Starts argv inside the sandbox of `init_pidfd` exactly as `clvm_exec` does, but returns at once
 * with the pipes instead of capturing them (`max_output` and `stdin_data` are not used; `timeout_ms`
 * is kept by the exec helper, whose status then carries CLVM_STATUS_TIMED_OUT; `has_stdin` 1 makes
 * standard input a pipe the caller writes). Returns 0
 * once the command has exec'd (or execve failed: see `exec_errno`), -1 with a message in `err` when
 * the sandbox could not be entered; nothing is left running then.
 */
int clvm_exec_start(const clvm_exec_spec *spec, clvm_exec_stream *out, char *err, size_t err_len);

/**
 * Waits at most `timeout_ms` (negative: forever) for the command's wait status, also returning early
 * when `cancel_fd` (or -1) becomes readable. Returns 1 with `*out_status` set (the helper is then
 * reaped; CLVM_STATUS_TIMED_OUT may be set in it), 0 while it runs, -1 when the helper died without
 * a status.
 */
int clvm_exec_stream_status(clvm_exec_stream *s, int timeout_ms, int cancel_fd, int *out_status);

/** Sends `sig` to the command and its process group while it is not yet reaped. 0, or -1 with errno. */
int clvm_exec_stream_signal(const clvm_exec_stream *s, int sig);

/** Kills the command if it still runs, reaps the helper and closes every descriptor. */
void clvm_exec_stream_close(clvm_exec_stream *s);

/** How many bytes a pipe holds unread (FIONREAD), or -1: what a streamed exec's window sizes its
 *  buffer to (ioctl is variadic, which Swift calls only through CVarArg boxing). */
int clvm_fd_available(int fd);

/**
 * write(2) to a command's standard input pipe without raising SIGPIPE in the caller (the plugin may
 * run in a process that does not ignore it): a closed reader is -1 with errno EPIPE. Retries EINTR.
 */
ssize_t clvm_pipe_write(int fd, const void *buf, size_t len);

/**
 * The sandbox init's program as an O_PATH fd for `clvm_launch_spec.init_fd`, opened once per process
 * (later calls return the same fd, whatever path they pass). Returns the fd (CLOEXEC), or -1 with
 * one sentence in `err`.
 */
int clvm_init_image(const char *path, char *err, size_t err_len);

/**
 * The init itself (run by `sandboxer-localvm-init`): PID 1 of a sandbox. Reaps every child,
 * exits 0 on SIGTERM, SIGINT or SIGHUP, closes fd 3 once those are handled (the launcher's ready
 * handshake) and exits 0 when the deadline in /run/sandboxer/deadline (Unix seconds) has passed,
 * re-reading it at least every 60 s and at once on SIGUSR1. Never returns.
 */
void clvm_init_main(void) __attribute__((noreturn));

/**
 * Waits, watching `dir` with inotify, until it has no entries (or does not exist), at most
 * `timeout_ms`: how a test waits for a background removal (the LocalVM trash) without sleeping.
 * Returns 0 when empty, 1 on timeout, -1 on error (errno set).
 */
int clvm_wait_dir_empty(const char *dir, int timeout_ms);

/**
 * Removes every entry of `dir` (each as `clvm_remove_tree`) in a process of its own session that
 * outlives the caller (a CLI hands its trash over instead of removing it in the command's time):
 * a grandchild, adopted by init, so no zombie stays with the caller. It keeps none of the caller's
 * fds (0-2 are /dev/null), has default signal dispositions and shows as "sandboxer: trash remover".
 * Returns 0 once the remover runs, -1 with errno when it could not be started.
 * Wait for the result with `clvm_wait_dir_empty`; a removal racing another (a background drain)
 * is safe: `clvm_remove_tree` counts what vanished meanwhile as removed.
 */
int clvm_trash_remove_detached(const char *dir);

/**
 * The remover mode of sandboxer-localvm-init (`--remove-trash DIR`; TrashBin.spawnRemover starts
 * it with posix_spawn): what `clvm_trash_remove_detached` does without forking the caller. The
 * started process drops every fd above 2 (0-2 go to /dev/null), resets every signal, retitles
 * itself "sandboxer: trash remover" (comm "sbx-trash-rm"), forks the remover (its own session)
 * and exits 0 at once, so the caller waits only for that exit and keeps no zombie. Never returns.
 */
void clvm_trash_remover_main(const char *dir) __attribute__((noreturn));

#ifdef __cplusplus
}
#endif

#endif /* CLOCALVM_H */
