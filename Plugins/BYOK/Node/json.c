/*
 * json.c — the helper's only JSON: a writer with string escaping, and the two verb outcomes.
 * No parser: every input arrives through argv, and meta is a key=value file of our own.
 */
#include "node.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

static void jb_grow(struct jbuf *b, size_t more) {
    if (b->len + more + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        /* Out of memory while building an answer: the one line we can still print. */
        fputs("{\"ok\":false,\"code\":\"internal\",\"message\":\"The node helper ran out of memory.\"}\n", stdout);
        exit(0);
    }
    b->p = p;
    b->cap = cap;
}

static void jb_add(struct jbuf *b, const char *s, size_t n) {
    jb_grow(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void jb_raw(struct jbuf *b, const char *s) { jb_add(b, s, strlen(s)); }

static void jb_escape(struct jbuf *b, const char *s, size_t n, int keep_utf8) {
    jb_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"') jb_add(b, "\\\"", 2);
        else if (c == '\\') jb_add(b, "\\\\", 2);
        else if (c == '\n') jb_add(b, "\\n", 2);
        else if (c == '\t') jb_add(b, "\\t", 2);
        else if (c == '\r') jb_add(b, "\\r", 2);
        else if (c < 0x20 || c == 0x7f) { snprintf(esc, sizeof esc, "\\u%04x", c); jb_add(b, esc, 6); }
        else if (c >= 0x80 && !keep_utf8) jb_add(b, "?", 1); /* our messages are ASCII; never emit invalid UTF-8 */
        else jb_add(b, (const char *)&c, 1);
    }
    jb_add(b, "\"", 1);
}

void jb_strn(struct jbuf *b, const char *s, size_t n) { jb_escape(b, s, n, 0); }

void jb_strn_utf8(struct jbuf *b, const char *s, size_t n) { jb_escape(b, s, n, 1); }

void jb_str(struct jbuf *b, const char *s) { jb_strn(b, s, strlen(s)); }

void jb_i64(struct jbuf *b, long long v) {
    char num[32];
    int n = snprintf(num, sizeof num, "%lld", v);
    jb_add(b, num, (size_t)n);
}

void jb_key(struct jbuf *b, const char *k) {
    if (b->len && b->p[b->len - 1] != '{' && b->p[b->len - 1] != '[') jb_add(b, ",", 1);
    jb_str(b, k);
    jb_add(b, ":", 1);
}

void jb_free(struct jbuf *b) { free(b->p); b->p = NULL; b->len = b->cap = 0; }

void out_ok(const char *rest) {
    fputs("{\"ok\":true", stdout);
    fputs(rest ? rest : "", stdout);
    fputs("}\n", stdout);
    fflush(stdout);
}

void out_err(const struct node_err *e) {
    struct jbuf b = { 0 };
    jb_raw(&b, "{\"ok\":false");
    jb_key(&b, "code");
    jb_str(&b, e->code ? e->code : "internal");
    jb_key(&b, "message");
    jb_str(&b, e->msg[0] ? e->msg : "The node helper failed without a message.");
    jb_raw(&b, "}\n");
    fputs(b.p, stdout);
    fflush(stdout);
    jb_free(&b);
}

int nfail(struct node_err *e, const char *code, const char *fmt, ...) {
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int nfail_errno(struct node_err *e, const char *what, const char *path) {
    int err = errno;
    const char *code = (err == ENOSPC || err == EDQUOT) ? "quota" : "internal";
    return nfail(e, code, "%s %s failed: %s.", what, path, strerror(err));
}
