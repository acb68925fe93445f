/*
 * frames.c — the framed binary stream of exec and snapshot: [type u8][len u32 big-endian][payload].
 * Helper → controller: 1 stdout bytes, 2 stderr bytes, 3 the final status JSON (the last frame).
 */
#include "node.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

/* Writes all of buf; waits for room when fd is non-blocking. -1 when the reader is gone. */
static int write_fully(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len) {
        ssize_t r = write(fd, p, len);
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                struct pollfd pf = { fd, POLLOUT, 0 };
                if (poll(&pf, 1, -1) < 0 && errno != EINTR) return -1;
                continue;
            }
            return -1;
        }
        p += r;
        len -= (size_t)r;
    }
    return 0;
}

int frame_write(int fd, uint8_t type, const void *p, size_t len) {
    if (len > NODE_FRAME_MAX) {
        /* Split, never exceed the bound the controller enforces. */
        const char *c = p;
        for (size_t off = 0; off < len; off += NODE_FRAME_MAX) {
            size_t n = len - off < NODE_FRAME_MAX ? len - off : NODE_FRAME_MAX;
            if (frame_write(fd, type, c + off, n) < 0) return -1;
        }
        return 0;
    }
    uint8_t head[5] = { type, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
    if (write_fully(fd, head, sizeof head) < 0) return -1;
    return len ? write_fully(fd, p, len) : 0;
}

void frame_error(int fd, const struct node_err *e) {
    struct jbuf b = { 0 };
    jb_raw(&b, "{\"error\":{");
    jb_key(&b, "code");
    jb_str(&b, e->code ? e->code : "internal");
    jb_key(&b, "message");
    jb_str(&b, e->msg);
    jb_raw(&b, "}}");
    (void)frame_write(fd, 3, b.p, b.len);
    jb_free(&b);
}
