#include "ccurl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* The functions used, resolved from the loaded library. */
struct ccurl_table {
    void *library;
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    const char *(*easy_strerror)(CURLcode);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
    curl_version_info_data *(*version_info)(CURLversion);
};

/* Written once under pthread_once, read only after ccurl_load() returned 0. */
static struct ccurl_table table;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int load_result = -1;
static char load_message[512];

/* Fills `t` from `file`; on failure closes what it opened and writes one sentence to `message`. */
static int open_table(const char *file, struct ccurl_table *t, char *message, size_t size) {
    memset(t, 0, sizeof *t);
    if (size > 0) message[0] = 0;
    /* RTLD_LOCAL: libcurl's symbols stay out of the global scope (a plugin's own copy cannot clash);
       RTLD_NODELETE: curl_global_init set up TLS libraries that must never be unmapped. */
    t->library = dlopen(file, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (t->library == NULL) {
        const char *why = dlerror();
        snprintf(message, size,
                 "libcurl could not be loaded from %s (%s); HTTP calls (webhooks, reachability probes, remote "
                 "backends) need it: install libcurl4 (Debian: apt-get install libcurl4).",
                 file, why ? why : "no reason given");
        return -1;
    }
    struct { const char *name; void **slot; } symbols[] = {
        {"curl_global_init", (void **)&t->global_init},
        {"curl_easy_init", (void **)&t->easy_init},
        {"curl_easy_cleanup", (void **)&t->easy_cleanup},
        {"curl_easy_reset", (void **)&t->easy_reset},
        {"curl_easy_perform", (void **)&t->easy_perform},
        {"curl_easy_strerror", (void **)&t->easy_strerror},
        {"curl_easy_setopt", (void **)&t->easy_setopt},
        {"curl_easy_getinfo", (void **)&t->easy_getinfo},
        {"curl_slist_append", (void **)&t->slist_append},
        {"curl_slist_free_all", (void **)&t->slist_free_all},
        {"curl_version_info", (void **)&t->version_info},
    };
    for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
        *symbols[i].slot = dlsym(t->library, symbols[i].name);
        if (*symbols[i].slot == NULL) {
            snprintf(message, size,
                     "libcurl at %s lacks the function %s; install a libcurl 7.x or 8.x (Debian: apt-get install libcurl4).",
                     file, symbols[i].name);
            dlclose(t->library);
            memset(t, 0, sizeof *t);
            return -1;
        }
    }
    return 0;
}

static void load(void) {
    if (open_table(CCURL_LIBRARY, &table, load_message, sizeof load_message) != 0) return;
    CURLcode code = table.global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK) {
        snprintf(load_message, sizeof load_message, "libcurl could not be initialised (curl_global_init: %s).",
                 table.easy_strerror(code));
        return;
    }
    load_result = 0;
}

int ccurl_load(void) {
    pthread_once(&load_once, load);
    return load_result;
}

const char *ccurl_load_error(void) {
    pthread_once(&load_once, load);
    return load_message;
}

int ccurl_check_library(const char *file, char *message, size_t size) {
    struct ccurl_table t;
    if (open_table(file, &t, message, size) != 0) return -1;
    dlclose(t.library);
    return 0;
}

CURL *ccurl_easy_init(void) { return table.easy_init(); }
void ccurl_easy_cleanup(CURL *handle) { table.easy_cleanup(handle); }
void ccurl_easy_reset(CURL *handle) { table.easy_reset(handle); }
CURLcode ccurl_easy_perform(CURL *handle) { return table.easy_perform(handle); }
const char *ccurl_easy_strerror(CURLcode code) { return table.easy_strerror(code); }
struct curl_slist *ccurl_slist_append(struct curl_slist *list, const char *line) { return table.slist_append(list, line); }
/* Callable before the library loaded (a `defer` freeing a list never built): NULL is a no-op. */
void ccurl_slist_free_all(struct curl_slist *list) { if (list != NULL) table.slist_free_all(list); }
curl_version_info_data *ccurl_version_info(void) { return table.version_info(CURLVERSION_FIRST); }

CURLcode ccurl_set_long(CURL *handle, CURLoption option, long value) { return table.easy_setopt(handle, option, value); }
CURLcode ccurl_set_offset(CURL *handle, CURLoption option, curl_off_t value) { return table.easy_setopt(handle, option, value); }
CURLcode ccurl_set_string(CURL *handle, CURLoption option, const char *value) { return table.easy_setopt(handle, option, value); }
CURLcode ccurl_set_pointer(CURL *handle, CURLoption option, void *value) { return table.easy_setopt(handle, option, value); }
CURLcode ccurl_set_list(CURL *handle, CURLoption option, struct curl_slist *value) { return table.easy_setopt(handle, option, value); }
CURLcode ccurl_set_callback(CURL *handle, CURLoption option, ccurl_data_callback value) { return table.easy_setopt(handle, option, value); }
CURLcode ccurl_set_xferinfo(CURL *handle, ccurl_xferinfo_callback value) {
    return table.easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, value);
}
CURLcode ccurl_get_long(CURL *handle, CURLINFO info, long *value) { return table.easy_getinfo(handle, info, value); }
CURLcode ccurl_get_socket(CURL *handle, CURLINFO info, curl_socket_t *value) { return table.easy_getinfo(handle, info, value); }

int ccurl_error_size(void) { return CURL_ERROR_SIZE; }
