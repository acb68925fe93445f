/*
 * cplugin.c — a sandboxer backend written in plain C against sandboxer_plugin.h and the vendorable
 * helper (Sources/PluginABI/contrib/sbx_helper.[ch]), with no library beyond libc. It keeps
 * sandboxes in memory and answers describe, create, status, destroy and exec.
 *
 * Build:  cc -shared -fPIC -I Sources/PluginABI/include -I Sources/PluginABI/contrib \
 *            -o libcplugin.so cplugin.c Sources/PluginABI/contrib/sbx_helper.c
 *
 * Switches for the loader's tests (one source, several misbehaving builds):
 *   -DABI_MAJOR_OVERRIDE=2   the table claims ABI major 2 (the host must refuse it, naming both ABIs)
 *   -DREFUSE_HOST            the entry returns NULL (the plugin refuses the host)
 *   -DSHORT_TABLE            struct_size is smaller than the v1.0 table (malformed)
 *   -DNO_ENTRY               the entry symbol is not exported at all
 * Built against the simulated next-minor header of the ABI tests (which defines
 * SBX_SIMULATED_FUTURE_FIELDS), it also fills the appended table field and reads the appended host
 * callback, but only when the host's struct_size covers it.
 */
#include "sandboxer_plugin.h"
#include "sbx_helper.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SANDBOXES 64
#define ID_MAX 128
/* The most stdin `exec` accepts: requests are bounded like everything else a plugin receives. */
#define STDIN_MAX (64 * 1024)

typedef struct sandbox {
    int used;
    char sandbox_id[ID_MAX];
    char backend_ref[ID_MAX];
    int64_t created_at_ms;
} sandbox;

/* One instance: its sandboxes and the host table. The lock makes invoke thread-safe (ABI rule). */
typedef struct instance {
    pthread_mutex_t lock;
    const sbx_host_api *host;
    unsigned next_ref;
    sandbox sandboxes[MAX_SANDBOXES];
} instance;

/* The table handed to one host: the host may load the library several times (even at once), so
 * each entry call gets its own table that remembers its host, instead of a global. */
typedef struct cplugin_table {
    sbx_plugin base; /* first, so the host's `const sbx_plugin *` also points at the whole */
    const sbx_host_api *host;
} cplugin_table;

/* ids end up in our answers and logs: accept only characters that need no escaping anywhere */
static int plain_id(const char *s) {
    if (*s == '\0') return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_' || c == '.'))
            return 0;
    }
    return 1;
}

static sandbox *find(instance *in, const char *ref) {
    for (int i = 0; i < MAX_SANDBOXES; i++)
        if (in->sandboxes[i].used && strcmp(in->sandboxes[i].backend_ref, ref) == 0) return &in->sandboxes[i];
    return NULL;
}

/* ---- operations ---- */

static int32_t op_create(instance *in, sbxh_json req, sbx_result *out) {
    char id[ID_MAX];
    if (sbxh_json_get_string(req, "sandbox_id", id, sizeof id) != SBXH_OK || !plain_id(id))
        return sbxh_result_text(out, SBX_INVALID_REQUEST, "The create request needs a plain 'sandbox_id'.");
    sandbox *slot = NULL;
    for (int i = 0; i < MAX_SANDBOXES && slot == NULL; i++)
        if (!in->sandboxes[i].used) slot = &in->sandboxes[i];
    if (slot == NULL) return sbxh_result_errorf(out, SBX_QUOTA, "The C plugin holds at most %d sandboxes.", MAX_SANDBOXES);
    slot->used = 1;
    snprintf(slot->sandbox_id, sizeof slot->sandbox_id, "%s", id);
    snprintf(slot->backend_ref, sizeof slot->backend_ref, "c-%u", ++in->next_ref);
    slot->created_at_ms = in->host->now_unix_ms(in->host->host_ctx);
    in->host->log(in->host->host_ctx, SBX_LOG_INFO, "cplugin: created a sandbox", NULL, 0);

    sbxh_buf body;
    sbxh_buf_init(&body, 0);
    sbxh_buf_raw(&body, "{\"backend_ref\":");
    sbxh_buf_cstring(&body, slot->backend_ref);
    sbxh_buf_raw(&body, ",\"info\":{\"created_at_ms\":");
    sbxh_buf_int(&body, slot->created_at_ms);
#ifdef SBX_SIMULATED_FUTURE_FIELDS
    /* A field of a later minor than the host's is absent: read it only when struct_size covers it. */
    sbxh_buf_raw(&body, ",\"host_future\":");
    if (SBX_HAS_FIELD(sbx_host_api, in->host, simulated_future_callback) && in->host->simulated_future_callback != NULL)
        sbxh_buf_int(&body, in->host->simulated_future_callback(in->host->host_ctx));
    else
        sbxh_buf_raw(&body, "null");
#endif
    sbxh_buf_raw(&body, "}}");
    return sbxh_result_json(out, &body);
}

static int32_t op_status(instance *in, sbxh_json req, sbx_result *out) {
    char ref[ID_MAX];
    if (sbxh_json_get_string(req, "backend_ref", ref, sizeof ref) != SBXH_OK)
        return sbxh_result_text(out, SBX_INVALID_REQUEST, "The status request needs 'backend_ref'.");
    sandbox *s = find(in, ref);
    if (s == NULL) return sbxh_result_text(out, SBX_NOT_FOUND, "The C plugin has no such sandbox.");
    sbxh_buf body;
    sbxh_buf_init(&body, 0);
    sbxh_buf_raw(&body, "{\"state\":\"running\",\"info\":{\"created_at_ms\":");
    sbxh_buf_int(&body, s->created_at_ms);
    sbxh_buf_raw(&body, "}}");
    return sbxh_result_json(out, &body);
}

static int32_t op_destroy(instance *in, sbxh_json req, sbx_result *out) {
    char ref[ID_MAX];
    if (sbxh_json_get_string(req, "backend_ref", ref, sizeof ref) != SBXH_OK)
        return sbxh_result_text(out, SBX_INVALID_REQUEST, "The destroy request needs 'backend_ref'.");
    sandbox *s = find(in, ref);
    if (s == NULL) return sbxh_result_text(out, SBX_NOT_FOUND, "The C plugin has no such sandbox.");
    memset(s, 0, sizeof *s);
    return sbxh_result_text(out, SBX_OK, "{}");
}

/* argv ["cat"] copies stdin to stdout; anything else prints "hello from C\n". */
static int32_t op_exec(instance *in, sbxh_json req, sbx_result *out) {
    char ref[ID_MAX], program[ID_MAX] = "";
    if (sbxh_json_get_string(req, "backend_ref", ref, sizeof ref) != SBXH_OK)
        return sbxh_result_text(out, SBX_INVALID_REQUEST, "The exec request needs 'backend_ref'.");
    if (find(in, ref) == NULL) return sbxh_result_text(out, SBX_NOT_FOUND, "The C plugin has no such sandbox.");
    sbxh_json argv, first, stdin_value;
    size_t cursor = 0;
    if (sbxh_json_get(req, "argv", &argv) != SBXH_OK || sbxh_json_next(argv, &cursor, NULL, &first) != SBXH_OK ||
        sbxh_json_string(first, program, sizeof program, NULL) != SBXH_OK)
        return sbxh_result_text(out, SBX_INVALID_REQUEST, "The exec request needs a non-empty 'argv' of strings.");

    const uint8_t *stdout_bytes = (const uint8_t *)"hello from C\n";
    size_t stdout_len = strlen((const char *)stdout_bytes);
    uint8_t *input = NULL;
    if (strcmp(program, "cat") == 0) {
        input = malloc(STDIN_MAX);
        if (input == NULL) return sbxh_result_text(out, SBX_INTERNAL, "The C plugin is out of memory.");
        stdout_len = 0;
        int st = sbxh_json_get(req, "stdin_b64", &stdin_value);
        if (st == SBXH_OK) st = sbxh_json_base64(stdin_value, input, STDIN_MAX, &stdout_len);
        if (st != SBXH_OK && st != SBXH_ABSENT) {
            free(input);
            return sbxh_result_errorf(out, SBX_INVALID_REQUEST, "The exec request's 'stdin_b64' is not base64 of at most %d bytes.", STDIN_MAX);
        }
        stdout_bytes = input;
    }
    sbxh_buf body;
    sbxh_buf_init(&body, 0);
    sbxh_buf_raw(&body, "{\"exit_code\":0,\"stdout_b64\":");
    sbxh_buf_base64(&body, stdout_bytes, stdout_len);
    sbxh_buf_raw(&body, ",\"stderr_b64\":\"\",\"timed_out\":false}");
    free(input);
    return sbxh_result_json(out, &body);
}

/* ---- the table ---- */

static int32_t instance_create(const sbx_plugin *plugin, const uint8_t *config, size_t config_len,
                               void **out_instance, sbx_result *out) {
    (void)config; (void)config_len;
    if (plugin == NULL || out_instance == NULL) return sbxh_result_text(out, SBX_INVALID_REQUEST, "No table or no instance pointer.");
    instance *in = calloc(1, sizeof *in);
    if (in == NULL) return sbxh_result_text(out, SBX_INTERNAL, "The C plugin is out of memory.");
    pthread_mutex_init(&in->lock, NULL);
    in->host = ((const cplugin_table *)plugin)->host;
    *out_instance = in;
    return SBX_OK;
}

static int32_t invoke(void *raw, const char *operation, const uint8_t *req, size_t len,
                      uint64_t call_id, sbx_result *out) {
    (void)call_id;
    instance *in = raw;
    if (in == NULL || operation == NULL) return sbxh_result_text(out, SBX_INVALID_REQUEST, "No instance or no operation.");
    if (strcmp(operation, "describe") == 0)
        return sbxh_result_text(out, SBX_OK, "{\"name\":\"cplugin\",\"version\":\"0.3.0\","
                                             "\"capabilities\":[\"sandboxer.lifecycle/1\",\"sandboxer.exec/1\"]}");
    sbxh_json request;
    if (sbxh_json_parse(req, len, &request) != SBXH_OK || sbxh_json_type(request) != SBXH_TYPE_OBJECT)
        return sbxh_result_text(out, SBX_INVALID_REQUEST, "The request is not a JSON object.");
    int32_t code;
    pthread_mutex_lock(&in->lock);
    if (strcmp(operation, "create") == 0) code = op_create(in, request, out);
    else if (strcmp(operation, "status") == 0) code = op_status(in, request, out);
    else if (strcmp(operation, "destroy") == 0) code = op_destroy(in, request, out);
    else if (strcmp(operation, "exec") == 0) code = op_exec(in, request, out);
    else code = sbxh_result_text(out, SBX_NOT_IMPLEMENTED, "The C plugin does not implement this operation.");
    pthread_mutex_unlock(&in->lock);
    return code;
}

static void instance_destroy(void *raw) {
    instance *in = raw;
    if (in == NULL) return;
    pthread_mutex_destroy(&in->lock);
    free(in);
}

#ifdef SBX_SIMULATED_FUTURE_FIELDS
/* The operation a next minor appended to the table; a host that knows it sees this answer. */
static int32_t future_op(void *raw) {
    (void)raw;
    return 42;
}
#endif

#ifndef ABI_MAJOR_OVERRIDE
#define ABI_MAJOR_OVERRIDE SANDBOXER_ABI_MAJOR
#endif

#ifdef NO_ENTRY
#define ENTRY_NAME cplugin_not_the_entry
#else
#define ENTRY_NAME sandboxer_plugin_entry_v1
#endif

SANDBOXER_EXPORT const sbx_plugin *ENTRY_NAME(const sbx_host_api *host) {
    /* Refuse a host of another major, or one whose table lacks the v1.0 callbacks: the frozen v1.0
     * size, never sizeof(sbx_host_api), which grows with the header this is compiled against. */
    if (host == NULL || host->struct_size < SBX_HOST_API_V1_0_SIZE || host->abi_major != SANDBOXER_ABI_MAJOR)
        return NULL;
    /* Allocated once per load and never freed: the ABI wants the table valid until exit. */
    cplugin_table *table = calloc(1, sizeof *table);
    if (table == NULL) return NULL;
#ifdef SHORT_TABLE
    table->base.struct_size = offsetof(sbx_plugin, instance_destroy);
#else
    table->base.struct_size = sizeof(sbx_plugin);
#endif
    table->base.abi_major = ABI_MAJOR_OVERRIDE;
    table->base.abi_minor = SANDBOXER_ABI_MINOR;
    table->base.name = "cplugin";
    table->base.version = "0.3.0";
    table->base.instance_create = instance_create;
    table->base.invoke = invoke;
    table->base.result_free = sbxh_result_free;
    table->base.instance_destroy = instance_destroy;
#ifdef SBX_SIMULATED_FUTURE_FIELDS
    table->base.simulated_future_op = future_op;
#endif
    table->host = host;
#ifdef REFUSE_HOST
    free(table);
    return NULL;
#else
    return &table->base;
#endif
}
