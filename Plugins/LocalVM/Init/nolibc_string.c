/*
 * nolibc_string.c — the memory, string and number-parsing functions of the glibc-free init (see
 * nolibc.h), with glibc's results (strtol's errno and end pointer included). Compiled with
 * -fno-builtin (Package.swift), so the compiler does not turn these loops into calls to themselves.
 */
#if defined(__x86_64__)
#define _GNU_SOURCE
#include "nolibc.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* rep movsb / rep stosb: short and fast on every x86-64 this runs on (ERMS), and the few copies
 * here are small. */
void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
    void *d = dst;
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *memset(void *dst, int c, size_t n) {
    void *d = dst;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return dst;
}

size_t strlen(const char *s) {
    const char *p = s;
    while (*p) p++;
    return (size_t)(p - s);
}

int strcmp(const char *a, const char *b) {
    while (*a && *a == *b) { a++; b++; }
    return (int)(unsigned char)*a - (int)(unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n) {
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a) return (int)(unsigned char)*a - (int)(unsigned char)*b;
    }
    return 0;
}

char *strcpy(char *restrict dst, const char *restrict src) {
    char *d = dst;
    while ((*d++ = *src++)) {}
    return dst;
}

char *strchr(const char *s, int c) {
    for (;; s++) {
        if (*s == (char)c) return (char *)s;
        if (!*s) return NULL;
    }
}

char *strrchr(const char *s, int c) {
    const char *found = NULL;
    for (;; s++) {
        if (*s == (char)c) found = s;
        if (!*s) return (char *)found;
    }
}

char *strtok(char *restrict s, const char *restrict delim) {
    static char *next;
    if (!s) s = next;
    if (!s) return NULL;
    while (*s && strchr(delim, *s)) s++;
    if (!*s) { next = NULL; return NULL; }
    char *tok = s;
    while (*s && !strchr(delim, *s)) s++;
    if (*s) { *s = 0; next = s + 1; } else { next = NULL; }
    return tok;
}

static int digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'z') return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
    return 99;
}

/* The common part of the strto* family: white space, sign, base prefix and digits of s, as the
 * magnitude (saturated at ULLONG_MAX, with *overflow set). *end is s when there are no digits. */
static unsigned long long parse_magnitude(const char *s, char **end, int base, int *negative, int *overflow) {
    const char *p = s;
    *negative = 0;
    *overflow = 0;
    if (base < 0 || base == 1 || base > 36) { errno = EINVAL; if (end) *end = (char *)s; return 0; }
    while (*p == ' ' || (*p >= '\t' && *p <= '\r')) p++;
    if (*p == '-' || *p == '+') { *negative = *p == '-'; p++; }
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && digit_value(p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = p[0] == '0' ? 8 : 10;
    }
    const char *digits = p;
    unsigned long long v = 0;
    for (int d; (d = digit_value(*p)) < base; p++) {
        if (v > (ULLONG_MAX - (unsigned)d) / (unsigned)base) *overflow = 1;
        else v = v * (unsigned)base + (unsigned)d;
    }
    if (p == digits) { if (end) *end = (char *)s; *negative = 0; return 0; }
    if (end) *end = (char *)p;
    return *overflow ? ULLONG_MAX : v;
}

long long strtoll(const char *restrict s, char **restrict end, int base) {
    int negative, overflow;
    unsigned long long m = parse_magnitude(s, end, base, &negative, &overflow);
    if (!negative && (overflow || m > (unsigned long long)LLONG_MAX)) { errno = ERANGE; return LLONG_MAX; }
    if (negative && (overflow || m > (unsigned long long)LLONG_MAX + 1)) { errno = ERANGE; return LLONG_MIN; }
    return negative ? (long long)(0 - m) : (long long)m;
}

long strtol(const char *restrict s, char **restrict end, int base) {
    return (long)strtoll(s, end, base); /* long is long long on x86-64 */
}

unsigned long long strtoull(const char *restrict s, char **restrict end, int base) {
    int negative, overflow;
    unsigned long long m = parse_magnitude(s, end, base, &negative, &overflow);
    if (overflow) { errno = ERANGE; return ULLONG_MAX; }
    return negative ? 0 - m : m;
}

#endif
