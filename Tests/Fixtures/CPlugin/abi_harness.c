/*
 * abi_harness.c — a minimal host in C for the ABI minor-version tests (Tests/HostTests/ABIMinorVersionTests.swift).
 *
 * It loads one plugin, calls its entry with a host table of a chosen size, and runs describe, create,
 * destroy (and optionally one more operation), printing one `key=value` line per step. Built against
 * the real header it is a host of that minor; built against the tests' simulated next-minor header
 * it is a host of the next minor (it then also offers and calls the appended fields).
 *
 * The host table ends exactly at a page boundary with an inaccessible page after it, so a plugin
 * that reads one byte past `struct_size` (a field its host does not have) dies with SIGSEGV instead
 * of reading garbage silently.
 *
 *   abi_harness PLUGIN.so [--host-size v1_0|full|short] [--host-minor N] [--cancel] [--op NAME]
 *
 * Exit status: 0 when every step ran (whatever the codes), 2 on a usage or load problem, 3 when the
 * plugin's table is malformed.
 */
#include "sandboxer_plugin.h"
#include "sbx_helper.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int g_cancel;

static void host_log(void *ctx, int32_t level, const char *message, const uint8_t *meta, size_t meta_len) {
    (void)ctx; (void)meta; (void)meta_len;
    printf("log=%d %s\n", (int)level, message ? message : "");
}
static int64_t host_now(void *ctx) { (void)ctx; return 1700000000123; }
static int32_t host_secret(void *ctx, const char *name, uint8_t **out, size_t *out_len) {
    (void)ctx; (void)name;
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    return SBX_NOT_FOUND;
}
static void host_free(void *ctx, uint8_t *data, size_t len) { (void)ctx; (void)len; free(data); }
static int32_t host_cancelled(void *ctx, uint64_t call_id) { (void)ctx; (void)call_id; return g_cancel; }
#ifdef SBX_SIMULATED_FUTURE_FIELDS
static int64_t host_future(void *ctx) { (void)ctx; return 7; }
#endif

/* Calls one operation and prints `label=CODE BODY`; the body is copied out before result_free. */
static int32_t call(const sbx_plugin *t, void *inst, const char *label, const char *op, const char *request,
                    char *body, size_t cap) {
    static uint64_t next_call_id;
    sbx_result r = {sizeof(sbx_result), NULL, 0, NULL};
    int32_t code = t->invoke(inst, op, (const uint8_t *)request, strlen(request), ++next_call_id, &r);
    size_t n = r.len < cap - 1 ? r.len : cap - 1;
    if (r.data != NULL) memcpy(body, r.data, n);
    else n = 0;
    body[n] = '\0';
    t->result_free(&r);
    printf("%s=%d %s\n", label, (int)code, body);
    return code;
}

int main(int argc, char **argv) {
    const char *size_mode = "full", *extra_op = NULL;
    unsigned host_minor = SANDBOXER_ABI_MINOR;
    if (argc < 2) { fprintf(stderr, "usage: %s PLUGIN.so [--host-size v1_0|full|short] [--host-minor N] [--cancel] [--op NAME]\n", argv[0]); return 2; }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--host-size") == 0 && i + 1 < argc) size_mode = argv[++i];
        else if (strcmp(argv[i], "--host-minor") == 0 && i + 1 < argc) host_minor = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--cancel") == 0) g_cancel = 1;
        else if (strcmp(argv[i], "--op") == 0 && i + 1 < argc) extra_op = argv[++i];
        else { fprintf(stderr, "unknown argument %s\n", argv[i]); return 2; }
    }
    size_t size;
    if (strcmp(size_mode, "v1_0") == 0) size = SBX_HOST_API_V1_0_SIZE;
    else if (strcmp(size_mode, "full") == 0) size = sizeof(sbx_host_api);
    else if (strcmp(size_mode, "short") == 0) size = SBX_HOST_API_V1_0_SIZE - sizeof(void *); /* no is_cancelled */
    else { fprintf(stderr, "bad --host-size %s\n", size_mode); return 2; }

    void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
    sbx_plugin_entry_fn entry = (sbx_plugin_entry_fn)dlsym(lib, SANDBOXER_PLUGIN_ENTRY_SYMBOL);
    if (entry == NULL) { fprintf(stderr, "no entry symbol\n"); return 2; }

    /* The table: built whole, then only its first `size` bytes copied to the end of a page. */
    sbx_host_api full;
    memset(&full, 0, sizeof full);
    full.struct_size = size;
    full.abi_major = SANDBOXER_ABI_MAJOR;
    full.abi_minor = host_minor;
    full.host_ctx = NULL;
    full.log = host_log;
    full.now_unix_ms = host_now;
    full.secret_lookup = host_secret;
    full.buffer_free = host_free;
    full.is_cancelled = host_cancelled;
#ifdef SBX_SIMULATED_FUTURE_FIELDS
    full.simulated_future_callback = host_future;
#endif
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *pages = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED || mprotect(pages + page, page, PROT_NONE) != 0) { perror("mmap"); return 2; }
    uint8_t *at = pages + page - size;
    memcpy(at, &full, size);
    const sbx_host_api *host = (const sbx_host_api *)(void *)at;
    printf("host_size=%zu host_minor=%u\n", size, host_minor);

    const sbx_plugin *t = entry(host);
    if (t == NULL) { printf("entry=refused\n"); return 0; }
    printf("entry=ok\n");
    if (t->struct_size < SBX_PLUGIN_V1_0_SIZE || t->abi_major != SANDBOXER_ABI_MAJOR || !t->instance_create ||
        !t->invoke || !t->result_free || !t->instance_destroy) {
        printf("table=malformed size=%zu\n", t->struct_size);
        return 3;
    }
    printf("table_size=%zu plugin_abi=%u.%u name=%s version=%s\n", t->struct_size, t->abi_major, t->abi_minor,
           t->name ? t->name : "", t->version ? t->version : "");
#ifdef SBX_SIMULATED_FUTURE_FIELDS
    if (SBX_HAS_FIELD(sbx_plugin, t, simulated_future_op) && t->simulated_future_op != NULL)
        printf("future_op=%d\n", (int)t->simulated_future_op(NULL));
    else
        printf("future_op=absent\n");
#endif

    void *inst = NULL;
    sbx_result r = {sizeof(sbx_result), NULL, 0, NULL};
    int32_t code = t->instance_create(t, (const uint8_t *)"{}", 2, &inst, &r);
    t->result_free(&r);
    printf("instance=%d\n", (int)code);
    if (code != SBX_OK) return 0;

    char body[4096];
    call(t, inst, "describe", "describe", "{}", body, sizeof body);
    if (call(t, inst, "create", "create", "{\"sandbox_id\":\"sbx-h1\",\"host_id\":\"h\",\"profile\":\"p\",\"network\":\"none\","
             "\"env\":{},\"labels\":{},\"resources\":{}}", body, sizeof body) == SBX_OK) {
        sbxh_json response;
        char ref[128], request[256];
        if (sbxh_json_parse((const uint8_t *)body, strlen(body), &response) == SBXH_OK &&
            sbxh_json_get_string(response, "backend_ref", ref, sizeof ref) == SBXH_OK) {
            sbxh_buf b;
            sbxh_buf_init(&b, sizeof request - 1);
            sbxh_buf_raw(&b, "{\"sandbox_id\":\"sbx-h1\",\"backend_ref\":");
            sbxh_buf_cstring(&b, ref);
            sbxh_buf_raw(&b, "}");
            if (!b.failed) {
                memcpy(request, b.data, b.len);
                request[b.len] = '\0';
                call(t, inst, "destroy", "destroy", request, body, sizeof body);
            }
            sbxh_buf_free(&b);
        }
    }
    if (extra_op != NULL) call(t, inst, "op", extra_op, "{}", body, sizeof body);
    t->instance_destroy(inst);
    printf("done\n");
    return 0;
}
