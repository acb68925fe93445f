/*
 * meta.c — <node_dir>/sandboxes/<id>/meta: what every later verb needs to find a sandbox's init.
 * A key=value file the helper writes itself (atomically), so no JSON parser is needed to read it.
 */
#include "node.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int meta_save(const char *dir, const struct node_meta *m, struct node_err *e) {
    char path[NODE_PATH], text[1024];
    if (path_join(path, dir, "meta", e) < 0) return -1;
    int n = snprintf(text, sizeof text,
                     "format=1\nid=%s\nimage=%s\nrequest=%s\npid=%d\nstart_time=%llu\ncreated_unix_ms=%lld\n"
                     "deadline_unix_ms=%lld\n",
                     m->id, m->image, m->request, (int)m->pid, m->start_time, m->created_unix_ms,
                     m->deadline_unix_ms);
    return write_file_atomic(path, text, (size_t)n, 0600, e);
}

static int copy_field(char *dst, size_t cap, const char *v) {
    size_t n = strlen(v);
    if (n >= cap) return -1;
    memcpy(dst, v, n + 1);
    return 0;
}

int meta_load(const char *dir, struct node_meta *m, struct node_err *e) {
    char path[NODE_PATH], text[2048];
    if (path_join(path, dir, "meta", e) < 0) return -1;
    memset(m, 0, sizeof *m);
    ssize_t n = read_small(path, text, sizeof text);
    if (n < 0) {
        if (errno == ENOENT) return 0;
        return nfail_errno(e, "Reading", path);
    }
    int seen = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = 0;
        const char *k = line, *v = eq + 1;
        int bad = 0;
        long long num = 0;
        if (!strcmp(k, "id")) { bad = copy_field(m->id, sizeof m->id, v); seen |= 1; }
        else if (!strcmp(k, "image")) bad = copy_field(m->image, sizeof m->image, v);
        else if (!strcmp(k, "request")) bad = copy_field(m->request, sizeof m->request, v);
        else if (!strcmp(k, "pid")) { bad = parse_i64(v, 0, 1 << 30, &num); m->pid = (pid_t)num; seen |= 2; }
        else if (!strcmp(k, "start_time")) m->start_time = strtoull(v, NULL, 10);
        else if (!strcmp(k, "created_unix_ms")) bad = parse_i64(v, 0, 1LL << 62, &m->created_unix_ms);
        else if (!strcmp(k, "deadline_unix_ms")) bad = parse_i64(v, 0, 1LL << 62, &m->deadline_unix_ms);
        if (bad) return nfail(e, "internal", "The sandbox metadata %s has a bad value for %s.", path, k);
    }
    if (seen != 3) return nfail(e, "internal", "The sandbox metadata %s is incomplete.", path);
    return 1;
}
