/*
 * sbx_helper.h — a small, optional helper for sandboxer plugins written in C.
 *
 * Vendor it: copy sbx_helper.h and sbx_helper.c into your plugin next to sandboxer_plugin.h and
 * compile sbx_helper.c with it. It needs only libc, allocates only with malloc/free, keeps no global
 * state, and every function is thread-safe. It is not part of the ABI and not compiled into the host.
 *
 * What it gives you:
 *  - JSON reading: find a field by key (or dotted path) in an object, read it as a string, an
 *    integer or a bool, walk arrays and objects. Every read is bounded by the input's length, the
 *    caller's buffer and a nesting limit, and refuses malformed input instead of guessing.
 *  - JSON writing: a growable buffer with a size limit, escaped strings, integers, bools, base64.
 *  - base64 (RFC 4648, standard alphabet, padded, strict) encoding and decoding.
 *  - Results that follow the header's ownership rules: bytes malloc'd here, freed by
 *    `sbxh_result_free` (use it as the table's `result_free`).
 */
#ifndef SBX_HELPER_H
#define SBX_HELPER_H

#include "sandboxer_plugin.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What a helper call found. */
typedef enum sbxh_status {
    /** Done: the value was found and fits. */
    SBXH_OK = 0,
    /** No such key (or the end of an array/object when iterating), or the value is null: absent and
     *  null mean the same in sandboxer's messages. */
    SBXH_ABSENT = 1,
    /** The value exists but has another JSON type (or is a number that is not an integer). */
    SBXH_WRONG_TYPE = 2,
    /** The value does not fit: a string longer than the buffer, an integer outside int64_t. */
    SBXH_TOO_LARGE = 3,
    /** The input is not well-formed JSON (or base64), or nests deeper than SBXH_MAX_DEPTH. */
    SBXH_MALFORMED = 4,
    /** Well-formed, but not representable as asked: a string holding U+0000 cannot be a C string. */
    SBXH_UNSUPPORTED = 5
} sbxh_status;

/** The JSON types. */
typedef enum sbxh_type {
    SBXH_TYPE_INVALID = 0,
    SBXH_TYPE_NULL,
    SBXH_TYPE_BOOL,
    SBXH_TYPE_NUMBER,
    SBXH_TYPE_STRING,
    SBXH_TYPE_ARRAY,
    SBXH_TYPE_OBJECT
} sbxh_type;

/** Deepest nesting of arrays and objects the reader accepts. */
#define SBXH_MAX_DEPTH 64
/** Size limit of a writer buffer initialised with limit 0: 16 MiB. */
#define SBXH_DEFAULT_LIMIT ((size_t)16 << 20)

/* ---- JSON reading ------------------------------------------------------------------------- */

/** One JSON value inside a document the caller owns: `len` bytes at `ptr`, no whitespace around. */
typedef struct sbxh_json {
    const uint8_t *ptr;
    size_t len;
} sbxh_json;

/**
 * Checks that `len` bytes at `text` are exactly one well-formed JSON value (whitespace around it is
 * allowed) and stores that value in `*out`. Returns SBXH_OK or SBXH_MALFORMED. Start every read
 * here: the request bytes a plugin receives are untrusted until this says otherwise.
 */
int sbxh_json_parse(const uint8_t *text, size_t len, sbxh_json *out);

/** The type of a value (SBXH_TYPE_INVALID for an empty or broken one). */
sbxh_type sbxh_json_type(sbxh_json value);

/**
 * Finds the member `key` (a NUL-terminated UTF-8 string, compared after decoding the member name's
 * escapes) of an object. With duplicate keys the first wins. SBXH_ABSENT when missing (a null value
 * is returned as found: the typed readers below turn it into SBXH_ABSENT), SBXH_WRONG_TYPE when
 * `object` is not an object.
 */
int sbxh_json_get(sbxh_json object, const char *key, sbxh_json *value);

/** Like sbxh_json_get through nested objects: "resources.memory_bytes". Keys with '.' need sbxh_json_get. */
int sbxh_json_path(sbxh_json root, const char *dotted_path, sbxh_json *value);

/**
 * Decodes a string value into `buf` (`cap` bytes, NUL-terminated) and stores its length without the
 * NUL in `*out_len` (may be NULL). SBXH_TOO_LARGE when it needs more than `cap - 1` bytes,
 * SBXH_UNSUPPORTED when it holds U+0000, SBXH_ABSENT for null.
 */
int sbxh_json_string(sbxh_json value, char *buf, size_t cap, size_t *out_len);

/** Reads an integer: `-?digits` only (no fraction, no exponent: SBXH_WRONG_TYPE), within int64_t. */
int sbxh_json_int(sbxh_json value, int64_t *out);

/** Reads true (1) or false (0). */
int sbxh_json_bool(sbxh_json value, int *out);

/**
 * Decodes a string value holding base64 (JSON escapes such as "\/" are decoded first) into `out`
 * (`cap` bytes); `*out_len` gets the byte count. SBXH_MALFORMED for bad base64.
 */
int sbxh_json_base64(sbxh_json value, uint8_t *out, size_t cap, size_t *out_len);

/**
 * Walks an array or an object. Start with `*cursor = 0`; each SBXH_OK gives the next element in
 * `*value` (and, for an object, its member name as a string value in `*key`, which may be NULL).
 * SBXH_ABSENT after the last element.
 */
int sbxh_json_next(sbxh_json container, size_t *cursor, sbxh_json *key, sbxh_json *value);

/** sbxh_json_get then sbxh_json_string. */
int sbxh_json_get_string(sbxh_json object, const char *key, char *buf, size_t cap);
/** sbxh_json_get then sbxh_json_int. */
int sbxh_json_get_int(sbxh_json object, const char *key, int64_t *out);
/** sbxh_json_get then sbxh_json_bool. */
int sbxh_json_get_bool(sbxh_json object, const char *key, int *out);

/* ---- JSON writing ------------------------------------------------------------------------- */

/**
 * A growable byte buffer. Once an append fails (out of memory, or `limit` would be passed) the
 * buffer is `failed`: later appends do nothing and sbxh_result_json answers SBX_INTERNAL, so a
 * writer checks once at the end instead of after every call.
 */
typedef struct sbxh_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t limit;
    int failed;
} sbxh_buf;

/** An empty buffer that will hold at most `limit` bytes (0: SBXH_DEFAULT_LIMIT). */
void sbxh_buf_init(sbxh_buf *buf, size_t limit);
/** Appends bytes as they are. */
void sbxh_buf_append(sbxh_buf *buf, const void *bytes, size_t len);
/** Appends trusted JSON text as it is (punctuation, a literal): never data from outside. */
void sbxh_buf_raw(sbxh_buf *buf, const char *text);
/**
 * Appends `len` bytes as a quoted JSON string: '"' and '\' escaped, control characters as \n, \t…
 * or \u00XX, and every byte sequence that is not valid UTF-8 replaced by U+FFFD, so the output is
 * always valid JSON whatever the input.
 */
void sbxh_buf_string(sbxh_buf *buf, const char *text, size_t len);
/** sbxh_buf_string of a NUL-terminated string. */
void sbxh_buf_cstring(sbxh_buf *buf, const char *text);
/** Appends a decimal integer. */
void sbxh_buf_int(sbxh_buf *buf, int64_t value);
/** Appends true or false. */
void sbxh_buf_bool(sbxh_buf *buf, int value);
/** Appends `len` bytes base64-encoded, as a quoted JSON string. */
void sbxh_buf_base64(sbxh_buf *buf, const uint8_t *bytes, size_t len);
/** Frees the bytes and empties the buffer (it can be used again). */
void sbxh_buf_free(sbxh_buf *buf);

/* ---- results ------------------------------------------------------------------------------- */

/**
 * Hands the JSON in `body` to `out` (no copy; `body` is left empty) and returns SBX_OK. If `body`
 * failed, frees it and answers SBX_INTERNAL with a message instead. Writes nothing into a result
 * whose `struct_size` is below SBX_RESULT_V1_0_SIZE.
 */
int32_t sbxh_result_json(sbx_result *out, sbxh_buf *body);
/** Copies `message` (one sentence, no secrets) into `out` and returns `code`. */
int32_t sbxh_result_text(sbx_result *out, int32_t code, const char *message);
/** printf-style sbxh_result_text; the message is cut at 1023 bytes. */
int32_t sbxh_result_errorf(sbx_result *out, int32_t code, const char *format, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/** Releases what the functions above put in a result; accepts NULL data. Use it as `result_free`. */
void sbxh_result_free(sbx_result *result);

/** The code for a call the host cancelled: SBX_CANCELLED for a host that knows it, else SBX_UNAVAILABLE. */
int32_t sbxh_cancelled_code(const sbx_host_api *host);
/** Answers a cancelled call: sbxh_cancelled_code with a message saying the host cancelled it. */
int32_t sbxh_result_cancelled(const sbx_host_api *host, sbx_result *out);

/* ---- base64 -------------------------------------------------------------------------------- */

/** Characters base64 needs for `len` bytes, without a NUL (SIZE_MAX if that overflows). */
size_t sbxh_base64_encoded_len(size_t len);
/**
 * Encodes `len` bytes into `out` (`cap` bytes, NUL-terminated); `*out_len` (may be NULL) gets the
 * character count. SBXH_TOO_LARGE when `cap` is below sbxh_base64_encoded_len(len) + 1.
 */
int sbxh_base64_encode(const uint8_t *in, size_t len, char *out, size_t cap, size_t *out_len);
/**
 * Decodes `len` characters into `out` (`cap` bytes); `*out_len` gets the byte count. Strict: the
 * standard alphabet, '=' padding to a multiple of 4, no whitespace, and zero unused bits (only the
 * canonical encoding of each byte string is accepted); anything else is SBXH_MALFORMED.
 * SBXH_TOO_LARGE when `cap` is too small.
 */
int sbxh_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* SBX_HELPER_H */
