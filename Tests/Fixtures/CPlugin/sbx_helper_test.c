/*
 * sbx_helper_test.c — unit tests of the vendorable C helper (Sources/PluginABI/contrib/sbx_helper.c).
 * Compiled and run by Tests/HostTests/ABIHelperTests.swift (with AddressSanitizer when the compiler
 * has it). Every input is copied into a heap block of exactly its length with no NUL after it, so a
 * read past the end is caught by the sanitizer. Prints one line per failed check and exits 1 if any.
 */
#include "sbx_helper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;
static int checks;

#define CHECK(cond) do { checks++; if (!(cond)) { failures++; \
    fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); checks++; if (a_ != b_) { failures++; \
    fprintf(stderr, "FAIL %s:%d: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, #a, #b, a_, b_); } } while (0)

/* Inputs live in exact-size heap blocks, freed at the end (the leak checker sees them go). */
static void *blocks[4096];
static size_t block_count;

static const uint8_t *exact(const void *bytes, size_t len) {
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL || block_count == sizeof blocks / sizeof blocks[0]) { fprintf(stderr, "out of test memory\n"); exit(2); }
    memcpy(copy, bytes, len);
    blocks[block_count++] = copy;
    return copy;
}

/* Parses `text` (as an exact-size block); SBXH_MALFORMED values are reported by the caller. */
static int parse(const char *text, sbxh_json *out) {
    size_t len = strlen(text);
    return sbxh_json_parse(exact(text, len), len, out);
}

static sbxh_json doc(const char *text) {
    sbxh_json v = {NULL, 0};
    int st = parse(text, &v);
    if (st != SBXH_OK) { failures++; fprintf(stderr, "FAIL: fixture does not parse: %s\n", text); }
    return v;
}

static void test_parse(void) {
    sbxh_json v;
    const char *good[] = {
        "{}", "[]", " {\"a\" : [1, -2.5e+3, true, false, null, \"x\"]} \n", "0", "-0", "\"\"", "1E9", "[[],{}]",
        "{\"a\":{\"b\":{\"c\":[0.5]}}}", "\"\\u00e9\\ud83d\\ude00\"", "\"caf\xc3\xa9\"",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int st = parse(good[i], &v);
        if (st != SBXH_OK) { failures++; fprintf(stderr, "FAIL: should parse: %s\n", good[i]); }
        checks++;
    }
    const char *bad[] = {
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "{\"a\":1}x", "01", "1.", ".5", "-", "1e",
        "+1", "tru", "nulll", "\"abc", "\"a\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"\\ud83d\"", "\"\\ude00\"",
        "\"\\ud83d\\u0041\"", "\"tab\there\"", "\"\xff\"", "\"\xc0\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"",
        "\"\xe2\x82\"", "[1 2]", "{\"a\":1 \"b\":2}", "[\"a\":1]", "{1:2}", "NaN", "[1]]", "'x'",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st = parse(bad[i], &v);
        if (st != SBXH_MALFORMED) { failures++; fprintf(stderr, "FAIL: should be malformed: %s (got %d)\n", bad[i], st); }
        checks++;
    }
    /* Every proper prefix of a valid document is malformed, and reading it stays in bounds. */
    const char *full = "{\"id\":\"sbx-1\",\"argv\":[\"a\",\"\\u00e9\\n\"],\"n\":-12,\"ok\":true,\"z\":null,\"o\":{\"k\":[]}}";
    for (size_t n = 0; n < strlen(full); n++) {
        CHECK_EQ(sbxh_json_parse(exact(full, n), n, &v), SBXH_MALFORMED);
    }
    CHECK_EQ(parse(full, &v), SBXH_OK);
    CHECK_EQ(sbxh_json_parse(NULL, 0, &v), SBXH_MALFORMED);
}

static void test_depth(void) {
    char deep[2 * (SBXH_MAX_DEPTH + 1) + 1];
    sbxh_json v;
    for (int d = SBXH_MAX_DEPTH; d <= SBXH_MAX_DEPTH + 1; d++) {
        memset(deep, '[', (size_t)d);
        memset(deep + d, ']', (size_t)d);
        deep[2 * d] = '\0';
        CHECK_EQ(parse(deep, &v), d <= SBXH_MAX_DEPTH ? SBXH_OK : SBXH_MALFORMED);
    }
}

static void test_get(void) {
    char buf[64];
    const char *req = "{\"sandbox_id\":\"sbx-1\",\"resources\":{\"cpus\":2,\"memory_bytes\":536870912,\"pids\":null},"
                      "\"labels\":{\"a.b\":\"c\"},\"flag\":false,\"n\":\"7\",\"k\\u0065y\":\"escaped key\",\"dup\":1,\"dup\":2}";
    sbxh_json root = doc(req), v;
    CHECK_EQ(sbxh_json_get_string(root, "sandbox_id", buf, sizeof buf), SBXH_OK);
    CHECK(strcmp(buf, "sbx-1") == 0);
    int64_t n = 0;
    CHECK_EQ(sbxh_json_path(root, "resources.memory_bytes", &v), SBXH_OK);
    CHECK_EQ(sbxh_json_int(v, &n), SBXH_OK);
    CHECK_EQ(n, 536870912);
    CHECK_EQ(sbxh_json_path(root, "resources.pids", &v), SBXH_OK);
    CHECK_EQ(sbxh_json_type(v), SBXH_TYPE_NULL);
    CHECK_EQ(sbxh_json_int(v, &n), SBXH_ABSENT);       /* null means absent */
    CHECK_EQ(sbxh_json_path(root, "resources.missing", &v), SBXH_ABSENT);
    CHECK_EQ(sbxh_json_path(root, "sandbox_id.x", &v), SBXH_WRONG_TYPE);
    CHECK_EQ(sbxh_json_get(root, "labels", &v), SBXH_OK);
    CHECK_EQ(sbxh_json_get_string(v, "a.b", buf, sizeof buf), SBXH_OK);
    CHECK(strcmp(buf, "c") == 0);
    int flag = 7;
    CHECK_EQ(sbxh_json_get_bool(root, "flag", &flag), SBXH_OK);
    CHECK_EQ(flag, 0);
    CHECK_EQ(sbxh_json_get_int(root, "n", &n), SBXH_WRONG_TYPE);  /* "7" is a string */
    CHECK_EQ(sbxh_json_get_bool(root, "n", &flag), SBXH_WRONG_TYPE);
    CHECK_EQ(sbxh_json_get_string(root, "flag", buf, sizeof buf), SBXH_WRONG_TYPE);
    CHECK_EQ(sbxh_json_get_string(root, "key", buf, sizeof buf), SBXH_OK); /* the key's escape is decoded */
    CHECK(strcmp(buf, "escaped key") == 0);
    CHECK_EQ(sbxh_json_get_int(root, "dup", &n), SBXH_OK);
    CHECK_EQ(n, 1);                                       /* the first of duplicates wins */
    CHECK_EQ(sbxh_json_get_string(root, "sandbox", buf, sizeof buf), SBXH_ABSENT); /* a prefix is not a match */
    CHECK_EQ(sbxh_json_get_string(root, "sandbox_idx", buf, sizeof buf), SBXH_ABSENT);
    CHECK_EQ(sbxh_json_get(doc("[1]"), "a", &v), SBXH_WRONG_TYPE);
    sbxh_json broken = {exact("{\"a\":1,", 7), 7};          /* a hand-made span that ends early */
    CHECK_EQ(sbxh_json_get(broken, "b", &v), SBXH_MALFORMED);
}

static void test_strings(void) {
    char buf[64];
    size_t len = 0;
    sbxh_json v = doc("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t \\u00e9 \\u20ac \\ud83d\\ude00\"");
    CHECK_EQ(sbxh_json_string(v, buf, sizeof buf, &len), SBXH_OK);
    const char *want = "q\" b\\ s/ \b\f\n\r\t \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    CHECK(strcmp(buf, want) == 0);
    CHECK_EQ(len, strlen(want));
    /* Exactly fitting, then one byte short. */
    v = doc("\"abcd\"");
    CHECK_EQ(sbxh_json_string(v, buf, 5, &len), SBXH_OK);
    CHECK_EQ(sbxh_json_string(v, buf, 4, &len), SBXH_TOO_LARGE);
    CHECK_EQ(buf[0], 0);
    CHECK_EQ(sbxh_json_string(v, buf, 0, &len), SBXH_TOO_LARGE);
    CHECK_EQ(sbxh_json_string(doc("\"\\u00e9\""), buf, 2, &len), SBXH_TOO_LARGE); /* 2 UTF-8 bytes + NUL */
    CHECK_EQ(sbxh_json_string(doc("\"a\\u0000b\""), buf, sizeof buf, &len), SBXH_UNSUPPORTED);
    CHECK_EQ(sbxh_json_string(doc("12"), buf, sizeof buf, &len), SBXH_WRONG_TYPE);
    CHECK_EQ(sbxh_json_string(doc("null"), buf, sizeof buf, &len), SBXH_ABSENT);
    sbxh_json cut = {exact("\"abc", 4), 4};
    CHECK_EQ(sbxh_json_string(cut, buf, sizeof buf, &len), SBXH_MALFORMED);
    sbxh_json longer = {exact("\"ab\"c", 5), 5};              /* the string ends before the span does */
    CHECK_EQ(sbxh_json_string(longer, buf, sizeof buf, &len), SBXH_MALFORMED);
}

static void test_numbers(void) {
    int64_t n = 0;
    CHECK_EQ(sbxh_json_int(doc("9223372036854775807"), &n), SBXH_OK);
    CHECK(n == INT64_MAX);
    CHECK_EQ(sbxh_json_int(doc("-9223372036854775808"), &n), SBXH_OK);
    CHECK(n == INT64_MIN);
    CHECK_EQ(sbxh_json_int(doc("9223372036854775808"), &n), SBXH_TOO_LARGE);
    CHECK_EQ(sbxh_json_int(doc("-9223372036854775809"), &n), SBXH_TOO_LARGE);
    CHECK_EQ(sbxh_json_int(doc("99999999999999999999999"), &n), SBXH_TOO_LARGE);
    CHECK_EQ(sbxh_json_int(doc("1.5"), &n), SBXH_WRONG_TYPE);
    CHECK_EQ(sbxh_json_int(doc("1e3"), &n), SBXH_WRONG_TYPE);
    CHECK_EQ(sbxh_json_int(doc("-0"), &n), SBXH_OK);
    CHECK_EQ(n, 0);
    CHECK_EQ(sbxh_json_int(doc("true"), &n), SBXH_WRONG_TYPE);
    int b = -1;
    CHECK_EQ(sbxh_json_bool(doc("true"), &b), SBXH_OK);
    CHECK_EQ(b, 1);
    CHECK_EQ(sbxh_json_bool(doc("0"), &b), SBXH_WRONG_TYPE);
}

static void test_iterate(void) {
    sbxh_json arr = doc("[\"a\", 2 ,{\"x\":[1,2]}, []]"), v, k;
    size_t cursor = 0;
    int count = 0;
    while (sbxh_json_next(arr, &cursor, NULL, &v) == SBXH_OK) count++;
    CHECK_EQ(count, 4);
    CHECK_EQ(sbxh_json_next(arr, &cursor, NULL, &v), SBXH_ABSENT); /* stays at the end */
    cursor = 0;
    CHECK_EQ(sbxh_json_next(doc("[]"), &cursor, NULL, &v), SBXH_ABSENT);
    sbxh_json obj = doc("{\"HOME\":\"/root\",\"X\":\"y\\\"z\"}");
    char key[16], val[16];
    cursor = 0;
    CHECK_EQ(sbxh_json_next(obj, &cursor, &k, &v), SBXH_OK);
    CHECK_EQ(sbxh_json_string(k, key, sizeof key, NULL), SBXH_OK);
    CHECK_EQ(sbxh_json_string(v, val, sizeof val, NULL), SBXH_OK);
    CHECK(strcmp(key, "HOME") == 0 && strcmp(val, "/root") == 0);
    CHECK_EQ(sbxh_json_next(obj, &cursor, &k, &v), SBXH_OK);
    CHECK_EQ(sbxh_json_string(v, val, sizeof val, NULL), SBXH_OK);
    CHECK(strcmp(val, "y\"z") == 0);
    CHECK_EQ(sbxh_json_next(obj, &cursor, &k, &v), SBXH_ABSENT);
    cursor = 0;
    CHECK_EQ(sbxh_json_next(doc("\"s\""), &cursor, NULL, &v), SBXH_WRONG_TYPE);
}

/* Writes with the writer, reads back with the reader: the two must agree on every byte. */
static void round_trip(const char *raw, size_t len, const char *expected_json) {
    sbxh_buf b;
    sbxh_buf_init(&b, 0);
    sbxh_buf_raw(&b, "{\"s\":");
    sbxh_buf_string(&b, raw, len);
    sbxh_buf_raw(&b, "}");
    CHECK(!b.failed);
    if (expected_json != NULL) {
        size_t want = strlen(expected_json);
        CHECK(b.len == want + 6 && memcmp(b.data + 5, expected_json, want) == 0);
        if (!(b.len == want + 6 && memcmp(b.data + 5, expected_json, want) == 0))
            fprintf(stderr, "  wrote %.*s, wanted %s\n", (int)b.len, (const char *)b.data, expected_json);
    }
    sbxh_json root;
    CHECK_EQ(sbxh_json_parse(exact(b.data, b.len), b.len, &root), SBXH_OK);
    sbxh_buf_free(&b);
}

static void test_writer(void) {
    round_trip("plain", 5, "\"plain\"");
    round_trip("q\"b\\", 4, "\"q\\\"b\\\\\"");
    round_trip("\n\t\r\b\f\x01\x1f", 7, "\"\\n\\t\\r\\b\\f\\u0001\\u001f\"");
    round_trip("caf\xc3\xa9 \xf0\x9f\x98\x80", 10, "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
    round_trip("bad\xff\xc3", 5, "\"bad\xef\xbf\xbd\xef\xbf\xbd\"");     /* invalid UTF-8 -> U+FFFD */
    round_trip("a\0b", 3, "\"a\\u0000b\"");
    round_trip("\xed\xa0\x80", 3, "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""); /* an encoded surrogate */
    /* Every byte value, read back through the reader. */
    char all[255];
    for (int i = 0; i < 255; i++) all[i] = (char)(i + 1);
    round_trip(all, sizeof all, NULL);

    sbxh_buf b;
    sbxh_buf_init(&b, 0);
    sbxh_buf_raw(&b, "[");
    sbxh_buf_int(&b, INT64_MIN);
    sbxh_buf_raw(&b, ",");
    sbxh_buf_bool(&b, 1);
    sbxh_buf_raw(&b, ",");
    sbxh_buf_base64(&b, (const uint8_t *)"hi", 2);
    sbxh_buf_raw(&b, "]");
    CHECK(b.len == strlen("[-9223372036854775808,true,\"aGk=\"]") &&
          memcmp(b.data, "[-9223372036854775808,true,\"aGk=\"]", b.len) == 0);
    sbxh_buf_free(&b);

    /* The limit: a failed buffer stays failed and its result is SBX_INTERNAL with a message. */
    sbxh_buf_init(&b, 8);
    sbxh_buf_raw(&b, "12345678");
    CHECK(!b.failed);
    sbxh_buf_raw(&b, "9");
    CHECK(b.failed);
    sbxh_buf_raw(&b, "");
    CHECK(b.failed && b.len == 8);
    sbx_result r = {sizeof(sbx_result), NULL, 0, NULL};
    CHECK_EQ(sbxh_result_json(&r, &b), SBX_INTERNAL);
    CHECK(r.data != NULL && r.len > 0);
    sbxh_result_free(&r);
    CHECK(r.data == NULL && r.len == 0);
}

static void test_base64(void) {
    static const char *vectors[][2] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    char enc[64];
    uint8_t dec[64];
    size_t n = 0;
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const char *plain = vectors[i][0], *coded = vectors[i][1];
        CHECK_EQ(sbxh_base64_encode((const uint8_t *)plain, strlen(plain), enc, sizeof enc, &n), SBXH_OK);
        CHECK(n == strlen(coded) && strcmp(enc, coded) == 0);
        CHECK_EQ(sbxh_base64_decode((const char *)exact(coded, strlen(coded)), strlen(coded), dec, sizeof dec, &n), SBXH_OK);
        CHECK(n == strlen(plain) && memcmp(dec, plain, n) == 0);
    }
    /* Round trips of every length up to 300, with every byte value. */
    uint8_t data[300], back[300];
    char text[401];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 97 + 13);
    for (size_t len = 0; len <= sizeof data; len++) {
        size_t m = 0;
        CHECK_EQ(sbxh_base64_encode(data, len, text, sizeof text, &m), SBXH_OK);
        CHECK_EQ(m, sbxh_base64_encoded_len(len));
        size_t got = 0;
        CHECK_EQ(sbxh_base64_decode((const char *)exact(text, m), m, back, len, &got), SBXH_OK);
        CHECK(got == len && memcmp(back, data, len) == 0);
    }
    /* Invalid input. */
    const char *bad[] = {"Zg", "Zg=", "Z===", "====", "Zg=a", "Z=g=", "Zm9v!A==", "Zm 9v", "Zm9v\n", "Zh==", "Zm9=",
                         "Zg==Zg==", "-_8=", "Zm\0v"};
    size_t bad_len[] = {2, 3, 4, 4, 4, 4, 8, 5, 5, 4, 4, 8, 4, 4};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int st = sbxh_base64_decode((const char *)exact(bad[i], bad_len[i]), bad_len[i], dec, sizeof dec, &n);
        if (st != SBXH_MALFORMED) { failures++; fprintf(stderr, "FAIL: base64 #%zu should be malformed (got %d)\n", i, st); }
        checks++;
    }
    /* Buffers one byte too small. */
    CHECK_EQ(sbxh_base64_decode("Zm9v", 4, dec, 2, &n), SBXH_TOO_LARGE);
    CHECK_EQ(sbxh_base64_encode((const uint8_t *)"foo", 3, enc, 4, &n), SBXH_TOO_LARGE);
    CHECK_EQ(sbxh_base64_encode((const uint8_t *)"foo", 3, enc, 5, &n), SBXH_OK);
    /* From JSON, where a writer may have escaped '/' as "\/". */
    CHECK_EQ(sbxh_json_base64(doc("\"\\/\\/\\/+\""), dec, sizeof dec, &n), SBXH_OK);
    CHECK(n == 3 && dec[0] == 0xff && dec[1] == 0xff && dec[2] == 0xfe);
    CHECK_EQ(sbxh_json_base64(doc("\"Zg=\""), dec, sizeof dec, &n), SBXH_MALFORMED);
    CHECK_EQ(sbxh_json_base64(doc("null"), dec, sizeof dec, &n), SBXH_ABSENT);
    CHECK_EQ(sbxh_json_base64(doc("\"\\u0000AAA\""), dec, sizeof dec, &n), SBXH_MALFORMED);
}

static void test_results(void) {
    sbx_result r = {sizeof(sbx_result), NULL, 0, NULL};
    CHECK_EQ(sbxh_result_text(&r, SBX_NOT_FOUND, "No such sandbox."), SBX_NOT_FOUND);
    CHECK(r.len == 16 && memcmp(r.data, "No such sandbox.", 16) == 0);
    sbxh_result_free(&r);
    CHECK_EQ(sbxh_result_errorf(&r, SBX_QUOTA, "At most %d.", 64), SBX_QUOTA);
    CHECK(r.len == 11 && memcmp(r.data, "At most 64.", 11) == 0);
    sbxh_result_free(&r);
    sbxh_result_free(&r);   /* freeing an empty result is fine */
    sbxh_result_free(NULL);

    sbxh_buf b;
    sbxh_buf_init(&b, 0);
    sbxh_buf_raw(&b, "{}");
    CHECK_EQ(sbxh_result_json(&r, &b), SBX_OK);
    CHECK(r.len == 2 && memcmp(r.data, "{}", 2) == 0 && b.data == NULL && b.len == 0);
    sbxh_result_free(&r);

    /* A result whose struct_size does not cover v1.0's fields is never written. */
    sbx_result small = {SBX_RESULT_V1_0_SIZE - 1, NULL, 0, NULL};
    CHECK_EQ(sbxh_result_text(&small, SBX_CONFLICT, "x"), SBX_CONFLICT);
    CHECK_EQ(sbxh_result_text(&small, SBX_OK, "{}"), SBX_INTERNAL);
    CHECK(small.data == NULL && small.len == 0);

    /* Cancellation: SBX_CANCELLED only for a host whose minor knows it. */
    sbx_host_api host;
    memset(&host, 0, sizeof host);
    host.struct_size = SBX_HOST_API_V1_0_SIZE;
    host.abi_major = SANDBOXER_ABI_MAJOR;
    host.abi_minor = 0;
    CHECK_EQ(sbxh_cancelled_code(&host), SBX_UNAVAILABLE);
    host.abi_minor = SBX_CANCELLED_MIN_HOST_MINOR;
    CHECK_EQ(sbxh_cancelled_code(&host), SBX_CANCELLED);
    CHECK_EQ(sbxh_result_cancelled(&host, &r), SBX_CANCELLED);
    CHECK(r.len > 0);
    sbxh_result_free(&r);
    CHECK_EQ(sbxh_cancelled_code(NULL), SBX_UNAVAILABLE);
}

int main(void) {
    test_parse();
    test_depth();
    test_get();
    test_strings();
    test_numbers();
    test_iterate();
    test_writer();
    test_base64();
    test_results();
    for (size_t i = 0; i < block_count; i++) free(blocks[i]);
    printf("%d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
