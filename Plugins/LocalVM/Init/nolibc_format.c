/*
 * nolibc_format.c — snprintf for the glibc-free init (see nolibc.h): the conversions CLocalVM's
 * code uses (today the init's live code formats only "%s/%s", the trash remover's paths):
 * %s %c %d %i %u %x %X %% with the length modifiers hh h l ll z j t, no flags, width or precision.
 * Anything else is copied to the output as written, so a new format shows up in its text rather
 * than reading arguments it does not know.
 */
#if defined(__x86_64__)
#define _GNU_SOURCE
#include "nolibc.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct out { char *buf; size_t cap, len; };

static void put(struct out *o, char c) {
    if (o->len + 1 < o->cap) o->buf[o->len] = c;
    o->len++;
}

static void put_unsigned(struct out *o, unsigned long long v, unsigned base, int upper) {
    char tmp[24];
    size_t n = 0;
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do { tmp[n++] = digits[v % base]; v /= base; } while (v);
    while (n) put(o, tmp[--n]);
}

static int vformat(char *buf, size_t cap, const char *fmt, va_list ap) {
    struct out o = { buf, cap, 0 };
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') { put(&o, *p); continue; }
        const char *spec = p++;
        /* -2 char, -1 short, 0 int, 1 long, 2 long long, 3 size_t/intmax_t/ptrdiff_t (all 64-bit here) */
        int size = 0;
        if (*p == 'h') { p++; size = -1; if (*p == 'h') { p++; size = -2; } }
        else if (*p == 'l') { p++; size = 1; if (*p == 'l') { p++; size = 2; } }
        else if (*p == 'z' || *p == 'j' || *p == 't') { p++; size = 3; }
        switch (*p) {
        case '%': put(&o, '%'); break;
        case 'c': put(&o, (char)va_arg(ap, int)); break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            for (s = s ? s : "(null)"; *s; s++) put(&o, *s);
            break;
        }
        case 'd': case 'i': {
            long long v = size <= 0 ? va_arg(ap, int) : size == 1 ? va_arg(ap, long) : size == 2 ? va_arg(ap, long long)
                                                                                               : (long long)va_arg(ap, ptrdiff_t);
            if (size == -1) v = (short)v;
            if (size == -2) v = (signed char)v;
            unsigned long long m = (unsigned long long)v;
            if (v < 0) { put(&o, '-'); m = 0 - m; }
            put_unsigned(&o, m, 10, 0);
            break;
        }
        case 'u': case 'x': case 'X': {
            unsigned long long v = size <= 0 ? va_arg(ap, unsigned) : size == 1 ? va_arg(ap, unsigned long)
                                 : size == 2 ? va_arg(ap, unsigned long long) : (unsigned long long)va_arg(ap, size_t);
            if (size == -1) v = (unsigned short)v;
            if (size == -2) v = (unsigned char)v;
            put_unsigned(&o, v, *p == 'u' ? 10 : 16, *p == 'X');
            break;
        }
        default:
            /* Not supported: the spec as written (and stop at a trailing '%'). */
            for (const char *q = spec; q <= p && *q; q++) put(&o, *q);
            if (!*p) p--;
            break;
        }
    }
    if (cap) buf[o.len < cap ? o.len : cap - 1] = 0;
    return o.len > INT32_MAX ? -1 : (int)o.len;
}

int snprintf(char *restrict buf, size_t cap, const char *restrict fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vformat(buf, cap, fmt, ap);
    va_end(ap);
    return n;
}

#endif
