/*
 * snapshot.c — the snapshot verb (a gzip'd tar of the overlay's upper dir, as LocalVM makes it:
 * freeze → tar → thaw, then compress with the sandbox running again) and gc.
 */
#include "node.h"
#include "clocalvm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int node_lock(const struct node_ctx *c, int how, struct node_err *e) {
    char path[NODE_PATH];
    if (path_join(path, c->node_dir, "gc.lock", e) < 0) return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return nfail_errno(e, "Opening", path);
    while (flock(fd, how) < 0) if (errno != EINTR) { nfail_errno(e, "Locking", path); close(fd); return -1; }
    return fd;
}

/* The plain tar of the upper dir, taken frozen, into an unnamed file in the sandbox dir. */
static int capture(const struct node_ctx *c, const char *id, int *plain, struct node_err *e) {
    struct sbx_paths p;
    struct cg_layout cg;
    struct node_meta m;
    if (sbx_paths(c, id, &p, e) < 0 || cg_layout(c, id, &cg, e) < 0) return -1;
    int lock = sbx_lock(&p, id, e);
    if (lock < 0) return -1;
    int rc = meta_load(p.dir, &m, e);
    if (rc == 0) rc = nfail(e, "not_found", "The sandbox %s has no metadata (it is being created or was damaged).", id);
    int alive = rc > 0 && proc_alive(m.pid, m.start_time);
    *plain = rc < 0 ? -1 : open(p.dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (rc >= 0 && *plain < 0) rc = nfail_errno(e, "Creating a temporary file in", p.dir);
    if (rc >= 0 && alive) rc = cg_freeze(&cg, 1, e);
    if (rc >= 0) {
        const char *argv[] = { "tar", "--create", "--file=-", "--sparse", "--one-file-system", "--numeric-owner", "--xattrs",
                               "--xattrs-include=*", "--acls", "-C", p.upper, ".", NULL };
        rc = run_tool(argv, -1, *plain, "archive of the upper dir", e);
        struct node_err thaw;
        if (alive && cg_freeze(&cg, 0, &thaw) < 0 && rc >= 0) { *e = thaw; rc = -1; }
    }
    close(lock);
    if (rc < 0 && *plain >= 0) { close(*plain); *plain = -1; }
    return rc < 0 ? -1 : 0;
}

int verb_snapshot(const struct node_ctx *c, int argc, char **argv) {
    struct node_err e;
    int plain = -1, packed = -1;
    if (argc != 2 || strcmp(argv[0], "--id")) { nfail(&e, "invalid_request", "snapshot takes --id ID."); goto fail; }
    if (capture(c, argv[1], &plain, &e) < 0) goto fail;
    char dir[NODE_PATH];
    if (snprintf(dir, sizeof dir, "%s/sandboxes/%s", c->node_dir, argv[1]) >= (int)sizeof dir) goto fail;
    packed = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (packed < 0) { nfail_errno(&e, "Creating a temporary file in", dir); goto fail; }
    const char *gz[] = { "gzip", "-c", "-n", NULL };
    if (lseek(plain, 0, SEEK_SET) < 0 || run_tool(gz, plain, packed, "compression of the snapshot", &e) < 0) goto fail;
    if (lseek(packed, 0, SEEK_SET) < 0) { nfail_errno(&e, "lseek in", "the snapshot"); goto fail; }
    struct sha256 s;
    sha256_init(&s);
    static char buf[NODE_FRAME_MAX];
    long long size = 0;
    for (;;) {
        ssize_t r = read(packed, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { nfail_errno(&e, "Reading", "the snapshot"); goto fail; }
        if (r == 0) break;
        sha256_update(&s, buf, (size_t)r);
        size += r;
        if (frame_write(STDOUT_FILENO, 1, buf, (size_t)r) < 0) goto done; /* the controller is gone */
    }
    char hex[65], json[160];
    sha256_hex(&s, hex);
    snprintf(json, sizeof json, "{\"size_bytes\":%lld,\"sha256\":\"%s\"}", size, hex);
    (void)frame_write(STDOUT_FILENO, 3, json, strlen(json));
done:
    close(plain);
    close(packed);
    return 0;
fail:
    if (plain >= 0) close(plain);
    if (packed >= 0) close(packed);
    frame_error(STDOUT_FILENO, &e);
    return 0;
}

/* True when hex is in the comma-separated keep list or the image of a sandbox on this node. */
static int kept(const struct node_ctx *c, const char *hex, const char *keep) {
    for (const char *p = keep; p && *p;) {
        if (!strncmp(p, hex, 64) && (p[64] == ',' || p[64] == 0)) return 1;
        p = strchr(p, ',');
        if (p) p++;
    }
    char sdir[NODE_PATH];
    struct node_err e;
    if (path_join(sdir, c->node_dir, "sandboxes", &e) < 0) return 1;
    DIR *d = opendir(sdir);
    struct dirent *ent;
    int used = 0;
    while (d && !used && (ent = readdir(d))) {
        struct sbx_paths p;
        struct node_meta m;
        if (valid_id(ent->d_name) && sbx_paths(c, ent->d_name, &p, &e) == 0 && meta_load(p.dir, &m, &e) == 1)
            used = !strcmp(m.image, hex);
    }
    if (d) closedir(d);
    return used;
}

/* Removes unkept entries of <node_dir>/<sub>; returns how many. */
static int sweep(const struct node_ctx *c, const char *sub, const char *keep) {
    char dir[NODE_PATH], path[NODE_PATH];
    struct node_err e;
    int removed = 0;
    if (path_join(dir, c->node_dir, sub, &e) < 0) return 0;
    DIR *d = opendir(dir);
    struct dirent *ent;
    while (d && (ent = readdir(d))) {
        int tmp = !strncmp(ent->d_name, ".tmp-", 5); /* left by a put-blob or unpack that died */
        if (!tmp && (!valid_hex(ent->d_name) || kept(c, ent->d_name, keep))) continue;
        if (path_join(path, dir, ent->d_name, &e) == 0 && clvm_remove_tree(path) == 0 && !tmp) removed++;
    }
    if (d) closedir(d);
    return removed;
}

int verb_gc(const struct node_ctx *c, int argc, char **argv) {
    struct node_err e;
    const char *keep = "";
    if (argc == 2 && !strcmp(argv[0], "--keep-images")) keep = argv[1];
    else if (argc != 0) { nfail(&e, "invalid_request", "gc takes --keep-images HEX,HEX or nothing."); out_err(&e); return 0; }
    /* Exclusive: no create or put-blob is between receiving a blob and using it. */
    int lock = node_lock(c, LOCK_EX, &e);
    if (lock < 0) { out_err(&e); return 0; }
    int images = sweep(c, "images", keep), blobs = sweep(c, "blobs", keep);
    close(lock);
    char rest[96];
    snprintf(rest, sizeof rest, ",\"removed_images\":%d,\"removed_blobs\":%d", images, blobs);
    out_ok(rest);
    return 0;
}
