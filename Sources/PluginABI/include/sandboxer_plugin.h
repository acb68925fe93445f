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
 *    The host calls it once, right after dlopen, with its host table (ABI version + callbacks).
 *    The plugin checks the host's ABI major and returns its own table, or NULL to refuse.
 *    The host checks the plugin's ABI major and refuses a mismatch, naming both versions.
 *  - Everything that crosses the boundary is a C type or bytes. Requests and responses are UTF-8
 *    JSON documents (see "Operations" below), so adding a field never changes this header.
 *  - Whoever allocates a buffer frees it: a result filled by the plugin is released with the
 *    plugin's `result_free`; a secret returned by the host is released with the host's `buffer_free`.
 *  - Errors are one code from the closed list `sbx_code` plus an owned, human-readable message.
 *  - The host may call `invoke` from several threads at once, on one instance or several; a plugin
 *    MUST be thread-safe or serialise internally.
 *  - The host never unloads a plugin (dlclose of a Swift image is unsafe); a plugin MUST NOT rely on
 *    library destructors running.
 *
 * Operations (JSON over `invoke`; fields in snake_case; unknown fields MUST be ignored by readers)
 * ----------
 *  describe            {}                                   -> {"name","version","capabilities":[...]}
 *  create              {"sandbox_id","host_id","profile","image","resources":{"cpus","memory_bytes","pids"},
 *                       "network","env":{},"labels":{},"timeout_seconds"}
 *                                                           -> {"backend_ref","info":{}}
 *  status              {"sandbox_id","backend_ref"}         -> {"state":"running"|"stopped","info":{}}
 *                                                              or code NOT_FOUND when it is gone
 *  destroy             {"sandbox_id","backend_ref"}         -> {}   (NOT_FOUND means: already gone)
 *  inventory           {"host_id"}                          -> {"resources":[{"backend_ref","sandbox_id",
 *                                                               "labels":{},"created_at"}]}
 *  exec                {"sandbox_id","backend_ref","argv":[...],"env":{},"stdin_b64","timeout_seconds"}
 *                                                           -> {"exit_code","stdout_b64","stderr_b64",
 *                                                               "timed_out"}
 *  set_timeout         {"sandbox_id","backend_ref","timeout_seconds"}  -> {}
 *  snapshot            {"sandbox_id","backend_ref","snapshot_id","labels":{}}
 *                                                           -> {"snapshot_ref","size_bytes","info":{}}
 *  restore             create's request plus "snapshot_ref" -> {"backend_ref","info":{}}
 *  delete_snapshot     {"snapshot_id","snapshot_ref"}       -> {}   (NOT_FOUND means: already gone)
 *  endpoints           {"sandbox_id","backend_ref","ports":[int,...]}
 *                                                           -> {"endpoints":[{"name","kind","target_port",
 *                                                               "host","port","url","tls","auth":{"scheme"},
 *                                                               "expires_at","via"}]}
 *
 *  endpoints ("sandboxer.reach/1") MUST describe how the host reaches the sandbox's ports right now;
 *  an empty "ports" means every port the plugin knows about (its published ports). It MUST answer
 *  INVALID_REQUEST for a port outside 1..65535 and for a sandbox without a network, and MUST NOT put a
 *  secret in an endpoint (auth carries a reference). create MAY carry "network_options" for a
 *  backend-documented network mode; readers that do not know it ignore it.
 *  snapshot MUST capture a consistent state (quiesce the sandbox's processes while capturing) and
 *  MUST leave the sandbox as it found it (running). A snapshot MUST outlive the sandbox it was taken
 *  from: only delete_snapshot removes it. restore MUST make a sandbox exactly as create would, whose
 *  writable state is the snapshot's; its sandbox_id MAY be the snapshot's source sandbox (a recreate,
 *  after the host destroyed the old instance) or a new one.
 *
 *  Capability strings, declared by describe: "sandboxer.lifecycle/1" (create, status, destroy),
 *  "sandboxer.exec/1", "sandboxer.inventory/1", "sandboxer.timeout/1" (set_timeout),
 *  "sandboxer.snapshot/1" (snapshot, restore, delete_snapshot), "sandboxer.reach/1" (endpoints). An operation
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
#define SANDBOXER_ABI_MINOR 0

/** Name of the one symbol a plugin exports. The major version is part of the name. */
#define SANDBOXER_PLUGIN_ENTRY_SYMBOL "sandboxer_plugin_entry_v1"

/** Result codes: a closed list. A plugin MUST NOT return any other value. */
typedef enum sbx_code {
    /** Success: the result holds the response JSON. */
    SBX_OK = 0,
    /** The operation or capability is not supported by this plugin. */
    SBX_NOT_IMPLEMENTED = 1,
    /** The named resource does not exist (for destroy: it is already gone, which is success). */
    SBX_NOT_FOUND = 2,
    /** The request was malformed or named values the plugin refuses; retrying will not help. */
    SBX_INVALID_REQUEST = 3,
    /** The request conflicts with the resource's current state. */
    SBX_CONFLICT = 4,
    /** The backend cannot be reached or is busy right now; the host MAY retry later. */
    SBX_UNAVAILABLE = 5,
    /** A quota or limit of the backend refused the request. */
    SBX_QUOTA = 6,
    /** Anything else: a bug or an unexpected failure inside the plugin. */
    SBX_INTERNAL = 7
} sbx_code;

/** Log levels for the host's log callback. */
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
    /** sizeof(sbx_result) as the writer knows it. The host sets it before the call. */
    size_t struct_size;
    /** Pointer to `len` bytes allocated by the plugin; released only through `result_free`. */
    uint8_t *data;
    /** Number of bytes at `data`. */
    size_t len;
    /** Opaque word for the plugin's own bookkeeping (for example the allocator used); the host never reads it. */
    void *plugin_reserved;
} sbx_result;

/** Callbacks and facts the host gives a plugin. Valid from the entry call until the process exits. */
typedef struct sbx_host_api {
    /** sizeof(sbx_host_api) as the host knows it. */
    size_t struct_size;
    /** The host's ABI major version. A plugin MUST refuse (return NULL) if this differs from its own. */
    uint32_t abi_major;
    /** The host's ABI minor version. */
    uint32_t abi_minor;
    /** Opaque host pointer; pass it back as the first argument of every callback below. */
    void *host_ctx;
    /**
     * Log one line through the host. `message` is a NUL-terminated UTF-8 string; `metadata_json`
     * is an optional JSON object (`metadata_len` bytes, may be NULL/0). Thread-safe.
     */
    void (*log)(void *host_ctx, int32_t level, const char *message,
                const uint8_t *metadata_json, size_t metadata_len);
    /**
     * The host's current time in milliseconds since the Unix epoch. Plugins MUST use this instead of
     * the system clock for every lifecycle decision, so tests can drive time.
     */
    int64_t (*now_unix_ms)(void *host_ctx);
    /**
     * Look up a secret by name (as named in the backend's config). On SBX_OK `*out` points to
     * `*out_len` bytes owned by the host, to be released with `buffer_free`. Returns SBX_NOT_FOUND
     * when no such secret exists. Plugins MUST NOT read credentials from the environment themselves.
     */
    int32_t (*secret_lookup)(void *host_ctx, const char *name, uint8_t **out, size_t *out_len);
    /** Release a buffer the host allocated (for example a secret). Accepts NULL. */
    void (*buffer_free)(void *host_ctx, uint8_t *data, size_t len);
    /**
     * Non-zero when the host has given up on the call identified by `call_id` (the value the host
     * passed to `invoke`). Long operations SHOULD poll this and stop early with SBX_UNAVAILABLE.
     */
    int32_t (*is_cancelled)(void *host_ctx, uint64_t call_id);
} sbx_host_api;

/**
 * A plugin's function table. Returned by the entry function; MUST stay valid until process exit.
 * The first five fields (struct_size, abi_major, abi_minor, name, version) keep this layout in every
 * major version, so a host can name a plugin whose major it refuses.
 */
typedef struct sbx_plugin {
    /** sizeof(sbx_plugin) as the plugin knows it. The host reads no field beyond it. */
    size_t struct_size;
    /** The plugin's ABI major version (SANDBOXER_ABI_MAJOR when built against this header). */
    uint32_t abi_major;
    /** The plugin's ABI minor version. */
    uint32_t abi_minor;
    /** Backend name, NUL-terminated, static storage (for example "localvm"). */
    const char *name;
    /** Plugin version, NUL-terminated, static storage (semantic version, for example "1.2.0"). */
    const char *version;
    /**
     * Create one backend instance from the backend's config (a JSON object, `config_len` bytes).
     * `plugin` is this table itself, so a plugin can keep per-library state next to it without
     * globals. On SBX_OK store the instance in `*out_instance`; on error fill `out` with the message.
     */
    int32_t (*instance_create)(const struct sbx_plugin *plugin,
                               const uint8_t *config_json, size_t config_len,
                               void **out_instance, sbx_result *out);
    /**
     * Run one operation by name (NUL-terminated, for example "create") with a JSON request.
     * `call_id` identifies this call for `is_cancelled`. Fills `out` (response or error message)
     * and returns its code. MUST return SBX_NOT_IMPLEMENTED for an unknown operation.
     */
    int32_t (*invoke)(void *instance, const char *operation,
                      const uint8_t *request_json, size_t request_len,
                      uint64_t call_id, sbx_result *out);
    /** Release what the plugin put in a result. Accepts a result with NULL data. */
    void (*result_free)(sbx_result *result);
    /** Destroy an instance created by `instance_create`. The host calls it at most once. */
    void (*instance_destroy)(void *instance);
} sbx_plugin;

/**
 * Type of the one exported entry function:
 *   const sbx_plugin *sandboxer_plugin_entry_v1(const sbx_host_api *host);
 * Return NULL to refuse the host (for example on an ABI major mismatch). The returned table and the
 * strings it points to MUST have static storage duration.
 */
typedef const sbx_plugin *(*sbx_plugin_entry_fn)(const sbx_host_api *host);

#ifdef __cplusplus
}
#endif

#endif /* SANDBOXER_PLUGIN_H */
