/*
 * sandboxer_plugin.h — the whole contract between the sandboxer host and a backend plugin.
 *
 * ABI major 1. Within a major version this header is APPEND-ONLY: no field is removed, reordered or
 * retyped; new fields go at the end of a struct and every struct starts with `struct_size`, so each
 * side can tell which fields the other one knows. New functions go at the end of a table; a reader
 * MUST check `struct_size` before touching a field that a minor version added.
 *
 * The words MUST, MUST NOT, SHOULD and MAY are used as in RFC 2119.
 *
 * Shape of the contract
 * ---------------------
 *  - A plugin is a shared library that exports exactly one C function, `sandboxer_plugin_entry_v1`.
 *    The host calls it right after dlopen, with its host table (ABI version + callbacks).
 *    The plugin checks the host's ABI major and returns its own table, or NULL to refuse.
 *    The host checks the plugin's ABI major and refuses a mismatch, naming both versions.
 *  - Everything that crosses the boundary is a C type or bytes. Requests and responses are UTF-8
 *    JSON documents (see "Operations" below), so adding a field never changes this header.
 *  - Whoever allocates a buffer frees it: a result filled by the plugin is released with the
 *    plugin's `result_free`; a secret returned by the host is released with the host's `buffer_free`.
 *  - Errors are one code from the closed list `sbx_code` plus an owned, human-readable message.
 *  - The host never unloads a plugin (dlclose of a Swift image is unsafe); a plugin MUST NOT rely on
 *    library destructors running.
 *
 * Versions: what a minor may add, and how each side finds out
 * ------------------------------------------------------------
 *  - Every field below says which minor added it ("Since 1.0"). A minor appends fields to the end of
 *    a struct, appends codes to `sbx_code`, and may add operations and capabilities (JSON only).
 *  - Whether a FIELD exists is decided by `struct_size` alone: a field is present when the writer's
 *    `struct_size` covers its last byte (`SBX_HAS_FIELD`). Each side checks `struct_size` against the
 *    frozen size of the minor it NEEDS (`SBX_HOST_API_V1_0_SIZE`…), never against the current
 *    `sizeof`, which grows with every minor. So a plugin built against 1.1 runs on a 1.0 host (without
 *    the 1.1 extras) and a 1.0 plugin runs on a 1.1 host.
 *  - A writer that covers a field but does not implement it leaves it zero: a NULL function pointer
 *    means "not provided", and a reader MUST treat it like an absent field. (Swift writers: zero the
 *    struct and assign fields; the memberwise initialiser changes with every appended field.)
 *  - Whether a BEHAVIOUR exists (a new code, a new rule) is decided by the peer's `abi_minor`: a plugin
 *    uses a code or rule of minor N only when `host->abi_minor >= N`.
 *
 * Threads (every function below carries one of these tags, as CLAP's headers do)
 * -------
 *  [entry]        called by whichever thread loads the plugin, before any other function of the
 *                 table it returns. The host MAY load one library several times, from several
 *                 threads at once, while instances from earlier loads are running: the entry MUST be
 *                 thread-safe and MUST NOT invalidate tables it returned before.
 *  [thread-safe]  the host MAY call it from any thread, concurrently with any other call of the same
 *                 plugin, on the same instance or another one. The plugin MUST be thread-safe or
 *                 serialise internally.
 *  [instance-end] called from any thread, at most once per instance, and only after every other call
 *                 into that instance has returned (a call the host abandoned keeps it alive).
 *  [host-any]     a host callback: the plugin MAY call it from any thread (including threads it
 *                 started), concurrently, from the entry call on until the process exits. The host
 *                 never calls back into the plugin from inside a callback. Callbacks take locks: a
 *                 plugin MUST NOT call them from a signal handler, or in a forked child before exec.
 *
 * Operations (JSON over `invoke`; fields in snake_case; unknown fields MUST be ignored by readers)
 * ----------
 *  describe            {}                                   -> {"name","version","capabilities":[...]}
 *  create              {"sandbox_id","host_id","profile","image","resources":{"cpus","memory_bytes","pids"},
 *                       "network","env":{},"labels":{},"timeout_seconds",
 *                       "latest_deadline_seconds","idle_timeout_seconds"}
 *                                                           -> {"backend_ref","info":{}}
 *                      (timeout_seconds: remaining TTL + grace; latest_deadline_seconds: seconds to
 *                       ready_at + ttl.max, + grace, the backstop for a backend that cannot extend;
 *                       idle_timeout_seconds: idle_reap + grace, absent when the profile has none)
 *  status              {"sandbox_id","backend_ref"}         -> {"state":"running"|"stopped","info":{}}
 *                                                              or code NOT_FOUND when it is gone
 *  destroy             {"sandbox_id","backend_ref"}         -> {}   (NOT_FOUND means: already gone)
 *  inventory           {"host_id"}                          -> {"resources":[{"backend_ref","sandbox_id",
 *                                                               "labels":{},"created_at_ms"}],
 *                                                              "unreachable":[{"scope","backend_ref_prefix",
 *                                                               "message"}]}   (optional: parts not asked)
 *  exec                {"sandbox_id","backend_ref","argv":[...],"env":{},"stdin_b64","timeout_seconds"}
 *                                                           -> {"exit_code","stdout_b64","stderr_b64",
 *                                                               "timed_out"}
 *                      (exec also takes "max_output_bytes", the bytes kept per stream; the response then
 *                       says "stdout_truncated"/"stderr_truncated" when bytes were dropped)
 *  exec_start          {"sandbox_id","backend_ref","argv":[...],"env":{},"stdin":bool,"timeout_seconds"}
 *                                                           -> {"handle"}
 *  exec_read           {"sandbox_id","handle","stream":"stdout"|"stderr","offset","max_bytes","wait_ms"}
 *                                                           -> {"data_b64","eof","next_offset"}
 *  exec_write          {"sandbox_id","handle","data_b64","close":bool,"wait_ms"} -> {"accepted","closed"}
 *  exec_wait           {"sandbox_id","handle","wait_ms"}    -> {"state":"running"|"exited","exit_code",
 *                                                               "signal","timed_out"}
 *  exec_kill           {"sandbox_id","handle","signal"}     -> {}
 *  exec_release        {"sandbox_id","handle"}              -> {}   (NOT_FOUND once released or reaped)
 *  set_timeout         {"sandbox_id","backend_ref","timeout_seconds"}  -> {}
 *  snapshot            {"sandbox_id","backend_ref","snapshot_id","labels":{}}
 *                                                           -> {"snapshot_ref","size_bytes","info":{}}
 *  restore             create's request plus "snapshot_ref" -> {"backend_ref","info":{}}
 *  delete_snapshot     {"snapshot_id","snapshot_ref"}       -> {}   (NOT_FOUND means: already gone)
 *  endpoints           {"sandbox_id","backend_ref","ports":[int,...]}
 *                                                           -> {"endpoints":[{"name","kind","target_port",
 *                                                               "host","port","url","tls","auth":{"scheme"},
 *                                                               "expires_at","via"}]}
 *  build               {"build_id","template","vars":{},"output_dir","cache_key"}
 *                                                           -> {"artifacts":[{"kind","path","digest",
 *                                                               "size_bytes"}],"log_path"}
 *
 *  endpoints ("sandboxer.reach/1") MUST describe how the host reaches the sandbox's ports right now;
 *  an empty "ports" means every port the plugin knows about (its published ports). It MUST answer
 *  INVALID_REQUEST for a port outside 1..65535 and for a sandbox without a network, and MUST NOT put a
 *  secret in an endpoint (auth carries a reference). create MAY carry "network_options" for a
 *  backend-documented network mode; readers that do not know it ignore it.
 *  Streamed exec ("sandboxer.exec-stream/1"): reading at an offset acknowledges the bytes before it;
 *  a plugin MUST hold at most a bounded window of unacknowledged output per stream and stop reading
 *  the command's pipe while it is full (the command then blocks: back-pressure, never unbounded
 *  buffering). next_offset MUST be offset + the bytes answered; eof only after the last byte. A handle
 *  MUST die with its sandbox, and SHOULD be reaped (its command killed) when unused for a while.
 *  snapshot MUST capture a consistent state (quiesce the sandbox's processes while capturing) and
 *  MUST leave the sandbox as it found it (running). A snapshot MUST outlive the sandbox it was taken
 *  from: only delete_snapshot removes it. restore MUST make a sandbox exactly as create would, whose
 *  writable state is the snapshot's; its sandbox_id MAY be the snapshot's source sandbox (a recreate,
 *  after the host destroyed the old instance) or a new one.
 *  build ("sandboxer.build/1") turns a template into files: a plugin MAY be a backend, a builder, or
 *  both; a builder-only plugin declares just "sandboxer.build/1" and need not implement lifecycle.
 *  It MUST write only into "output_dir" (an empty directory the host made; also passed as the var
 *  "output_dir"), MUST report every file it left there with "digest" ("sha256:" + 64 lowercase hex of
 *  the file's bytes) and "size_bytes", SHOULD send progress lines through the host's log callback as
 *  they happen, MUST keep the full log at "log_path", and MUST poll is_cancelled: once the host
 *  cancels, it stops everything it started (child processes included) and answers. A failed build
 *  answers INVALID_REQUEST with one line naming the failed step and log_path; a missing tool
 *  UNAVAILABLE. describe MAY answer "boot_artifact_kinds" (kinds a backend boots, e.g. "rootfs-tar")
 *  and "info" (a builder: its tools' versions, e.g. "packer_version", which the host folds into its
 *  cache key); create MAY carry "image_artifact" ({"kind","path","digest","size_bytes"}, one of a
 *  build's artifacts of a kind the backend declared), which wins over "image": the backend MUST
 *  check the file's digest before booting it.
 *
 *  Capability strings, declared by describe: "sandboxer.lifecycle/1" (create, status, destroy),
 *  "sandboxer.exec/1", "sandboxer.inventory/1", "sandboxer.timeout/1" (set_timeout),
 *  "sandboxer.snapshot/1" (snapshot, restore, delete_snapshot), "sandboxer.reach/1" (endpoints),
 *  "sandboxer.build/1" (build), "sandboxer.exec-stream/1" (exec_start, exec_read, exec_write,
 *  exec_wait, exec_kill, exec_release). An operation
 *  whose capability is not declared MUST answer SBX_NOT_IMPLEMENTED. The full reference, with every
 *  field, is docs/plugins.md.
 */
#ifndef SANDBOXER_PLUGIN_H
#define SANDBOXER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI major version this header describes. A different major is a different contract. */
#define SANDBOXER_ABI_MAJOR 1
/** The ABI minor version this header describes. Minors only append; any minor of a major loads. */
#define SANDBOXER_ABI_MINOR 1

/** Name of the one symbol a plugin exports. The major version is part of the name. */
#define SANDBOXER_PLUGIN_ENTRY_SYMBOL "sandboxer_plugin_entry_v1"

/**
 * Marks the entry function for export from the shared library, whatever `-fvisibility` the plugin
 * is built with. The prototype below carries it, so a C plugin that includes this header exports
 * its entry even without writing the attribute itself.
 */
#if defined(__GNUC__) || defined(__clang__)
#define SANDBOXER_EXPORT __attribute__((visibility("default")))
#else
#define SANDBOXER_EXPORT
#endif

/**
 * Result codes: a closed list. A plugin MUST NOT return any other value, and MUST NOT return a code
 * added by a later minor than the host's `abi_minor` (each code says its minor). A host that receives
 * a code it does not know treats the call as failed, not retryable, like SBX_INTERNAL.
 */
typedef enum sbx_code {
    /** Success: the result holds the response JSON. Since 1.0. */
    SBX_OK = 0,
    /** The operation or capability is not supported by this plugin. Since 1.0. */
    SBX_NOT_IMPLEMENTED = 1,
    /** The named resource does not exist (for destroy: it is already gone, which is success). Since 1.0. */
    SBX_NOT_FOUND = 2,
    /** The request was malformed or named values the plugin refuses; retrying will not help. Since 1.0. */
    SBX_INVALID_REQUEST = 3,
    /** The request conflicts with the resource's current state. Since 1.0. */
    SBX_CONFLICT = 4,
    /**
     * The backend cannot be reached or is busy right now; the host MAY retry later. Since 1.0.
     * Also the answer to a call the host cancelled when the host's `abi_minor` is below
     * SBX_CANCELLED_MIN_HOST_MINOR (a 1.0 host), with a message that says the call was cancelled.
     */
    SBX_UNAVAILABLE = 5,
    /** A quota or limit of the backend refused the request. Since 1.0. */
    SBX_QUOTA = 6,
    /** Anything else: a bug or an unexpected failure inside the plugin. Since 1.0. */
    SBX_INTERNAL = 7,
    /**
     * The call stopped because the host cancelled it (`is_cancelled` answered non-zero for its
     * `call_id`), not because the backend failed. Since 1.1: a plugin MUST return it only when
     * `host->abi_minor >= SBX_CANCELLED_MIN_HOST_MINOR`, and only for a call whose `is_cancelled` it
     * saw non-zero; to an older host it answers SBX_UNAVAILABLE instead. A host that speaks 1.1 MUST
     * NOT count it as a backend outage (minor 1 adds exactly this code: no struct grew).
     */
    SBX_CANCELLED = 8
} sbx_code;

/** The lowest host `abi_minor` (of major 1) that accepts SBX_CANCELLED. */
#define SBX_CANCELLED_MIN_HOST_MINOR 1

/** Log levels for the host's log callback. Since 1.0. */
typedef enum sbx_log_level {
    SBX_LOG_DEBUG = 0,
    SBX_LOG_INFO = 1,
    SBX_LOG_WARNING = 2,
    SBX_LOG_ERROR = 3
} sbx_log_level;

/**
 * Bytes owned by the plugin, handed to the host as the outcome of one call.
 * On SBX_OK `data` holds the response JSON; on any other code it holds a UTF-8 error message
 * (one sentence, no secrets). `data` MAY be NULL when `len` is 0.
 */
typedef struct sbx_result {
    /** sizeof(sbx_result) as the host knows it: the host sets it before the call, and the plugin
     *  MUST NOT write a field it does not cover. Since 1.0. */
    size_t struct_size;
    /** Pointer to `len` bytes allocated by the plugin; released only through `result_free`. Since 1.0. */
    uint8_t *data;
    /** Number of bytes at `data`. Since 1.0. */
    size_t len;
    /** Opaque word for the plugin's own bookkeeping (for example the allocator used); the host never
     *  reads it. Since 1.0. */
    void *plugin_reserved;
} sbx_result;

/** Callbacks and facts the host gives a plugin. Valid from the entry call until the process exits. */
typedef struct sbx_host_api {
    /** sizeof(sbx_host_api) as the host knows it. A plugin reads no field it does not cover. Since 1.0. */
    size_t struct_size;
    /** The host's ABI major version. A plugin MUST refuse (return NULL) if this differs from its own. Since 1.0. */
    uint32_t abi_major;
    /** The host's ABI minor version: which codes and rules it understands (see sbx_code). Since 1.0. */
    uint32_t abi_minor;
    /** Opaque host pointer; pass it back as the first argument of every callback below. Since 1.0. */
    void *host_ctx;
    /**
     * [host-any] Log one line through the host. `message` is a NUL-terminated UTF-8 string;
     * `metadata_json` is an optional JSON object (`metadata_len` bytes, may be NULL/0). Since 1.0.
     */
    void (*log)(void *host_ctx, int32_t level, const char *message,
                const uint8_t *metadata_json, size_t metadata_len);
    /**
     * [host-any] The host's current time in milliseconds since the Unix epoch. Plugins MUST use this
     * instead of the system clock for every lifecycle decision, so tests can drive time. Since 1.0.
     */
    int64_t (*now_unix_ms)(void *host_ctx);
    /**
     * [host-any] Look up a secret by name (as named in the backend's config). On SBX_OK `*out` points
     * to `*out_len` bytes owned by the host, to be released with `buffer_free`. Returns SBX_NOT_FOUND
     * when no such secret exists. Plugins MUST NOT read credentials from the environment themselves.
     * Since 1.0.
     */
    int32_t (*secret_lookup)(void *host_ctx, const char *name, uint8_t **out, size_t *out_len);
    /** [host-any] Release a buffer the host allocated (for example a secret). Accepts NULL. Since 1.0. */
    void (*buffer_free)(void *host_ctx, uint8_t *data, size_t len);
    /**
     * [host-any] Non-zero when the host has given up on the call identified by `call_id` (the value
     * the host passed to `invoke`). Long operations SHOULD poll this and stop early, answering
     * SBX_CANCELLED (host minor >= SBX_CANCELLED_MIN_HOST_MINOR) or SBX_UNAVAILABLE. Since 1.0.
     */
    int32_t (*is_cancelled)(void *host_ctx, uint64_t call_id);
} sbx_host_api;

/**
 * A plugin's function table. Returned by the entry function; MUST stay valid until process exit.
 * The first five fields (struct_size, abi_major, abi_minor, name, version) keep this layout in every
 * major version, so a host can name a plugin whose major it refuses.
 */
typedef struct sbx_plugin {
    /** sizeof(sbx_plugin) as the plugin knows it. The host reads no field beyond it. Since 1.0. */
    size_t struct_size;
    /** The plugin's ABI major version (SANDBOXER_ABI_MAJOR when built against this header). Since 1.0. */
    uint32_t abi_major;
    /** The plugin's ABI minor version. Since 1.0. */
    uint32_t abi_minor;
    /** Backend name, NUL-terminated, static storage (for example "localvm"). Since 1.0. */
    const char *name;
    /** Plugin version, NUL-terminated, static storage (semantic version, for example "1.2.0"). Since 1.0. */
    const char *version;
    /**
     * [thread-safe] Create one backend instance from the backend's config (a JSON object,
     * `config_len` bytes). `plugin` is this table itself, so a plugin can keep per-library state next
     * to it without globals. On SBX_OK store the instance in `*out_instance`; on error fill `out` with
     * the message. Since 1.0.
     */
    int32_t (*instance_create)(const struct sbx_plugin *plugin,
                               const uint8_t *config_json, size_t config_len,
                               void **out_instance, sbx_result *out);
    /**
     * [thread-safe] Run one operation by name (NUL-terminated, for example "create") with a JSON
     * request. `call_id` identifies this call for `is_cancelled`. Fills `out` (response or error
     * message) and returns its code. MUST return SBX_NOT_IMPLEMENTED for an unknown operation. The
     * host MAY stop waiting for a call (it then marks it cancelled) but never interrupts its thread.
     * Since 1.0.
     */
    int32_t (*invoke)(void *instance, const char *operation,
                      const uint8_t *request_json, size_t request_len,
                      uint64_t call_id, sbx_result *out);
    /**
     * [thread-safe] Release what the plugin put in a result, exactly once per call that filled it,
     * possibly on another thread than the call's. Accepts a result with NULL data. Since 1.0.
     */
    void (*result_free)(sbx_result *result);
    /** [instance-end] Destroy an instance created by `instance_create`. Since 1.0. */
    void (*instance_destroy)(void *instance);
} sbx_plugin;

/*
 * Frozen sizes. Each is the size of a struct as ABI 1.0 defined it: the end of its last 1.0 field.
 * A reader checks the other side's `struct_size` against the frozen size of the minor it needs;
 * these values never change, while sizeof grows as minors append fields. Literal values (so that
 * Swift, which cannot import offsetof, sees them too), checked below against the real layout.
 */
#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu && SIZE_MAX == UINTPTR_MAX
/** Bytes of the v1.0 `sbx_result`: struct_size … plugin_reserved. */
#define SBX_RESULT_V1_0_SIZE 32
/** Bytes of the v1.0 `sbx_host_api`: struct_size … is_cancelled. */
#define SBX_HOST_API_V1_0_SIZE 64
/** Bytes of the v1.0 `sbx_plugin`: struct_size … instance_destroy. */
#define SBX_PLUGIN_V1_0_SIZE 64
#elif UINTPTR_MAX == 0xFFFFFFFFu && SIZE_MAX == UINTPTR_MAX
#define SBX_RESULT_V1_0_SIZE 16
#define SBX_HOST_API_V1_0_SIZE 36
#define SBX_PLUGIN_V1_0_SIZE 36
#else
#error "sandboxer_plugin.h: the frozen struct sizes are defined for 32- and 64-bit pointers only"
#endif

/** The end of `field` in `type`: offset plus size, the least `struct_size` that holds it. */
#define SBX_FIELD_END(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/**
 * Non-zero when the struct at `ptr`, written by the other side, includes `field`: its `struct_size`
 * covers the field's last byte. Read a field a later minor added only when this holds, e.g.
 * `if (SBX_HAS_FIELD(sbx_host_api, host, some_1_1_callback)) …`.
 */
#define SBX_HAS_FIELD(type, ptr, field) ((ptr)->struct_size >= SBX_FIELD_END(type, field))

/* The checks below need C11 or C++11; older compilers skip them (the macro carries its own ';'). */
#if defined(__cplusplus) && __cplusplus >= 201103L
#define SBX_STATIC_ASSERT(cond, msg) static_assert(cond, msg);
#elif !defined(__cplusplus) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define SBX_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg);
#else
#define SBX_STATIC_ASSERT(cond, msg)
#endif

SBX_STATIC_ASSERT(SBX_FIELD_END(sbx_result, plugin_reserved) == SBX_RESULT_V1_0_SIZE,
                  "SBX_RESULT_V1_0_SIZE does not match the v1.0 layout of sbx_result")
SBX_STATIC_ASSERT(SBX_FIELD_END(sbx_host_api, is_cancelled) == SBX_HOST_API_V1_0_SIZE,
                  "SBX_HOST_API_V1_0_SIZE does not match the v1.0 layout of sbx_host_api")
SBX_STATIC_ASSERT(SBX_FIELD_END(sbx_plugin, instance_destroy) == SBX_PLUGIN_V1_0_SIZE,
                  "SBX_PLUGIN_V1_0_SIZE does not match the v1.0 layout of sbx_plugin")
SBX_STATIC_ASSERT(sizeof(sbx_result) >= SBX_RESULT_V1_0_SIZE && sizeof(sbx_host_api) >= SBX_HOST_API_V1_0_SIZE &&
                  sizeof(sbx_plugin) >= SBX_PLUGIN_V1_0_SIZE, "a struct shrank below its v1.0 size")

/**
 * Type of the one exported entry function:
 *   const sbx_plugin *sandboxer_plugin_entry_v1(const sbx_host_api *host);
 * [entry] Return NULL to refuse the host: when `host->abi_major` differs from SANDBOXER_ABI_MAJOR, or
 * when `host->struct_size` is below the frozen size of the minor the plugin needs (normally
 * SBX_HOST_API_V1_0_SIZE). Never compare it with sizeof(sbx_host_api): a plugin built against a later
 * minor would then refuse every older host. The returned table and the strings it points to MUST
 * have static storage duration (or be allocated once and never freed).
 */
typedef const sbx_plugin *(*sbx_plugin_entry_fn)(const sbx_host_api *host);

#ifndef __swift__
/**
 * The entry itself, for C and C++ plugins: declaring it here checks the definition's signature and
 * exports it (SANDBOXER_EXPORT). Hidden from Swift, where a plugin defines it with
 * `@_cdecl("sandboxer_plugin_entry_v1") public func …` and the host looks it up with dlsym.
 */
SANDBOXER_EXPORT const sbx_plugin *sandboxer_plugin_entry_v1(const sbx_host_api *host);
#endif

#ifdef __cplusplus
}
#endif

#endif /* SANDBOXER_PLUGIN_H */
