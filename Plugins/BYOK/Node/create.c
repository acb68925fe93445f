/*
 * create.c — the create verb: image, directories, cgroups, then LocalVM's init in its namespaces
 * (network none: loopback only), whose own timer enforces the deadline.
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

struct create_req {
    const char *id, *image, *snapshot;
    long long ttl;
    struct cg_limits lim;
    const char *env[NODE_MAX_ENV];
    int env_count;
    const char *labels[NODE_MAX_LABELS];
    int label_count;
};

/* Checks a K=V argument: a non-empty name without '=' and a bounded size (never echoes the value). */
int env_valid(const char *kv, struct node_err *e) {
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) return nfail(e, "invalid_request", "--env takes NAME=VALUE with a non-empty NAME.");
    if (strlen(kv) > NODE_MAX_ENV_BYTES) return nfail(e, "invalid_request", "An --env entry is longer than %d bytes.", NODE_MAX_ENV_BYTES);
    return 0;
}

static int parse(int argc, char **argv, struct create_req *r, struct node_err *e) {
    memset(r, 0, sizeof *r);
    r->ttl = -1;
    for (int i = 0; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long n;
        if (!v) return nfail(e, "invalid_request", "The option %.40s of create needs a value.", k);
        if (!strcmp(k, "--id")) r->id = v;
        else if (!strcmp(k, "--image")) r->image = v;
        else if (!strcmp(k, "--snapshot")) r->snapshot = v;
        else if (!strcmp(k, "--ttl-seconds")) {
            if (parse_i64(v, 1, NODE_MAX_TTL_SECONDS, &r->ttl) < 0)
                return nfail(e, "invalid_request", "--ttl-seconds must be a whole number from 1 to %lld.", NODE_MAX_TTL_SECONDS);
        } else if (!strcmp(k, "--memory-bytes")) {
            if (parse_i64(v, 8LL << 20, 1LL << 50, &n) < 0)
                return nfail(e, "invalid_request", "--memory-bytes must be a whole number of at least 8388608 (8 MiB).");
            r->lim.memory_bytes = n;
        } else if (!strcmp(k, "--pids")) {
            if (parse_i64(v, 4, 4194304, &n) < 0) return nfail(e, "invalid_request", "--pids must be a whole number from 4 to 4194304.");
            r->lim.pids = n;
        } else if (!strcmp(k, "--cpus")) {
            char *end = NULL;
            double c = strtod(v, &end);
            if (!end || *end || !(c > 0 && c <= 1024)) return nfail(e, "invalid_request", "--cpus must be a number above 0 and at most 1024.");
            r->lim.cpus = c;
        } else if (!strcmp(k, "--env")) {
            if (r->env_count >= NODE_MAX_ENV) return nfail(e, "invalid_request", "create takes at most %d --env entries.", NODE_MAX_ENV);
            if (env_valid(v, e) < 0) return -1;
            r->env[r->env_count++] = v;
        } else if (!strcmp(k, "--label")) {
            if (r->label_count >= NODE_MAX_LABELS) return nfail(e, "invalid_request", "create takes at most %d --label entries.", NODE_MAX_LABELS);
            if (label_valid(v, e) < 0) return -1;
            r->labels[r->label_count++] = v;
        } else return nfail(e, "invalid_request", "create does not know the option %.40s.", k);
    }
    if (!r->id || !r->image || r->ttl < 0) return nfail(e, "invalid_request", "create needs --id, --image and --ttl-seconds.");
    if (!valid_id(r->id)) return nfail(e, "invalid_request", "A sandbox id is 1 to 64 of a-z, 0-9 and '-'.");
    if (!valid_hex(r->image) || (r->snapshot && !valid_hex(r->snapshot)))
        return nfail(e, "invalid_request", "--image and --snapshot name blobs by their sha256 (64 lowercase hex digits).");
    return labels_canonical(r->labels, r->label_count, e);
}

/* The request's fingerprint: a retry of the very same create is answered with the same ref. */
static void fingerprint(const struct create_req *r, char out[65]) {
    struct sha256 s;
    char line[256];
    sha256_init(&s);
    int n = snprintf(line, sizeof line, "%s\n%s\n%lld\n%lld\n%lld\n%.6f\n", r->image, r->snapshot ? r->snapshot : "-",
                     r->ttl, r->lim.memory_bytes, r->lim.pids, r->lim.cpus);
    sha256_update(&s, line, (size_t)n);
    for (int i = 0; i < r->env_count; i++) sha256_update(&s, r->env[i], strlen(r->env[i]) + 1);
    /* Labels (sorted) after a separator no env entry can hold: a retry must carry the same proof of
     * ownership, and moving an entry from env to labels must change the fingerprint. */
    sha256_update(&s, "\0labels\0", 8);
    for (int i = 0; i < r->label_count; i++) sha256_update(&s, r->labels[i], strlen(r->labels[i]) + 1);
    sha256_hex(&s, out);
}

/* Everything inside the locked, fresh sandbox dir. */
static int build(const struct node_ctx *c, const struct create_req *r, const struct sbx_paths *p,
                 struct node_meta *m, const struct cg_layout *cg, struct node_err *e) {
    char lower[NODE_PATH], envf[NODE_PATH];
    if (image_rootfs(c, r->image, lower, e) < 0) return -1;
    const char *dirs[] = { p->rootfs, p->upper, p->work, p->ctl };
    for (int i = 0; i < 4; i++) if (mkdir(dirs[i], 0755) < 0) return nfail_errno(e, "mkdir", dirs[i]);
    if (chown(p->upper, NODE_UID_BASE, NODE_UID_BASE) < 0 || chown(p->work, NODE_UID_BASE, NODE_UID_BASE) < 0)
        return nfail_errno(e, "chown", p->upper);
    if (sbx_write_deadline(p, m->deadline_unix_ms, e) < 0) return -1;
    /* Create's environment: the defaults of every exec (0600: values may be secrets). */
    struct jbuf env = { 0 };
    for (int i = 0; i < r->env_count; i++) { jb_raw(&env, r->env[i]); env.len++; /* keep the NUL */ }
    int rc = path_join(envf, p->dir, "env", e) < 0 ? -1 : write_file_atomic(envf, env.p ? env.p : "", env.len, 0600, e);
    jb_free(&env);
    if (rc < 0 || labels_save(p->dir, r->labels, r->label_count, e) < 0) return -1;
    /* Written before the init starts, so a crash right after still leaves evidence for destroy. */
    if (meta_save(p->dir, m, e) < 0) return -1;
    if (r->snapshot) {
        char blob[NODE_PATH];
        struct stat st;
        if (blob_path(c, r->snapshot, blob, e) < 0) return -1;
        if (stat(blob, &st) < 0) return nfail(e, "not_found", "The snapshot blob %s is not on this node: put-blob it first.", r->snapshot);
        /* The upper layer is complete before the overlay is mounted: overlayfs must not see it change. */
        const char *argv[] = { "tar", "--extract", "--gzip", "--file", blob, "--same-permissions", "--same-owner",
                               "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls", "-C", p->upper, NULL };
        if (run_tool(argv, -1, -1, "extraction of the snapshot", e) < 0) return -1;
    }
    if (cg_create(cg, &r->lim, e) < 0) return -1;
    int fds[NODE_CG_MAX];
    if (cg_open_procs(cg, fds, e) < 0) return -1;
    char idmap[64], err[512];
    snprintf(idmap, sizeof idmap, "0 %u %u\n", NODE_UID_BASE, NODE_ID_COUNT);
    clvm_launch_spec spec = {
        .sandbox_dir = p->dir, .lower_dir = lower, .hostname = r->id, .id_map = idmap,
        .cgroup_fds = fds, .cgroup_count = (size_t)cg->count, .argv = node_init_argv, .envp = node_init_env, .net = NULL,
    };
    pid_t pid = 0;
    rc = clvm_launch(&spec, &pid, err, sizeof err);
    for (int i = 0; i < cg->count; i++) close(fds[i]);
    if (rc < 0) return nfail(e, "internal", "Starting the sandbox init failed: %s.", err);
    char state = 0;
    if (proc_stat(pid, &m->start_time, &state) < 0 || state == 'Z')
        return nfail(e, "internal", "The sandbox init (pid %d) exited right after it started.", (int)pid);
    m->pid = pid;
    return meta_save(p->dir, m, e);
}

/* An existing id: the same request gets the same answer, any other is refused. */
static int existing(const struct node_ctx *c, const struct create_req *r, const char *fp, struct node_err *e) {
    struct sbx_paths p;
    struct node_meta m;
    if (sbx_paths(c, r->id, &p, e) < 0) return -1;
    int fd = sbx_lock(&p, r->id, e);
    if (fd < 0) return nfail(e, "unavailable", "The sandbox %s was being created or destroyed at the same moment; try again.", r->id);
    int rc = meta_load(p.dir, &m, e);
    close(fd);
    if (rc < 0) return -1;
    if (rc == 0 || strcmp(m.request, fp))
        return nfail(e, "invalid_request", "A sandbox with id %s already exists on this node.", r->id);
    if (m.pid <= 0) /* the same request, but its create was killed before the init started */
        return nfail(e, "unavailable", "The sandbox %s was left half-made by an interrupted create; destroy it and create it again.", r->id);
    char rest[160];
    snprintf(rest, sizeof rest, ",\"ref\":\"%s\",\"pid\":%d,\"existed\":true", r->id, (int)m.pid);
    out_ok(rest);
    return 0;
}

int verb_create(const struct node_ctx *c, int argc, char **argv) {
    struct node_err e;
    struct create_req r;
    struct sbx_paths p;
    struct cg_layout cg;
    char fp[65], sdir[NODE_PATH], tmp[NODE_PATH];
    if (parse(argc, argv, &r, &e) < 0 || sbx_paths(c, r.id, &p, &e) < 0 || cg_layout(c, r.id, &cg, &e) < 0 ||
        path_join(sdir, c->node_dir, "sandboxes", &e) < 0 || mkdirs(sdir, 0711, &e) < 0)
        goto fail;
    fingerprint(&r, fp);
    /* The dir appears already locked: made aside, locked, then moved in place without replacing. */
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s-%d", sdir, r.id, (int)getpid());
    if (mkdir(tmp, 0711) < 0) { nfail_errno(&e, "mkdir", tmp); goto fail; }
    int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || flock(fd, LOCK_EX) < 0) { nfail_errno(&e, "Locking", tmp); rmdir(tmp); goto fail; }
    if (renameat2(AT_FDCWD, tmp, AT_FDCWD, p.dir, RENAME_NOREPLACE) < 0) {
        int err = errno;
        close(fd);
        rmdir(tmp);
        if (err != EEXIST) { errno = err; nfail_errno(&e, "Renaming into", p.dir); goto fail; }
        if (existing(c, &r, fp, &e) < 0) goto fail;
        return 0;
    }
    (void)chmod(p.dir, 0711); /* the sandbox's shifted root must search it, and nothing more */
    struct node_meta m;
    memset(&m, 0, sizeof m);
    snprintf(m.id, sizeof m.id, "%s", r.id);
    snprintf(m.image, sizeof m.image, "%s", r.image);
    memcpy(m.request, fp, 65);
    m.created_unix_ms = now_real_ms();
    m.deadline_unix_ms = m.created_unix_ms + r.ttl * 1000;
    int gc = node_lock(c, LOCK_SH, &e);
    if (gc < 0 || build(c, &r, &p, &m, &cg, &e) < 0) {
        if (gc >= 0) close(gc);
        /* Leave nothing behind: processes, cgroups, then the directory. */
        struct node_err ignored;
        (void)cg_kill(&cg, &ignored);
        (void)cg_remove(&cg, &ignored);
        (void)clvm_remove_tree(p.dir);
        close(fd);
        goto fail;
    }
    close(gc);
    close(fd);
    char rest[160];
    snprintf(rest, sizeof rest, ",\"ref\":\"%s\",\"pid\":%d,\"existed\":false", r.id, (int)m.pid);
    out_ok(rest);
    return 0;
fail:
    out_err(&e);
    return 0;
}
