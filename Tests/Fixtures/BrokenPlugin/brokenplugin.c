/*
 * brokenplugin.c — a plugin that loads and mostly works but breaks three rules of the ABI on
 * purpose, so `sandboxer plugin check` has something to catch:
 *   - its entry accepts a host of any ABI major        (rule load.refuses-other-major)
 *   - it answers `inventory` although describe declares only sandboxer.lifecycle/1
 *                                                       (rule request.undeclared-capability)
 *   - its `status` answers SBX_OK with bytes that are not JSON
 *                                                       (rules lifecycle.status, response.wellformed)
 * Everything else is right: create, idempotent destroy, not_implemented for unknown operations,
 * invalid_request for malformed requests.
 *
 * Build:  cc -shared -fPIC -I Sources/PluginABI/include -o libbrokenplugin.so brokenplugin.c
 */
#include "sandboxer_plugin.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned next_ref;

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

/* A request is acceptable when it is an object that names the key (no full parser needed here). */
static int names(const uint8_t *req, size_t len, const char *key) {
    if (req == NULL || len < 2 || req[0] != '{' || req[len - 1] != '}') return 0;
    size_t klen = strlen(key);
    for (size_t i = 0; i + klen <= len; i++)
        if (memcmp(req + i, key, klen) == 0) return 1;
    return 0;
}

static int32_t instance_create(const sbx_plugin *plugin, const uint8_t *config, size_t config_len,
                               void **out_instance, sbx_result *out) {
    (void)plugin; (void)config; (void)config_len; (void)out;
    *out_instance = &lock; /* no state worth an allocation */
    return SBX_OK;
}

static int32_t invoke(void *instance, const char *op, const uint8_t *req, size_t len, uint64_t call_id, sbx_result *out) {
    (void)instance; (void)call_id;
    if (strcmp(op, "describe") == 0)
        return answer(out, SBX_OK, "{\"name\":\"broken\",\"version\":\"0.0.1\",\"capabilities\":[\"sandboxer.lifecycle/1\"]}");
    if (strcmp(op, "inventory") == 0) /* BROKEN: the capability is not declared */
        return answer(out, SBX_OK, "{\"resources\":[]}");
    if (strcmp(op, "create") == 0) {
        if (!names(req, len, "\"sandbox_id\"")) return answer(out, SBX_INVALID_REQUEST, "create needs a JSON request with sandbox_id.");
        char body[96];
        pthread_mutex_lock(&lock);
        unsigned ref = ++next_ref;
        pthread_mutex_unlock(&lock);
        snprintf(body, sizeof body, "{\"backend_ref\":\"broken-%u\",\"info\":{}}", ref);
        return answer(out, SBX_OK, body);
    }
    if (strcmp(op, "status") == 0 || strcmp(op, "destroy") == 0) {
        if (!names(req, len, "\"backend_ref\"")) return answer(out, SBX_INVALID_REQUEST, "The request needs backend_ref.");
        if (strcmp(op, "status") == 0) return answer(out, SBX_OK, "status: running"); /* BROKEN: not JSON */
        return answer(out, SBX_OK, "{}");
    }
    return answer(out, SBX_NOT_IMPLEMENTED, "The broken plugin does not implement this operation.");
}

static void instance_destroy(void *instance) { (void)instance; }

static const sbx_plugin table = {
    .struct_size = sizeof(sbx_plugin),
    .abi_major = SANDBOXER_ABI_MAJOR,
    .abi_minor = SANDBOXER_ABI_MINOR,
    .name = "broken",
    .version = "0.0.1",
    .instance_create = instance_create,
    .invoke = invoke,
    .result_free = result_free,
    .instance_destroy = instance_destroy,
};

__attribute__((visibility("default")))
const sbx_plugin *sandboxer_plugin_entry_v1(const sbx_host_api *host) {
    (void)host; /* BROKEN: never looks at host->abi_major */
    return &table;
}
