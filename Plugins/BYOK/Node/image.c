/*
 * image.c — content-addressed blobs (<node_dir>/blobs/<sha256>) and the image roots unpacked from
 * them (<node_dir>/images/<sha256>/rootfs, owners shifted by NODE_UID_BASE): put-blob and gc.
 */
#include "node.h"
#include "clocalvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int blob_path(const struct node_ctx *c, const char *hex, char *out, struct node_err *e) {
    if (!valid_hex(hex)) return nfail(e, "invalid_request", "A blob name is 64 lowercase hex digits (its sha256).");
    if (snprintf(out, NODE_PATH, "%s/blobs/%s", c->node_dir, hex) >= NODE_PATH)
        return nfail(e, "invalid_request", "The blob path is too long.");
    return 0;
}

/* Reads stdin into tmp while hashing it, at most NODE_MAX_BLOB_BYTES. */
static int receive(int fd, const char *tmp, char hex[65], long long *size, struct node_err *e) {
    struct sha256 s;
    sha256_init(&s);
    static char buf[1 << 16];
    long long total = 0;
    for (;;) {
        ssize_t r = read(STDIN_FILENO, buf, sizeof buf);
        if (r < 0) { if (errno == EINTR) continue; return nfail_errno(e, "Reading the blob from stdin into", tmp); }
        if (r == 0) break;
        total += r;
        if (total > NODE_MAX_BLOB_BYTES)
            return nfail(e, "quota", "The blob is larger than the node's limit of %lld bytes.", NODE_MAX_BLOB_BYTES);
        sha256_update(&s, buf, (size_t)r);
        if (fd >= 0 && write_all(fd, buf, (size_t)r) < 0) return nfail_errno(e, "Writing", tmp);
    }
    sha256_hex(&s, hex);
    *size = total;
    return 0;
}

int verb_put_blob(const struct node_ctx *c, int argc, char **argv) {
    struct node_err e;
    char path[NODE_PATH], dir[NODE_PATH], tmp[NODE_PATH], got[65];
    long long size = 0;
    if (argc != 2 || strcmp(argv[0], "--sha256")) {
        nfail(&e, "invalid_request", "put-blob takes --sha256 HEX and the bytes on stdin.");
        goto fail;
    }
    if (blob_path(c, argv[1], path, &e) < 0 || path_join(dir, c->node_dir, "blobs", &e) < 0 ||
        mkdirs(dir, 0700, &e) < 0)
        goto fail;
    struct stat st;
    if (stat(path, &st) == 0) {
        /* Already here (it was verified when it came): drain stdin so the sender sees no broken pipe. */
        if (receive(-1, path, got, &size, &e) < 0) goto fail;
        char rest[96];
        snprintf(rest, sizeof rest, ",\"existed\":true,\"size_bytes\":%lld", (long long)st.st_size);
        out_ok(rest);
        return 0;
    }
    int gc = node_lock(c, LOCK_SH, &e); /* held until exit: gc must not take the temp file */
    if (gc < 0) goto fail;
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s-%d", dir, argv[1], (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) { nfail_errno(&e, "Creating", tmp); goto fail; }
    int rc = receive(fd, tmp, got, &size, &e);
    if (rc == 0 && fsync(fd) < 0) rc = nfail_errno(&e, "fsync", tmp);
    close(fd);
    if (rc == 0 && strcmp(got, argv[1]))
        rc = nfail(&e, "invalid_request", "The blob's bytes hash to %s, not to the name %s it was sent as.", got, argv[1]);
    if (rc == 0 && rename(tmp, path) < 0) rc = nfail_errno(&e, "Renaming into", path);
    if (rc < 0) { unlink(tmp); goto fail; }
    char rest[96];
    snprintf(rest, sizeof rest, ",\"existed\":false,\"size_bytes\":%lld", size);
    out_ok(rest);
    return 0;
fail:
    out_err(&e);
    return 0;
}

/* True when the file starts with gzip's magic. */
static int is_gzip(const char *path) {
    unsigned char m[2] = { 0, 0 };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, m, 2);
    close(fd);
    return n == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

int image_rootfs(const struct node_ctx *c, const char *hex, char *out, struct node_err *e) {
    char blob[NODE_PATH], images[NODE_PATH], final[NODE_PATH], tmp[NODE_PATH], rootfs[NODE_PATH], sh[NODE_PATH];
    if (blob_path(c, hex, blob, e) < 0 || path_join(images, c->node_dir, "images", e) < 0 ||
        path_join(final, images, hex, e) < 0 || path_join(out, final, "rootfs", e) < 0)
        return -1;
    struct stat st;
    if (stat(out, &st) == 0) return 0;
    if (stat(blob, &st) < 0) return nfail(e, "not_found", "The image blob %s is not on this node: put-blob it first.", hex);
    if (mkdirs(images, 0711, e) < 0) return -1;
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s-%d", images, hex, (int)getpid());
    if (mkdir(tmp, 0711) < 0 || path_join(rootfs, tmp, "rootfs", e) < 0 || mkdir(rootfs, 0755) < 0)
        return nfail_errno(e, "mkdir", tmp);
    const char *argv[] = { "tar", "-x", "-p", "--numeric-owner", is_gzip(blob) ? "-z" : "--no-auto-compress",
                           "-f", blob, "-C", rootfs, NULL };
    int rc = run_tool(argv, -1, -1, "extraction of the image blob", e);
    /* Owners shifted into the sandbox's id range: its root is NODE_UID_BASE on the host. */
    if (rc == 0 && clvm_shift_owners(rootfs, NODE_UID_BASE, NODE_ID_COUNT) < 0) rc = nfail_errno(e, "Shifting owners under", rootfs);
    if (rc == 0 && (path_join(sh, rootfs, "bin/sh", e) < 0 || lstat(sh, &st) < 0))
        rc = nfail(e, "invalid_request", "The image %s has no /bin/sh, which the sandbox init needs.", hex);
    if (rc == 0 && rename(tmp, final) < 0) {
        /* Another create won the race: its image is complete (it was renamed in whole). */
        if (!((errno == EEXIST || errno == ENOTEMPTY) && stat(out, &st) == 0)) rc = nfail_errno(e, "Renaming into", final);
        else (void)clvm_remove_tree(tmp);
    }
    if (rc < 0) (void)clvm_remove_tree(tmp);
    return rc;
}
