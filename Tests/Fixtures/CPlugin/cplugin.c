/*
 * cplugin.c — a sandboxer backend written in plain C against sandboxer_plugin.h, with no library
 * beyond libc. It keeps sandboxes in memory and answers describe, create, status, destroy and exec.
 *
 * Build:  cc -shared -fPIC -I Sources/PluginABI/include -o libcplugin.so cplugin.c
 *
 * Switches for the loader's tests (one source, several misbehaving builds):
 *   -DABI_MAJOR_OVERRIDE=2   the table claims ABI major 2 (the host must refuse it, naming both ABIs)
 *   -DREFUSE_HOST            the entry returns NULL (the plugin refuses the host)
 *   -DSHORT_TABLE            struct_size is smaller than the v1.0 table (malformed)
 *   -DNO_ENTRY               the entry symbol is not exported at all
 */
#include "sandboxer_plugin.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SANDBOXES 64
#define ID_MAX 128

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

static const sbx_host_api *g_host; /* valid until exit, per the ABI */

/* ---- results: every buffer is malloc'd here and freed by result_free ---- */

static int32_t answer(sbx_result *out, int32_t code, const char *text) {
    size_t len = strlen(text);
    out->data = malloc(len ? len : 1);
    if (out->data == NULL) { out->len = 0; return SBX_INTERNAL; }
    memcpy(out->data, text, len);
    out->len = len;
    return code;
}

static void result_free(sbx_result *result) {
    if (result == NULL) return;
    free(result->data);
    result->data = NULL;
    result->len = 0;
}

/* ---- minimal JSON: find "key": "string value" at any depth (enough for our requests) ---- */

static int json_string_field(const uint8_t *json, size_t len, const char *key, char *value, size_t cap) {
    char pattern[64];
    int plen = snprintf(pattern, sizeof pattern, "\"%s\"", key);
    if (plen <= 0 || (size_t)plen >= sizeof pattern) return 0;
    for (size_t i = 0; i + (size_t)plen <= len; i++) {
        if (memcmp(json + i, pattern, (size_t)plen) != 0) continue;
        size_t j = i + (size_t)plen;
        while (j < len && (json[j] == ' ' || json[j] == '\t' || json[j] == '\n' || json[j] == '\r')) j++;
        if (j >= len || json[j] != ':') continue;
        j++;
        while (j < len && (json[j] == ' ' || json[j] == '\t' || json[j] == '\n' || json[j] == '\r')) j++;
        if (j >= len || json[j] != '"') continue;
        j++;
        size_t n = 0;
        while (j < len && json[j] != '"') {
            if (json[j] == '\\' || json[j] < 0x20) return 0; /* escapes: not needed for ids, refuse */
            if (n + 1 >= cap) return 0;
            value[n++] = (char)json[j++];
        }
        if (j >= len) return 0;
        value[n] = '\0';
        return 1;
    }
    return 0;
}

/* ids end up inside our JSON answers unescaped: accept only characters that need no escaping */
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

static int32_t op_create(instance *in, const uint8_t *req, size_t len, sbx_result *out) {
    char id[ID_MAX];
    if (!json_string_field(req, len, "sandbox_id", id, sizeof id) || !plain_id(id))
        return answer(out, SBX_INVALID_REQUEST, "The create request needs a plain 'sandbox_id'.");
    sandbox *slot = NULL;
    for (int i = 0; i < MAX_SANDBOXES && slot == NULL; i++)
        if (!in->sandboxes[i].used) slot = &in->sandboxes[i];
    if (slot == NULL) return answer(out, SBX_QUOTA, "The C plugin holds at most 64 sandboxes.");
    slot->used = 1;
    snprintf(slot->sandbox_id, sizeof slot->sandbox_id, "%s", id);
    snprintf(slot->backend_ref, sizeof slot->backend_ref, "c-%u", ++in->next_ref);
    slot->created_at_ms = in->host->now_unix_ms(in->host->host_ctx);
    in->host->log(in->host->host_ctx, SBX_LOG_INFO, "cplugin: created a sandbox", NULL, 0);
    char body[256];
    snprintf(body, sizeof body, "{\"backend_ref\":\"%s\",\"info\":{\"created_at_ms\":%lld}}",
             slot->backend_ref, (long long)slot->created_at_ms);
    return answer(out, SBX_OK, body);
}

static int32_t op_status(instance *in, const uint8_t *req, size_t len, sbx_result *out) {
    char ref[ID_MAX];
    if (!json_string_field(req, len, "backend_ref", ref, sizeof ref))
        return answer(out, SBX_INVALID_REQUEST, "The status request needs 'backend_ref'.");
    sandbox *s = find(in, ref);
    if (s == NULL) return answer(out, SBX_NOT_FOUND, "The C plugin has no such sandbox.");
    char body[256];
    snprintf(body, sizeof body, "{\"state\":\"running\",\"info\":{\"created_at_ms\":%lld}}", (long long)s->created_at_ms);
    return answer(out, SBX_OK, body);
}

static int32_t op_destroy(instance *in, const uint8_t *req, size_t len, sbx_result *out) {
    char ref[ID_MAX];
    if (!json_string_field(req, len, "backend_ref", ref, sizeof ref))
        return answer(out, SBX_INVALID_REQUEST, "The destroy request needs 'backend_ref'.");
    sandbox *s = find(in, ref);
    if (s == NULL) return answer(out, SBX_NOT_FOUND, "The C plugin has no such sandbox.");
    memset(s, 0, sizeof *s);
    return answer(out, SBX_OK, "{}");
}

static int32_t op_exec(instance *in, const uint8_t *req, size_t len, sbx_result *out) {
    char ref[ID_MAX];
    if (!json_string_field(req, len, "backend_ref", ref, sizeof ref))
        return answer(out, SBX_INVALID_REQUEST, "The exec request needs 'backend_ref'.");
    if (find(in, ref) == NULL) return answer(out, SBX_NOT_FOUND, "The C plugin has no such sandbox.");
    /* stdout is "hello from C\n", base64-encoded. */
    return answer(out, SBX_OK,
                  "{\"exit_code\":0,\"stdout_b64\":\"aGVsbG8gZnJvbSBDCg==\",\"stderr_b64\":\"\",\"timed_out\":false}");
}

/* ---- the table ---- */

static int32_t instance_create(const sbx_plugin *plugin, const uint8_t *config, size_t config_len,
                               void **out_instance, sbx_result *out) {
    (void)plugin; (void)config; (void)config_len;
    instance *in = calloc(1, sizeof *in);
    if (in == NULL) return answer(out, SBX_INTERNAL, "The C plugin is out of memory.");
    pthread_mutex_init(&in->lock, NULL);
    in->host = g_host;
    *out_instance = in;
    return SBX_OK;
}

static int32_t invoke(void *raw, const char *operation, const uint8_t *req, size_t len,
                      uint64_t call_id, sbx_result *out) {
    (void)call_id;
    instance *in = raw;
    if (in == NULL || operation == NULL) return answer(out, SBX_INVALID_REQUEST, "No instance or no operation.");
    if (strcmp(operation, "describe") == 0)
        return answer(out, SBX_OK, "{\"name\":\"cplugin\",\"version\":\"0.3.0\","
                                   "\"capabilities\":[\"sandboxer.lifecycle/1\",\"sandboxer.exec/1\"]}");
    int32_t code;
    pthread_mutex_lock(&in->lock);
    if (strcmp(operation, "create") == 0) code = op_create(in, req, len, out);
    else if (strcmp(operation, "status") == 0) code = op_status(in, req, len, out);
    else if (strcmp(operation, "destroy") == 0) code = op_destroy(in, req, len, out);
    else if (strcmp(operation, "exec") == 0) code = op_exec(in, req, len, out);
    else code = answer(out, SBX_NOT_IMPLEMENTED, "The C plugin does not implement this operation.");
    pthread_mutex_unlock(&in->lock);
    return code;
}

static void instance_destroy(void *raw) {
    instance *in = raw;
    if (in == NULL) return;
    pthread_mutex_destroy(&in->lock);
    free(in);
}

#ifndef ABI_MAJOR_OVERRIDE
#define ABI_MAJOR_OVERRIDE SANDBOXER_ABI_MAJOR
#endif

static const sbx_plugin table = {
#ifdef SHORT_TABLE
    .struct_size = offsetof(sbx_plugin, instance_destroy),
#else
    .struct_size = sizeof(sbx_plugin),
#endif
    .abi_major = ABI_MAJOR_OVERRIDE,
    .abi_minor = SANDBOXER_ABI_MINOR,
    .name = "cplugin",
    .version = "0.3.0",
    .instance_create = instance_create,
    .invoke = invoke,
    .result_free = result_free,
    .instance_destroy = instance_destroy,
};

#ifdef NO_ENTRY
#define ENTRY_NAME cplugin_not_the_entry
#else
#define ENTRY_NAME sandboxer_plugin_entry_v1
#endif

__attribute__((visibility("default")))
const sbx_plugin *ENTRY_NAME(const sbx_host_api *host) {
#ifdef REFUSE_HOST
    (void)host;
    (void)table;
    return NULL;
#else
    /* Refuse a host of another major, or one whose table lacks the v1.0 callbacks. */
    if (host == NULL || host->abi_major != SANDBOXER_ABI_MAJOR ||
        host->struct_size < offsetof(sbx_host_api, is_cancelled) + sizeof host->is_cancelled)
        return NULL;
    g_host = host;
    return &table;
#endif
}
