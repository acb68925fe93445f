/*
 * sandboxer-node — the BYOK node helper: LocalVM's sandboxes on an operator's host, one verb per run.
 *
 *   sandboxer-node --node-dir DIR [--cgroup-parent NAME] VERB [args]
 *
 * Every verb but exec and snapshot prints exactly one JSON object on stdout and exits 0 once it has
 * printed it (the exit status is never the result); exec and snapshot speak frames (frames.c).
 * The protocol is docs/backends/byok-node-protocol.md.
 */
#include "node.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct verb { const char *name; int (*run)(const struct node_ctx *, int, char **); };

static const struct verb verbs[] = {
    { "version", verb_version },       { "put-blob", verb_put_blob }, { "create", verb_create },
    { "exec", verb_exec },             { "destroy", verb_destroy },   { "inventory", verb_inventory },
    { "set-timeout", verb_set_timeout }, { "snapshot", verb_snapshot }, { "gc", verb_gc },
};

static int usage(const char *why) {
    struct node_err e;
    nfail(&e, "invalid_request", "%s Usage: sandboxer-node --node-dir DIR [--cgroup-parent NAME] VERB [args].", why);
    out_err(&e);
    return 0;
}

/* A cgroup parent is one component of letters, digits, '.', '_' and '-' (not "." or ".."). */
static int valid_parent(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= 128 || !strcmp(s, ".") || !strcmp(s, "..")) return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '_' || ch == '-'))
            return 0;
    }
    return 1;
}

static int setup(struct node_ctx *c, const char *dir, const char *parent, struct node_err *e) {
    if (dir[0] != '/' || strlen(dir) >= NODE_PATH - 256)
        return nfail(e, "invalid_request", "--node-dir must be an absolute path shorter than %d bytes.", NODE_PATH - 256);
    if (mkdirs(dir, 0711, e) < 0) return -1;
    char real[PATH_MAX];
    if (!realpath(dir, real)) return nfail_errno(e, "Resolving the node dir", dir);
    if (strlen(real) >= NODE_PATH - 256)
        return nfail(e, "invalid_request", "The node dir resolves to a path longer than %d bytes.", NODE_PATH - 256);
    memcpy(c->node_dir, real, strlen(real) + 1);
    if (parent) {
        if (!valid_parent(parent))
            return nfail(e, "invalid_request", "--cgroup-parent must be one name of letters, digits, '.', '_' or '-'.");
        snprintf(c->cgroup_parent, sizeof c->cgroup_parent, "%s", parent);
    } else {
        /* Per node dir, so test hosts sharing one kernel never share a parent. */
        struct sha256 s;
        char hex[65];
        sha256_init(&s);
        sha256_update(&s, c->node_dir, strlen(c->node_dir));
        sha256_hex(&s, hex);
        snprintf(c->cgroup_parent, sizeof c->cgroup_parent, "sandboxer-node-%.12s", hex);
    }
    return 0;
}

int main(int argc, char **argv) {
    /* A vanished controller must show up as write errors we handle (exec kills its command), not
     * as a signal that ends the helper first; there is no terminal, so no SIGHUP is expected. */
    signal(SIGPIPE, SIG_IGN);
    umask(022);
    const char *dir = NULL, *parent = NULL;
    int i = 1;
    while (i < argc && !strncmp(argv[i], "--", 2)) {
        if (!strcmp(argv[i], "--node-dir") && i + 1 < argc) { dir = argv[i + 1]; i += 2; }
        else if (!strcmp(argv[i], "--cgroup-parent") && i + 1 < argc) { parent = argv[i + 1]; i += 2; }
        else return usage("Unknown global option.");
    }
    if (i >= argc) return usage("No verb given.");
    const char *name = argv[i];
    const struct verb *v = NULL;
    for (size_t k = 0; k < sizeof verbs / sizeof verbs[0]; k++)
        if (!strcmp(verbs[k].name, name)) v = &verbs[k];
    if (!v) return usage("Unknown verb.");
    struct node_ctx c;
    memset(&c, 0, sizeof c);
    if (v->run != verb_version) {
        if (!dir) return usage("--node-dir is required.");
        struct node_err e;
        if (setup(&c, dir, parent, &e) < 0) {
            if (v->run == verb_exec || v->run == verb_snapshot) frame_error(STDOUT_FILENO, &e);
            else out_err(&e);
            return 0;
        }
    }
    return v->run(&c, argc - i - 1, argv + i + 1);
}

int verb_version(const struct node_ctx *c, int argc, char **argv) {
    (void)c; (void)argv;
    if (argc != 0) return usage("version takes no arguments.");
    out_ok(",\"protocol\":1,\"version\":\"" NODE_VERSION "\"");
    return 0;
}
