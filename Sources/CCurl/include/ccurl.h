#ifndef SANDBOXER_CCURL_H
#define SANDBOXER_CCURL_H

/* libcurl, loaded on first use.
 *
 * The host executable does not link libcurl: linking it costs every command the loading of ~30 shared
 * objects (gnutls, krb5, LDAP, libssh2, nghttp2…, ~9 ms per start measured) although only webhooks,
 * reachability probes and remote backends (E2B, Modal, fin-hub) make HTTP calls. <curl/curl.h> gives
 * the types and constants only; every function is reached through a table that ccurl_load() fills
 * with dlopen("libcurl.so.4") and dlsym, so a process that makes no HTTP call never maps libcurl.
 *
 * Call ccurl_load() (once is enough, any thread) and check it returned 0 before any other ccurl_
 * function. Everything here is hidden: a plugin .so that embeds this target keeps its own table
 * instead of binding to the host's. */

#include <curl/curl.h>
#include <stddef.h>

#define CCURL_API __attribute__((visibility("hidden")))

/* The library file loaded (a soname, searched as the dynamic loader does). */
#define CCURL_LIBRARY "libcurl.so.4"

/* Loads libcurl and runs curl_global_init, once per process: 0 when ready, -1 when not (then
   ccurl_load_error() says why, in one full sentence). */
CCURL_API int ccurl_load(void);
/* Why ccurl_load() failed; an empty string when it did not. */
CCURL_API const char *ccurl_load_error(void);
/* Loads `file` (a soname or an absolute path) and resolves every function this shim needs, then
   unloads it again: 0 when usable, else -1 with a full sentence in `message` (always terminated). */
CCURL_API int ccurl_check_library(const char *file, char *message, size_t size);

/* The libcurl functions the clients use, through the loaded table. */
CCURL_API CURL *ccurl_easy_init(void);
CCURL_API void ccurl_easy_cleanup(CURL *handle);
CCURL_API void ccurl_easy_reset(CURL *handle);
CCURL_API CURLcode ccurl_easy_perform(CURL *handle);
CCURL_API const char *ccurl_easy_strerror(CURLcode code);
CCURL_API struct curl_slist *ccurl_slist_append(struct curl_slist *list, const char *line);
CCURL_API void ccurl_slist_free_all(struct curl_slist *list);
CCURL_API curl_version_info_data *ccurl_version_info(void);

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: one typed wrapper
   per argument kind the clients pass. */

/* A CURLOPT_WRITEFUNCTION / CURLOPT_HEADERFUNCTION callback. */
typedef size_t (*ccurl_data_callback)(char *data, size_t size, size_t count, void *context);
/* A CURLOPT_XFERINFOFUNCTION callback: the gRPC client polls its cancellation check from it
   (non-zero aborts the transfer with CURLE_ABORTED_BY_CALLBACK). */
typedef int (*ccurl_xferinfo_callback)(void *context, curl_off_t download_total, curl_off_t download_now,
                                       curl_off_t upload_total, curl_off_t upload_now);

CCURL_API CURLcode ccurl_set_long(CURL *handle, CURLoption option, long value);
CCURL_API CURLcode ccurl_set_offset(CURL *handle, CURLoption option, curl_off_t value);
/* Strings are copied by libcurl (except CURLOPT_POSTFIELDS, which the clients do not use). */
CCURL_API CURLcode ccurl_set_string(CURL *handle, CURLoption option, const char *value);
CCURL_API CURLcode ccurl_set_pointer(CURL *handle, CURLoption option, void *value);
CCURL_API CURLcode ccurl_set_list(CURL *handle, CURLoption option, struct curl_slist *value);
CCURL_API CURLcode ccurl_set_callback(CURL *handle, CURLoption option, ccurl_data_callback value);
CCURL_API CURLcode ccurl_set_xferinfo(CURL *handle, ccurl_xferinfo_callback value);
CCURL_API CURLcode ccurl_get_long(CURL *handle, CURLINFO info, long *value);
/* CURLINFO_ACTIVESOCKET writes a curl_socket_t: whether the last transfer's connection is still in
   the handle's cache (the gRPC client's h2c reuse decision). */
CCURL_API CURLcode ccurl_get_socket(CURL *handle, CURLINFO info, curl_socket_t *value);

/* CURL_ERROR_SIZE is a macro Swift does not import reliably. */
CCURL_API int ccurl_error_size(void);

#endif
