/*
 * labels.c — a sandbox's labels (create --label K=V): checked, kept in <sandbox>/labels next to meta,
 * and returned by inventory. They carry the host's ownership proof (sandboxer.host, .sandbox,
 * .profile), which is why reap-stale can tell our orphans from a foreign sandbox.
 */
#include "node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* True when s[0..n) is well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF),
 * so inventory can pass labels through as JSON text unchanged. */
static int utf8_valid(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > n) return 0;
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        i += len;
    }
    return 1;
}

/* Checks one K=V: a name of 1..63 bytes without '=', a value of at most 256 bytes, and no control
 * characters in either (they would survive into JSON as escapes but mean nothing to a label).
 * Never echoes the value. */
int label_valid(const char *kv, struct node_err *e) {
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) return nfail(e, "invalid_request", "--label takes NAME=VALUE with a non-empty NAME.");
    size_t klen = (size_t)(eq - kv), vlen = strlen(eq + 1);
    if (klen > NODE_MAX_LABEL_KEY)
        return nfail(e, "invalid_request", "A label name is longer than %d bytes.", NODE_MAX_LABEL_KEY);
    if (vlen > NODE_MAX_LABEL_VALUE)
        return nfail(e, "invalid_request", "The value of label %.*s is longer than %d bytes.", (int)klen, kv, NODE_MAX_LABEL_VALUE);
    for (const unsigned char *c = (const unsigned char *)kv; *c; c++)
        if (*c < 0x20 || *c == 0x7f) return nfail(e, "invalid_request", "A label holds a control character.");
    if (!utf8_valid((const unsigned char *)kv, klen + 1 + vlen)) return nfail(e, "invalid_request", "A label is not valid UTF-8.");
    return 0;
}

static int by_text(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts the labels in place (the plugin's order must not change the fingerprint) and refuses a name
 * given twice. */
int labels_canonical(const char **kv, int count, struct node_err *e) {
    qsort(kv, (size_t)count, sizeof *kv, by_text);
    for (int i = 1; i < count; i++) {
        size_t a = strcspn(kv[i - 1], "="), b = strcspn(kv[i], "=");
        if (a == b && !memcmp(kv[i - 1], kv[i], a))
            return nfail(e, "invalid_request", "The label %.*s is given twice.", (int)a, kv[i]);
    }
    return 0;
}

/* Writes <dir>/labels: the K=V entries, each ended by NUL (a value may hold anything but controls). */
int labels_save(const char *dir, const char *const *kv, int count, struct node_err *e) {
    char path[NODE_PATH];
    struct jbuf b = { 0 };
    if (path_join(path, dir, "labels", e) < 0) return -1;
    for (int i = 0; i < count; i++) { jb_raw(&b, kv[i]); b.len++; /* keep the NUL */ }
    int rc = write_file_atomic(path, b.p ? b.p : "", b.len, 0644, e);
    jb_free(&b);
    return rc;
}

/* Appends ,"labels":{…} for the sandbox in dir; a sandbox made before labels existed (or whose file
 * is unreadable) gets an empty object, so the field is always there. */
void labels_json(struct jbuf *b, const char *dir) {
    char path[NODE_PATH], text[NODE_MAX_LABELS * (NODE_MAX_LABEL_KEY + NODE_MAX_LABEL_VALUE + 2) + 1];
    struct node_err ignored;
    jb_key(b, "labels");
    jb_raw(b, "{");
    ssize_t n = path_join(path, dir, "labels", &ignored) < 0 ? -1 : read_small(path, text, sizeof text);
    for (ssize_t at = 0; n > 0 && at < n;) {
        const char *kv = text + at;
        size_t len = strnlen(kv, (size_t)(n - at));
        const char *eq = memchr(kv, '=', len);
        if (eq && eq != kv) {
            if (b->p[b->len - 1] != '{') jb_raw(b, ",");
            jb_strn_utf8(b, kv, (size_t)(eq - kv)); /* checked by label_valid when stored */
            jb_raw(b, ":");
            jb_strn_utf8(b, eq + 1, len - (size_t)(eq - kv) - 1);
        }
        at += (ssize_t)len + 1;
    }
    jb_raw(b, "}");
}
