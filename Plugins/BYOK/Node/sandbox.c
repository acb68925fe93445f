/*
 * sandbox.c — the on-disk layout of one sandbox (<node_dir>/sandboxes/<id>/: rootfs/ upper/ work/
 * ctl/ meta) and its lock: an flock on the directory itself, taken by every verb on that id.
 */
#include "node.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int sbx_paths(const struct node_ctx *c, const char *id, struct sbx_paths *p, struct node_err *e) {
    if (!valid_id(id)) return nfail(e, "invalid_request", "A sandbox id is 1 to 64 of a-z, 0-9 and '-'.");
    if (snprintf(p->dir, NODE_PATH, "%s/sandboxes/%s", c->node_dir, id) >= NODE_PATH ||
        path_join(p->rootfs, p->dir, "rootfs", e) < 0 || path_join(p->upper, p->dir, "upper", e) < 0 ||
        path_join(p->work, p->dir, "work", e) < 0 || path_join(p->ctl, p->dir, "ctl", e) < 0)
        return nfail(e, "invalid_request", "The sandbox paths under the node dir are too long.");
    return 0;
}

int sbx_lock(const struct sbx_paths *p, const char *id, struct node_err *e) {
    int fd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT) return nfail(e, "not_found", "No sandbox %s exists on this node.", id);
        return nfail_errno(e, "Opening", p->dir);
    }
    while (flock(fd, LOCK_EX) < 0) {
        if (errno != EINTR) { nfail_errno(e, "Locking", p->dir); close(fd); return -1; }
    }
    /* The holder before us may have removed it (destroy, a failed create): then it is gone. */
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_nlink == 0) {
        close(fd);
        return nfail(e, "not_found", "No sandbox %s exists on this node.", id);
    }
    return fd;
}

int sbx_write_deadline(const struct sbx_paths *p, long long deadline_ms, struct node_err *e) {
    char path[NODE_PATH], text[32];
    if (path_join(path, p->ctl, "deadline", e) < 0) return -1;
    int n = deadline_ms > 0 ? snprintf(text, sizeof text, "%lld\n", (deadline_ms + 999) / 1000) : 0;
    return write_file_atomic(path, text, (size_t)n, 0644, e);
}
