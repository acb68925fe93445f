/*
 * sbx_helper.c — see sbx_helper.h. Vendor both files; compile this one with your plugin:
 *   cc -shared -fPIC -I <dir of sandboxer_plugin.h> -I <dir of sbx_helper.h> -o libx.so x.c sbx_helper.c
 *
 * Every reader takes (pointer, length) and checks each index against the length before reading:
 * nothing here trusts a NUL terminator or well-formed input.
 */
#include "sbx_helper.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- scanning ------------------------------------------------------------------------------ */

static size_t skip_ws(const uint8_t *p, size_t len, size_t i) {
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) i++;
    return i;
}

static int hex_value(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Four hex digits at p[i]; 0 when there are not four in bounds. */
static int read_hex4(const uint8_t *p, size_t len, size_t i, uint32_t *out) {
    if (i > len || len - i < 4) return 0;
    uint32_t v = 0;
    for (size_t k = 0; k < 4; k++) {
        int h = hex_value(p[i + k]);
        if (h < 0) return 0;
        v = (v << 4) | (uint32_t)h;
    }
    *out = v;
    return 1;
}

/* Length of the valid UTF-8 sequence at p[i] (1…4), or 0: overlong forms, surrogates and code points
 * above U+10FFFF are invalid, as RFC 3629 says. */
static size_t utf8_sequence(const uint8_t *p, size_t len, size_t i) {
    uint8_t c = p[i];
    if (c < 0x80) return 1;
    size_t n;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1Fu; min = 0x80; }
    else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0Fu; min = 0x800; }
    else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07u; min = 0x10000; }
    else return 0;
    if (len - i < n) return 0;
    for (size_t k = 1; k < n; k++) {
        if ((p[i + k] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i + k] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

static size_t utf8_encode(uint32_t cp, uint8_t out[4]) {
    if (cp < 0x80) { out[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) { out[0] = (uint8_t)(0xC0 | (cp >> 6)); out[1] = (uint8_t)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12)); out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F)); return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18)); out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (uint8_t)(0x80 | (cp & 0x3F)); return 4;
}

/*
 * Decodes one character of a string body at p[*i] into `out` (`*n` bytes of UTF-8), or sets *done at
 * the closing quote (consuming it). Escapes are decoded; \uD83D\uDE00 pairs become one character; a
 * lone surrogate, a bad escape, a raw control character or invalid UTF-8 is SBXH_MALFORMED.
 */
static int string_char(const uint8_t *p, size_t len, size_t *i, uint8_t out[4], size_t *n, int *done) {
    if (*i >= len) return SBXH_MALFORMED;
    uint8_t c = p[*i];
    if (c == '"') { *done = 1; (*i)++; return SBXH_OK; }
    if (c < 0x20) return SBXH_MALFORMED;
    if (c != '\\') {
        size_t k = utf8_sequence(p, len, *i);
        if (k == 0) return SBXH_MALFORMED;
        memcpy(out, p + *i, k);
        *n = k;
        *i += k;
        return SBXH_OK;
    }
    if (len - *i < 2) return SBXH_MALFORMED;
    c = p[*i + 1];
    *i += 2;
    *n = 1;
    switch (c) {
    case '"': case '\\': case '/': out[0] = c; return SBXH_OK;
    case 'b': out[0] = '\b'; return SBXH_OK;
    case 'f': out[0] = '\f'; return SBXH_OK;
    case 'n': out[0] = '\n'; return SBXH_OK;
    case 'r': out[0] = '\r'; return SBXH_OK;
    case 't': out[0] = '\t'; return SBXH_OK;
    case 'u': break;
    default: return SBXH_MALFORMED;
    }
    uint32_t cp;
    if (!read_hex4(p, len, *i, &cp)) return SBXH_MALFORMED;
    *i += 4;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return SBXH_MALFORMED;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        uint32_t low;
        if (len - *i < 6 || p[*i] != '\\' || p[*i + 1] != 'u' || !read_hex4(p, len, *i + 2, &low) ||
            low < 0xDC00 || low > 0xDFFF)
            return SBXH_MALFORMED;
        *i += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    *n = utf8_encode(cp, out);
    return SBXH_OK;
}

static int skip_string(const uint8_t *p, size_t len, size_t *i) {
    if (*i >= len || p[*i] != '"') return SBXH_MALFORMED;
    (*i)++;
    for (;;) {
        uint8_t b[4];
        size_t n;
        int done = 0;
        int st = string_char(p, len, i, b, &n, &done);
        if (st != SBXH_OK) return st;
        if (done) return SBXH_OK;
    }
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static int skip_number(const uint8_t *p, size_t len, size_t *i) {
    size_t j = *i;
    if (j < len && p[j] == '-') j++;
    if (j >= len) return SBXH_MALFORMED;
    if (p[j] == '0') j++;
    else if (p[j] >= '1' && p[j] <= '9') { while (j < len && is_digit(p[j])) j++; }
    else return SBXH_MALFORMED;
    if (j < len && p[j] == '.') {
        j++;
        if (j >= len || !is_digit(p[j])) return SBXH_MALFORMED;
        while (j < len && is_digit(p[j])) j++;
    }
    if (j < len && (p[j] == 'e' || p[j] == 'E')) {
        j++;
        if (j < len && (p[j] == '+' || p[j] == '-')) j++;
        if (j >= len || !is_digit(p[j])) return SBXH_MALFORMED;
        while (j < len && is_digit(p[j])) j++;
    }
    *i = j;
    return SBXH_OK;
}

static int skip_literal(const uint8_t *p, size_t len, size_t *i, const char *word) {
    size_t n = strlen(word);
    if (len - *i < n || memcmp(p + *i, word, n) != 0) return SBXH_MALFORMED;
    *i += n;
    return SBXH_OK;
}

/* Skips one value at p[*i] (no leading whitespace), containers nested at most `room` deep. */
static int skip_value(const uint8_t *p, size_t len, size_t *i, int room) {
    if (*i >= len) return SBXH_MALFORMED;
    uint8_t c = p[*i];
    if (c == '"') return skip_string(p, len, i);
    if (c == 't') return skip_literal(p, len, i, "true");
    if (c == 'f') return skip_literal(p, len, i, "false");
    if (c == 'n') return skip_literal(p, len, i, "null");
    if (c == '-' || is_digit(c)) return skip_number(p, len, i);
    if (c != '{' && c != '[') return SBXH_MALFORMED;
    if (room <= 0) return SBXH_MALFORMED;
    uint8_t close = c == '{' ? '}' : ']';
    size_t j = skip_ws(p, len, *i + 1);
    if (j < len && p[j] == close) { *i = j + 1; return SBXH_OK; }
    for (;;) {
        if (c == '{') {
            int st = skip_string(p, len, &j);
            if (st != SBXH_OK) return st;
            j = skip_ws(p, len, j);
            if (j >= len || p[j] != ':') return SBXH_MALFORMED;
            j = skip_ws(p, len, j + 1);
        }
        int st = skip_value(p, len, &j, room - 1);
        if (st != SBXH_OK) return st;
        j = skip_ws(p, len, j);
        if (j >= len) return SBXH_MALFORMED;
        if (p[j] == close) { *i = j + 1; return SBXH_OK; }
        if (p[j] != ',') return SBXH_MALFORMED;
        j = skip_ws(p, len, j + 1);
    }
}

/* ---- JSON reading ------------------------------------------------------------------------- */

int sbxh_json_parse(const uint8_t *text, size_t len, sbxh_json *out) {
    if (text == NULL || out == NULL) return SBXH_MALFORMED;
    size_t i = skip_ws(text, len, 0);
    size_t start = i;
    int st = skip_value(text, len, &i, SBXH_MAX_DEPTH);
    if (st != SBXH_OK) return st;
    size_t end = i;
    if (skip_ws(text, len, i) != len) return SBXH_MALFORMED;
    out->ptr = text + start;
    out->len = end - start;
    return SBXH_OK;
}

sbxh_type sbxh_json_type(sbxh_json v) {
    if (v.ptr == NULL || v.len == 0) return SBXH_TYPE_INVALID;
    switch (v.ptr[0]) {
    case '{': return SBXH_TYPE_OBJECT;
    case '[': return SBXH_TYPE_ARRAY;
    case '"': return SBXH_TYPE_STRING;
    case 't': case 'f': return SBXH_TYPE_BOOL;
    case 'n': return SBXH_TYPE_NULL;
    default: return (v.ptr[0] == '-' || is_digit(v.ptr[0])) ? SBXH_TYPE_NUMBER : SBXH_TYPE_INVALID;
    }
}

int sbxh_json_next(sbxh_json c, size_t *cursor, sbxh_json *key, sbxh_json *value) {
    sbxh_type type = sbxh_json_type(c);
    if (cursor == NULL || value == NULL) return SBXH_MALFORMED;
    if (type != SBXH_TYPE_OBJECT && type != SBXH_TYPE_ARRAY) return type == SBXH_TYPE_INVALID ? SBXH_MALFORMED : SBXH_WRONG_TYPE;
    const uint8_t *p = c.ptr;
    size_t len = c.len, i = *cursor;
    uint8_t close = type == SBXH_TYPE_OBJECT ? '}' : ']';
    if (i >= len) return SBXH_ABSENT; /* walked past the end already */
    /* 0: before the first element; otherwise just after the previous element's value. */
    i = skip_ws(p, len, i == 0 ? 1 : i);
    if (i >= len) return SBXH_MALFORMED;
    if (p[i] == close) { *cursor = len; return SBXH_ABSENT; }
    if (*cursor != 0) {
        if (p[i] != ',') return SBXH_MALFORMED;
        i = skip_ws(p, len, i + 1);
    }
    if (type == SBXH_TYPE_OBJECT) {
        size_t k = i;
        int st = skip_string(p, len, &i);
        if (st != SBXH_OK) return st;
        if (key != NULL) { key->ptr = p + k; key->len = i - k; }
        i = skip_ws(p, len, i);
        if (i >= len || p[i] != ':') return SBXH_MALFORMED;
        i = skip_ws(p, len, i + 1);
    }
    size_t v = i;
    int st = skip_value(p, len, &i, SBXH_MAX_DEPTH);
    if (st != SBXH_OK) return st;
    if (i >= len) return SBXH_MALFORMED; /* a container always ends with its closing bracket */
    value->ptr = p + v;
    value->len = i - v;
    *cursor = i;
    return SBXH_OK;
}

/* Whether the string value `k` decodes to exactly the NUL-terminated `key`. */
static int key_equals(sbxh_json k, const char *key, int *equal) {
    size_t i = 1, pos = 0, want = strlen(key);
    *equal = 1;
    for (;;) {
        uint8_t b[4];
        size_t n;
        int done = 0;
        int st = string_char(k.ptr, k.len, &i, b, &n, &done);
        if (st != SBXH_OK) return st;
        if (done) break;
        if (*equal && (want - pos < n || memcmp(key + pos, b, n) != 0)) *equal = 0;
        if (*equal) pos += n;
    }
    if (pos != want) *equal = 0;
    return SBXH_OK;
}

int sbxh_json_get(sbxh_json object, const char *key, sbxh_json *value) {
    if (key == NULL || value == NULL) return SBXH_MALFORMED;
    if (sbxh_json_type(object) != SBXH_TYPE_OBJECT)
        return sbxh_json_type(object) == SBXH_TYPE_INVALID ? SBXH_MALFORMED : SBXH_WRONG_TYPE;
    size_t cursor = 0;
    for (;;) {
        sbxh_json k, v;
        int st = sbxh_json_next(object, &cursor, &k, &v);
        if (st != SBXH_OK) return st;
        int equal;
        st = key_equals(k, key, &equal);
        if (st != SBXH_OK) return st;
        if (equal) { *value = v; return SBXH_OK; }
    }
}

int sbxh_json_path(sbxh_json root, const char *path, sbxh_json *value) {
    if (path == NULL || value == NULL) return SBXH_MALFORMED;
    sbxh_json at = root;
    for (;;) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        char segment[256];
        if (n >= sizeof segment) return SBXH_TOO_LARGE;
        memcpy(segment, path, n);
        segment[n] = '\0';
        int st = sbxh_json_get(at, segment, &at);
        if (st != SBXH_OK) return st;
        if (dot == NULL) { *value = at; return SBXH_OK; }
        path = dot + 1;
    }
}

int sbxh_json_string(sbxh_json v, char *buf, size_t cap, size_t *out_len) {
    if (buf != NULL && cap > 0) buf[0] = '\0';
    sbxh_type type = sbxh_json_type(v);
    if (type == SBXH_TYPE_NULL) return SBXH_ABSENT;
    if (type != SBXH_TYPE_STRING) return type == SBXH_TYPE_INVALID ? SBXH_MALFORMED : SBXH_WRONG_TYPE;
    if (buf == NULL || cap == 0) return SBXH_TOO_LARGE;
    size_t i = 1, pos = 0;
    for (;;) {
        uint8_t b[4];
        size_t n;
        int done = 0;
        int st = string_char(v.ptr, v.len, &i, b, &n, &done);
        if (st != SBXH_OK) { buf[0] = '\0'; return st; }
        if (done) break;
        if (n == 1 && b[0] == 0) { buf[0] = '\0'; return SBXH_UNSUPPORTED; }
        if (cap - 1 - pos < n) { buf[0] = '\0'; return SBXH_TOO_LARGE; }
        memcpy(buf + pos, b, n);
        pos += n;
    }
    if (i != v.len) { buf[0] = '\0'; return SBXH_MALFORMED; }
    buf[pos] = '\0';
    if (out_len != NULL) *out_len = pos;
    return SBXH_OK;
}

int sbxh_json_int(sbxh_json v, int64_t *out) {
    sbxh_type type = sbxh_json_type(v);
    if (type == SBXH_TYPE_NULL) return SBXH_ABSENT;
    if (type != SBXH_TYPE_NUMBER) return type == SBXH_TYPE_INVALID ? SBXH_MALFORMED : SBXH_WRONG_TYPE;
    size_t end = 0;
    if (skip_number(v.ptr, v.len, &end) != SBXH_OK || end != v.len) return SBXH_MALFORMED;
    size_t i = 0;
    int negative = v.ptr[0] == '-';
    if (negative) i++;
    /* The magnitude limit: 2^63 for a negative number, 2^63 - 1 for a positive one. */
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX, magnitude = 0;
    for (; i < v.len; i++) {
        if (!is_digit(v.ptr[i])) return SBXH_WRONG_TYPE; /* a fraction or an exponent */
        uint64_t d = (uint64_t)(v.ptr[i] - '0');
        if (magnitude > (limit - d) / 10) return SBXH_TOO_LARGE;
        magnitude = magnitude * 10 + d;
    }
    if (out != NULL) {
        if (negative) *out = magnitude == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)magnitude;
        else *out = (int64_t)magnitude;
    }
    return SBXH_OK;
}

int sbxh_json_bool(sbxh_json v, int *out) {
    sbxh_type type = sbxh_json_type(v);
    if (type == SBXH_TYPE_NULL) return SBXH_ABSENT;
    if (type != SBXH_TYPE_BOOL) return type == SBXH_TYPE_INVALID ? SBXH_MALFORMED : SBXH_WRONG_TYPE;
    if (v.len == 4 && memcmp(v.ptr, "true", 4) == 0) { if (out) *out = 1; return SBXH_OK; }
    if (v.len == 5 && memcmp(v.ptr, "false", 5) == 0) { if (out) *out = 0; return SBXH_OK; }
    return SBXH_MALFORMED;
}

int sbxh_json_base64(sbxh_json v, uint8_t *out, size_t cap, size_t *out_len) {
    sbxh_type type = sbxh_json_type(v);
    if (type == SBXH_TYPE_NULL) return SBXH_ABSENT;
    if (type != SBXH_TYPE_STRING) return type == SBXH_TYPE_INVALID ? SBXH_MALFORMED : SBXH_WRONG_TYPE;
    /* The decoded string is never longer than its JSON form. */
    char *text = malloc(v.len + 1);
    if (text == NULL) return SBXH_TOO_LARGE;
    size_t n = 0;
    int st = sbxh_json_string(v, text, v.len + 1, &n);
    if (st == SBXH_OK) st = sbxh_base64_decode(text, n, out, cap, out_len);
    else if (st == SBXH_UNSUPPORTED) st = SBXH_MALFORMED;
    free(text);
    return st;
}

int sbxh_json_get_string(sbxh_json object, const char *key, char *buf, size_t cap) {
    sbxh_json v;
    int st = sbxh_json_get(object, key, &v);
    if (st != SBXH_OK) { if (buf != NULL && cap > 0) buf[0] = '\0'; return st; }
    return sbxh_json_string(v, buf, cap, NULL);
}

int sbxh_json_get_int(sbxh_json object, const char *key, int64_t *out) {
    sbxh_json v;
    int st = sbxh_json_get(object, key, &v);
    return st != SBXH_OK ? st : sbxh_json_int(v, out);
}

int sbxh_json_get_bool(sbxh_json object, const char *key, int *out) {
    sbxh_json v;
    int st = sbxh_json_get(object, key, &v);
    return st != SBXH_OK ? st : sbxh_json_bool(v, out);
}

/* ---- JSON writing ------------------------------------------------------------------------- */

void sbxh_buf_init(sbxh_buf *b, size_t limit) {
    b->data = NULL;
    b->len = b->cap = 0;
    b->limit = limit ? limit : SBXH_DEFAULT_LIMIT;
    b->failed = 0;
}

/* Makes room for `extra` more bytes; 0 (and the buffer failed) when it cannot. */
static int buf_reserve(sbxh_buf *b, size_t extra) {
    if (b->failed) return 0;
    if (extra > b->limit || b->len > b->limit - extra) { b->failed = 1; return 0; }
    size_t need = b->len + extra;
    if (need <= b->cap) return 1;
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need) cap = cap > b->limit / 2 ? b->limit : cap * 2;
    uint8_t *grown = realloc(b->data, cap);
    if (grown == NULL) { b->failed = 1; return 0; }
    b->data = grown;
    b->cap = cap;
    return 1;
}

void sbxh_buf_append(sbxh_buf *b, const void *bytes, size_t len) {
    if (len == 0 || !buf_reserve(b, len)) return;
    memcpy(b->data + b->len, bytes, len);
    b->len += len;
}

void sbxh_buf_raw(sbxh_buf *b, const char *text) {
    sbxh_buf_append(b, text, strlen(text));
}

void sbxh_buf_string(sbxh_buf *b, const char *text, size_t len) {
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *)text;
    sbxh_buf_append(b, "\"", 1);
    for (size_t i = 0; i < len && !b->failed;) {
        uint8_t c = p[i];
        if (c == '"') { sbxh_buf_append(b, "\\\"", 2); i++; }
        else if (c == '\\') { sbxh_buf_append(b, "\\\\", 2); i++; }
        else if (c < 0x20) {
            const char *named = c == '\n' ? "\\n" : c == '\t' ? "\\t" : c == '\r' ? "\\r" : c == '\b' ? "\\b" : c == '\f' ? "\\f" : NULL;
            if (named != NULL) sbxh_buf_append(b, named, 2);
            else {
                char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                sbxh_buf_append(b, u, sizeof u);
            }
            i++;
        } else {
            size_t n = utf8_sequence(p, len, i);
            if (n == 0) { sbxh_buf_append(b, "\xEF\xBF\xBD", 3); i++; } /* U+FFFD for a bad byte */
            else { sbxh_buf_append(b, p + i, n); i += n; }
        }
    }
    sbxh_buf_append(b, "\"", 1);
}

void sbxh_buf_cstring(sbxh_buf *b, const char *text) {
    sbxh_buf_string(b, text, strlen(text));
}

void sbxh_buf_int(sbxh_buf *b, int64_t value) {
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)value);
    if (n > 0) sbxh_buf_append(b, digits, (size_t)n);
}

void sbxh_buf_bool(sbxh_buf *b, int value) {
    sbxh_buf_raw(b, value ? "true" : "false");
}

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encodes into `out`, which has room for sbxh_base64_encoded_len(len) characters (no NUL). */
static void base64_encode_raw(const uint8_t *in, size_t len, char *out) {
    size_t o = 0, i = 0;
    for (; len - i >= 3; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = '=';
    }
}

void sbxh_buf_base64(sbxh_buf *b, const uint8_t *bytes, size_t len) {
    size_t n = sbxh_base64_encoded_len(len);
    if (n == SIZE_MAX || n > SIZE_MAX - 2) { b->failed = 1; return; }
    if (!buf_reserve(b, n + 2)) return;
    b->data[b->len++] = '"';
    base64_encode_raw(bytes, len, (char *)b->data + b->len);
    b->len += n;
    b->data[b->len++] = '"';
}

void sbxh_buf_free(sbxh_buf *b) {
    if (b == NULL) return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

/* ---- results ------------------------------------------------------------------------------- */

/* The host sets struct_size; a result too small to hold v1.0's fields gets nothing written. */
static int result_writable(const sbx_result *out) {
    return out != NULL && out->struct_size >= SBX_RESULT_V1_0_SIZE;
}

int32_t sbxh_result_json(sbx_result *out, sbxh_buf *body) {
    if (body == NULL || body->failed) {
        sbxh_buf_free(body);
        return sbxh_result_text(out, SBX_INTERNAL,
                                "The plugin's response did not fit in its buffer (out of memory or over its size limit).");
    }
    if (!result_writable(out)) { sbxh_buf_free(body); return SBX_INTERNAL; }
    out->data = body->data;
    out->len = body->len;
    body->data = NULL;
    body->len = body->cap = 0;
    return SBX_OK;
}

int32_t sbxh_result_text(sbx_result *out, int32_t code, const char *message) {
    if (!result_writable(out)) return code == SBX_OK ? SBX_INTERNAL : code;
    size_t len = message ? strlen(message) : 0;
    out->data = malloc(len ? len : 1);
    if (out->data == NULL) {
        out->len = 0;
        /* A success without its response would be garbage; a failure without its message is not. */
        return code == SBX_OK ? SBX_INTERNAL : code;
    }
    if (len) memcpy(out->data, message, len);
    out->len = len;
    return code;
}

int32_t sbxh_result_errorf(sbx_result *out, int32_t code, const char *format, ...) {
    char message[1024];
    va_list args;
    va_start(args, format);
    int n = vsnprintf(message, sizeof message, format, args);
    va_end(args);
    if (n < 0) message[0] = '\0';
    return sbxh_result_text(out, code, message);
}

void sbxh_result_free(sbx_result *result) {
    if (result == NULL) return;
    free(result->data);
    result->data = NULL;
    result->len = 0;
}

int32_t sbxh_cancelled_code(const sbx_host_api *host) {
    if (host != NULL && host->abi_major == SANDBOXER_ABI_MAJOR && host->abi_minor >= SBX_CANCELLED_MIN_HOST_MINOR)
        return SBX_CANCELLED;
    return SBX_UNAVAILABLE;
}

int32_t sbxh_result_cancelled(const sbx_host_api *host, sbx_result *out) {
    return sbxh_result_text(out, sbxh_cancelled_code(host), "The host cancelled the call, so the plugin stopped.");
}

/* ---- base64 -------------------------------------------------------------------------------- */

size_t sbxh_base64_encoded_len(size_t len) {
    size_t groups = len / 3 + (len % 3 != 0);
    return groups > SIZE_MAX / 4 ? SIZE_MAX : groups * 4;
}

int sbxh_base64_encode(const uint8_t *in, size_t len, char *out, size_t cap, size_t *out_len) {
    size_t n = sbxh_base64_encoded_len(len);
    if (n == SIZE_MAX || out == NULL || cap <= n) return SBXH_TOO_LARGE;
    if (len > 0 && in == NULL) return SBXH_MALFORMED;
    base64_encode_raw(in, len, out);
    out[n] = '\0';
    if (out_len != NULL) *out_len = n;
    return SBXH_OK;
}

static int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

int sbxh_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len) {
    if (len % 4 != 0 || (len > 0 && in == NULL)) return SBXH_MALFORMED;
    size_t pad = 0;
    if (len > 0 && in[len - 1] == '=') pad = (in[len - 2] == '=') ? 2 : 1;
    size_t need = len / 4 * 3 - pad;
    if (need > 0 && (out == NULL || cap < need)) return SBXH_TOO_LARGE;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        int v[4];
        for (size_t k = 0; k < 4; k++) {
            /* '=' only as the trailing padding of the last quad: b64_value refuses it elsewhere. */
            if (last && k >= 4 - pad) { v[k] = 0; continue; }
            v[k] = b64_value(in[i + k]);
            if (v[k] < 0) return SBXH_MALFORMED;
        }
        /* Unused bits must be zero, so each byte string has exactly one accepted encoding. */
        if (last && pad == 2 && (v[1] & 0x0F) != 0) return SBXH_MALFORMED;
        if (last && pad == 1 && (v[2] & 0x03) != 0) return SBXH_MALFORMED;
        uint32_t bits = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        size_t bytes = last ? 3 - pad : 3;
        out[o++] = (uint8_t)(bits >> 16);
        if (bytes > 1) out[o++] = (uint8_t)(bits >> 8);
        if (bytes > 2) out[o++] = (uint8_t)bits;
    }
    if (out_len != NULL) *out_len = o;
    return SBXH_OK;
}
