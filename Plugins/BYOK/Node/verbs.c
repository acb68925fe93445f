/*
 * verbs.c — destroy, inventory and set-timeout: small verbs over a sandbox's dir, meta and cgroups.
 */
#include "node.h"
#include "clocalvm.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads --id X (and optionally --ttl-seconds N) from a verb's arguments. */
static int id_args(int argc, char **argv, const char **id, long long *ttl, struct node_err *e) {
    *id = NULL;
    for (int i = 0; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--id")) *id = argv[i + 1];
        else if (ttl && !strcmp(argv[i], "--ttl-seconds")) {
            if (parse_i64(argv[i + 1], 0, NODE_MAX_TTL_SECONDS, ttl) < 0)
                return nfail(e, "invalid_request", "--ttl-seconds must be a whole number from 0 to %lld.", NODE_MAX_TTL_SECONDS);
        } else return nfail(e, "invalid_request", "Unknown option %.40s.", argv[i]);
    }
    if ((argc % 2) || !*id || (ttl && *ttl < 0))
        return nfail(e, "invalid_request", ttl ? "This verb needs --id ID --ttl-seconds N." : "This verb needs --id ID.");
    return 0;
}

/* Detaches every mount of this (the host's) namespace at or below dir: the sandbox mounted only in
 * its own namespace, so anything here was put there by someone else and would block the removal. */
static void unmount_under(const char *dir) {
    char text[1 << 16];
    if (read_small("/proc/self/mountinfo", text, sizeof text) <= 0) return;
    size_t dl = strlen(dir);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *f = line;
        for (int i = 0; i < 4 && f; i++) { f = strchr(f, ' '); if (f) f++; }
        if (!f) continue;
        char *end = strchr(f, ' ');
        if (end) *end = 0;
        if (!strncmp(f, dir, dl) && (f[dl] == 0 || f[dl] == '/')) (void)umount2(f, MNT_DETACH);
    }
}

int verb_destroy(const struct node_ctx *c, int argc, char **argv) {
    struct node_err e;
    struct sbx_paths p;
    struct cg_layout cg;
    struct node_meta m;
    const char *id;
    if (id_args(argc, argv, &id, NULL, &e) < 0 || sbx_paths(c, id, &p, &e) < 0 || cg_layout(c, id, &cg, &e) < 0) goto fail;
    int fd = sbx_lock(&p, id, &e);
    if (fd < 0 && strcmp(e.code, "not_found")) goto fail;
    if (fd < 0 && !cg_exists(&cg)) { out_ok(",\"existed\":false"); return 0; }
    int have_meta = fd >= 0 && meta_load(p.dir, &m, &e) == 1;
    /* One cgroup.kill ends the whole tree (init, execs, their children); then the init by identity,
     * in case its cgroups were tampered with. */
    if (cg_kill(&cg, &e) < 0) goto fail_locked;
    if (have_meta) {
        int pfd = proc_pidfd(m.pid, m.start_time);
        if (pfd >= 0) {
            clvm_pidfd_signal(pfd, SIGKILL);
            int rc = clvm_pidfd_wait_exit(pfd, 5000);
            close(pfd);
            if (rc != 1) { nfail(&e, "internal", "The init of sandbox %s did not exit within 5 seconds of SIGKILL.", id); goto fail_locked; }
        }
    }
    if (cg_remove(&cg, &e) < 0) goto fail_locked;
    if (fd >= 0) {
        unmount_under(p.dir);
        if (clvm_remove_tree(p.dir) < 0) { nfail_errno(&e, "Removing", p.dir); goto fail_locked; }
        close(fd);
    }
    out_ok(",\"existed\":true");
    return 0;
fail_locked:
    if (fd >= 0) close(fd);
fail:
    out_err(&e);
    return 0;
}

static void inventory_entry(struct jbuf *b, const char *id, pid_t pid, int alive, long long deadline,
                            long long created, const char *dir) {
    if (b->p[b->len - 1] != '[') jb_raw(b, ",");
    jb_raw(b, "{");
    jb_key(b, "id"); jb_str(b, id);
    jb_key(b, "pid"); jb_i64(b, pid);
    jb_key(b, "alive"); jb_raw(b, alive ? "true" : "false");
    jb_key(b, "deadline_unix_ms"); jb_i64(b, deadline);
    if (created) { jb_key(b, "created_unix_ms"); jb_i64(b, created); }
    if (dir) labels_json(b, dir);
    else { jb_key(b, "labels"); jb_raw(b, "{}"); }
    jb_raw(b, "}");
}

int verb_inventory(const struct node_ctx *c, int argc, char **argv) {
    (void)argv;
    struct node_err e;
    struct jbuf b = { 0 };
    char sdir[NODE_PATH];
    if (argc != 0) { nfail(&e, "invalid_request", "inventory takes no arguments."); goto fail; }
    if (path_join(sdir, c->node_dir, "sandboxes", &e) < 0) goto fail;
    jb_raw(&b, ",\"sandboxes\":[");
    DIR *d = opendir(sdir);
    struct dirent *ent;
    while (d && (ent = readdir(d))) {
        if (!valid_id(ent->d_name)) continue; /* ".", "..", ".tmp-*" of creates in flight */
        struct sbx_paths p;
        struct node_meta m;
        if (sbx_paths(c, ent->d_name, &p, &e) < 0) continue;
        int rc = meta_load(p.dir, &m, &e);
        if (rc == 1)
            inventory_entry(&b, ent->d_name, m.pid, proc_alive(m.pid, m.start_time), m.deadline_unix_ms, m.created_unix_ms, p.dir);
        else inventory_entry(&b, ent->d_name, 0, 0, 0, 0, p.dir); /* damaged or half-made: destroy can still clean it */
    }
    if (d) closedir(d);
    /* Cgroups whose directory is gone (a destroy cut short) are leftovers too. */
    struct cg_layout cg;
    if (cg_layout(c, "x", &cg, &e) == 0) {
        char *slash = strrchr(cg.kill_dir, '/');
        if (slash) *slash = 0;
        d = opendir(cg.kill_dir);
        while (d && (ent = readdir(d))) {
            char path[NODE_PATH + 80];
            struct stat st;
            snprintf(path, sizeof path, "%s/sandboxes/%s", c->node_dir, ent->d_name);
            if (valid_id(ent->d_name) && ent->d_type == DT_DIR && stat(path, &st) < 0) inventory_entry(&b, ent->d_name, 0, 0, 0, 0, NULL);
        }
        if (d) closedir(d);
    }
    jb_raw(&b, "]");
    out_ok(b.p);
    jb_free(&b);
    return 0;
fail:
    jb_free(&b);
    out_err(&e);
    return 0;
}

int verb_set_timeout(const struct node_ctx *c, int argc, char **argv) {
    struct node_err e;
    struct sbx_paths p;
    struct node_meta m;
    const char *id;
    long long ttl = -1;
    if (id_args(argc, argv, &id, &ttl, &e) < 0 || sbx_paths(c, id, &p, &e) < 0) goto fail;
    int fd = sbx_lock(&p, id, &e);
    if (fd < 0) goto fail;
    int rc = meta_load(p.dir, &m, &e);
    if (rc == 0) rc = nfail(&e, "not_found", "The sandbox %s has no metadata (it is being created or was damaged).", id);
    int pfd = rc < 0 ? -1 : proc_pidfd(m.pid, m.start_time);
    if (rc >= 0 && pfd < 0) rc = nfail(&e, "invalid_request", "The sandbox %s is not running, so it has no timeout to set.", id);
    if (rc >= 0) {
        m.deadline_unix_ms = now_real_ms() + ttl * 1000;
        rc = meta_save(p.dir, &m, &e);
        if (rc >= 0) rc = sbx_write_deadline(&p, m.deadline_unix_ms, &e);
        /* Wake the init so it re-reads the deadline now (it would within 60 s anyway). */
        if (rc >= 0) clvm_pidfd_signal(pfd, SIGUSR1);
    }
    if (pfd >= 0) close(pfd);
    close(fd);
    if (rc < 0) goto fail;
    char rest[64];
    snprintf(rest, sizeof rest, ",\"deadline_unix_ms\":%lld", m.deadline_unix_ms);
    out_ok(rest);
    return 0;
fail:
    out_err(&e);
    return 0;
}
