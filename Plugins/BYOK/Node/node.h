/*
 * node.h — shared declarations of sandboxer-node, the BYOK node helper.
 *
 * The helper is one short-lived process per verb (see docs/backends/byok-node-protocol.md): it keeps
 * nothing in memory between calls, all state lives under <node_dir>. Every fallible function here
 * returns 0 or -1 and, on -1, has filled a struct node_err whose code is one of the protocol's codes
 * and whose message is one sentence that never holds an environment value (those may be secrets).
 */
#ifndef SANDBOXER_NODE_H
#define SANDBOXER_NODE_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Protocol revision answered by `version`. */
#define NODE_PROTOCOL 1
#define NODE_VERSION "0.1.0"

/** Bounds on everything that arrives through argv or stdin. */
#define NODE_MAX_ID 64
#define NODE_MAX_ENV 256
#define NODE_MAX_ENV_BYTES (32 * 1024)
#define NODE_MAX_ARGV 4096
#define NODE_MAX_ARGV_BYTES (1024 * 1024)
#define NODE_MAX_BLOB_BYTES (16LL * 1024 * 1024 * 1024)
#define NODE_MAX_TTL_SECONDS (10LL * 366 * 24 * 3600)
#define NODE_FRAME_MAX 65536
#define NODE_PATH 4096
#define NODE_MAX_LABELS 32
#define NODE_MAX_LABEL_KEY 63
#define NODE_MAX_LABEL_VALUE 256

/** The sandbox's user namespace maps ids 0..65535 to host ids NODE_UID_BASE.. (as LocalVM). */
#define NODE_UID_BASE 100000u
#define NODE_ID_COUNT 65536u

/** A failure: a protocol code and one sentence. */
struct node_err {
    const char *code; /* not_found | invalid_request | quota | unavailable | internal */
    char msg[768];
};

/** Fills e (printf-style message) and returns -1. */
int nfail(struct node_err *e, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** Like nfail with "<what> <path>: <strerror(errno)>." as the message, code internal. */
int nfail_errno(struct node_err *e, const char *what, const char *path);

/** Global options every verb sees. */
struct node_ctx {
    char node_dir[NODE_PATH];      /* absolute, canonical */
    char cgroup_parent[128];       /* one safe path component */
};

/* ---- json.c: output ---- */
/** A growing JSON text (aborts the process with an internal error when memory runs out). */
struct jbuf { char *p; size_t len, cap; };
void jb_raw(struct jbuf *b, const char *s);
void jb_str(struct jbuf *b, const char *s);          /* a quoted, escaped string */
void jb_strn(struct jbuf *b, const char *s, size_t n);
void jb_strn_utf8(struct jbuf *b, const char *s, size_t n); /* keeps bytes >= 0x80: the caller checked UTF-8 */
void jb_i64(struct jbuf *b, long long v);
void jb_key(struct jbuf *b, const char *k);          /* ",\"k\":" or "\"k\":" after "{" */
void jb_free(struct jbuf *b);
/** Prints `{"ok":true<rest>}` (rest starts with ',' or is empty) and a newline on stdout. */
void out_ok(const char *rest);
/** Prints `{"ok":false,"code":…,"message":…}` and a newline on stdout. */
void out_err(const struct node_err *e);

/* ---- sha256.c ---- */
struct sha256 { uint32_t h[8]; uint64_t len; uint8_t buf[64]; size_t n; };
void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_hex(struct sha256 *s, char out[65]);

/* ---- fsutil.c ---- */
int path_join(char *out, const char *a, const char *b, struct node_err *e);
int mkdirs(const char *path, mode_t mode, struct node_err *e);
int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode, struct node_err *e);
/** Reads at most max-1 bytes of a small file into buf (NUL-terminated); -1 with errno. */
ssize_t read_small(const char *path, char *buf, size_t max);
int write_all(int fd, const void *buf, size_t len);
int64_t now_real_ms(void);
int64_t now_mono_ms(void);
/** Runs argv (absolute path) with the given stdin/stdout fds (-1: /dev/null); stderr is kept (at
 *  most 300 bytes) for the message. Returns 0 when it exited 0. */
int run_tool(const char *const *argv, int in_fd, int out_fd, const char *what, struct node_err *e);
/** True for [a-z0-9-]{1,64}. */
int valid_id(const char *s);
/** True for exactly 64 lowercase hex digits. */
int valid_hex(const char *s);
/** Parses a decimal integer in [min, max]; 0 or -1. */
int parse_i64(const char *s, long long min, long long max, long long *out);

/* ---- proc.c ---- */
/** Start time (field 22 of /proc/<pid>/stat) and state letter; -1 when there is no such process. */
int proc_stat(pid_t pid, unsigned long long *start, char *state);
/** True when pid runs with that start time and is not a zombie. */
int proc_alive(pid_t pid, unsigned long long start);
/** A pidfd for that very process (verified after opening), or -1. */
int proc_pidfd(pid_t pid, unsigned long long start);

/* ---- meta.c: <node_dir>/sandboxes/<id>/meta ---- */
struct node_meta {
    char id[NODE_MAX_ID + 1];
    char image[65];
    char request[65];        /* sha256 of the create request's canonical form (idempotent retries) */
    pid_t pid;
    unsigned long long start_time;
    long long created_unix_ms;
    long long deadline_unix_ms; /* 0: none */
};
int meta_save(const char *dir, const struct node_meta *m, struct node_err *e);
/** 1 loaded, 0 absent, -1 damaged (e filled). */
int meta_load(const char *dir, struct node_meta *m, struct node_err *e);

/* ---- labels.c: <node_dir>/sandboxes/<id>/labels ---- */
/** Checks one --label K=V (bounded, UTF-8, no control characters); never echoes the value. */
int label_valid(const char *kv, struct node_err *e);
/** Sorts the labels (order never changes a fingerprint) and refuses a name given twice. */
int labels_canonical(const char **kv, int count, struct node_err *e);
int labels_save(const char *dir, const char *const *kv, int count, struct node_err *e);
/** Appends "labels":{…} (empty when the sandbox has none) to an object being written. */
void labels_json(struct jbuf *b, const char *dir);

/* ---- cgroup.c ---- */
#define NODE_CG_MAX 5
struct cg_layout {
    int unified;                  /* 1: pure cgroup v2 at /sys/fs/cgroup; 0: LocalVM's hybrid */
    int count;                    /* directories per sandbox */
    char dirs[NODE_CG_MAX][NODE_PATH];
    char kill_dir[NODE_PATH];     /* the v2 cgroup: cgroup.kill */
    char freezer_dir[NODE_PATH];  /* v1 freezer cgroup, or the v2 one (cgroup.freeze) */
    int command_only;             /* how many leading dirs only the exec'd command joins */
};
struct cg_limits { long long memory_bytes, pids; double cpus; };
int cg_layout(const struct node_ctx *c, const char *id, struct cg_layout *l, struct node_err *e);
int cg_create(const struct cg_layout *l, const struct cg_limits *lim, struct node_err *e);
int cg_open_procs(const struct cg_layout *l, int *fds, struct node_err *e);
int cg_exists(const struct cg_layout *l);
int cg_kill(const struct cg_layout *l, struct node_err *e);
int cg_remove(const struct cg_layout *l, struct node_err *e);
int cg_freeze(const struct cg_layout *l, int frozen, struct node_err *e);

/* ---- sandbox.c: paths and the per-sandbox lock ---- */
struct sbx_paths { char dir[NODE_PATH], rootfs[NODE_PATH], upper[NODE_PATH], work[NODE_PATH], ctl[NODE_PATH]; };
int sbx_paths(const struct node_ctx *c, const char *id, struct sbx_paths *p, struct node_err *e);
/** Opens and flocks an existing sandbox dir: fd, or -1 with e = not_found when there is none. */
int sbx_lock(const struct sbx_paths *p, const char *id, struct node_err *e);
/** Writes ctl/deadline (Unix seconds, rounded up) for the init's backstop. */
int sbx_write_deadline(const struct sbx_paths *p, long long deadline_ms, struct node_err *e);

/* ---- image.c ---- */
int blob_path(const struct node_ctx *c, const char *hex, char *out, struct node_err *e);
/** The rootfs of image hex, unpacking its blob on first use. */
int image_rootfs(const struct node_ctx *c, const char *hex, char *out, struct node_err *e);

/** The node-wide lock (<node_dir>/gc.lock): shared by put-blob and create, exclusive for gc. */
int node_lock(const struct node_ctx *c, int how, struct node_err *e);

/* ---- init.c ---- */
extern const char *const node_init_argv[];
extern const char *const node_init_env[];

/* ---- verbs ---- */
int verb_version(const struct node_ctx *c, int argc, char **argv);
int verb_put_blob(const struct node_ctx *c, int argc, char **argv);
int verb_create(const struct node_ctx *c, int argc, char **argv);
int verb_exec(const struct node_ctx *c, int argc, char **argv);
int verb_destroy(const struct node_ctx *c, int argc, char **argv);
int verb_inventory(const struct node_ctx *c, int argc, char **argv);
int verb_set_timeout(const struct node_ctx *c, int argc, char **argv);
int verb_snapshot(const struct node_ctx *c, int argc, char **argv);
int verb_gc(const struct node_ctx *c, int argc, char **argv);

/* ---- frames.c ---- */
/** Writes one frame [type][len be32][payload] to fd (blocking). */
int frame_write(int fd, uint8_t type, const void *p, size_t len);
/** Writes a final status frame holding {"error":{"code":…,"message":…}}. */
void frame_error(int fd, const struct node_err *e);

#endif
