/*
 * cgroup.c — the cgroups of node sandboxes, under <root>/<cgroup-parent>/<id>.
 *
 * Two layouts: LocalVM's hybrid one (v1 memory, pids, cpu and freezer for limits plus a
 * controller-less v2 tree at /sys/fs/cgroup/unified whose cgroup.kill ends a sandbox), used when
 * the v1 hierarchies are mounted; and a pure v2 tree at /sys/fs/cgroup (most current distributions),
 * where one directory carries limits, freezing and cgroup.kill.
 */
#include "node.h"
#include "clocalvm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CG_ROOT "/sys/fs/cgroup"
static const char *const v1_controllers[] = { "memory", "pids", "cpu", "freezer" };

static int exists(const char *p) { struct stat st; return stat(p, &st) == 0; }

int cg_layout(const struct node_ctx *c, const char *id, struct cg_layout *l, struct node_err *e) {
    memset(l, 0, sizeof *l);
    int n;
    if (exists(CG_ROOT "/cgroup.controllers")) {
        l->unified = 1;
        l->count = 1;
        n = snprintf(l->dirs[0], NODE_PATH, CG_ROOT "/%s/%s", c->cgroup_parent, id);
        memcpy(l->kill_dir, l->dirs[0], NODE_PATH);
        memcpy(l->freezer_dir, l->dirs[0], NODE_PATH);
        /* The exec helper must write cgroup.procs before it enters the sandbox's cgroup namespace
         * (v2 checks the source cgroup is visible there), so nothing is command-only. */
        l->command_only = 0;
        return n >= NODE_PATH ? nfail(e, "invalid_request", "The cgroup path is too long.") : 0;
    }
    for (int i = 0; i < 4; i++) {
        char h[64];
        snprintf(h, sizeof h, CG_ROOT "/%s", v1_controllers[i]);
        if (!exists(h) || !exists(CG_ROOT "/unified/cgroup.procs"))
            return nfail(e, "unavailable", "This host has neither a pure cgroup v2 tree at " CG_ROOT
                         " nor the v1 memory, pids, cpu and freezer hierarchies with v2 at " CG_ROOT "/unified.");
        snprintf(l->dirs[i], NODE_PATH, "%s/%s/%s", h, c->cgroup_parent, id);
    }
    snprintf(l->dirs[4], NODE_PATH, CG_ROOT "/unified/%s/%s", c->cgroup_parent, id);
    l->count = 5;
    memcpy(l->kill_dir, l->dirs[4], NODE_PATH);
    memcpy(l->freezer_dir, l->dirs[3], NODE_PATH);
    /* The memory cgroup (first) only for the command: the exec helper must never be its OOM victim. */
    l->command_only = 1;
    return 0;
}

static int knob(const char *dir, const char *name, const char *value, struct node_err *e) {
    char path[NODE_PATH];
    if (path_join(path, dir, name, e) < 0) return -1;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write_all(fd, value, strlen(value)) < 0) {
        nfail_errno(e, "Writing", path);
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static void parent_of(const char *dir, char *out) {
    size_t n = strlen(dir);
    memcpy(out, dir, n + 1);
    char *slash = strrchr(out, '/');
    if (slash) *slash = 0;
}

int cg_create(const struct cg_layout *l, const struct cg_limits *lim, struct node_err *e) {
    char num[64];
    for (int i = 0; i < l->count; i++) {
        char parent[NODE_PATH];
        parent_of(l->dirs[i], parent);
        if (mkdir(parent, 0755) < 0 && errno != EEXIST) return nfail_errno(e, "mkdir", parent);
        if (l->unified) {
            /* Limits need the controllers enabled on the way down (best effort at the root). */
            (void)knob(CG_ROOT, "cgroup.subtree_control", "+memory +pids +cpu", e);
            if (knob(parent, "cgroup.subtree_control", "+memory +pids +cpu", e) < 0) return -1;
        }
        if (mkdir(l->dirs[i], 0755) < 0) {
            if (errno == EEXIST)
                return nfail(e, "invalid_request", "The cgroup %s already exists: a sandbox with this id is on this host.", l->dirs[i]);
            return nfail_errno(e, "mkdir", l->dirs[i]);
        }
    }
    const char *mem = l->dirs[0], *pids = l->unified ? l->dirs[0] : l->dirs[1], *cpu = l->unified ? l->dirs[0] : l->dirs[2];
    if (lim->memory_bytes > 0) {
        snprintf(num, sizeof num, "%lld", lim->memory_bytes);
        if (knob(mem, l->unified ? "memory.max" : "memory.limit_in_bytes", num, e) < 0) return -1;
        char swap[NODE_PATH];
        /* Swap must not bypass the limit (the file is absent without swap accounting). */
        if (l->unified) {
            if (path_join(swap, mem, "memory.swap.max", e) == 0 && exists(swap) && knob(mem, "memory.swap.max", "0", e) < 0) return -1;
        } else if (path_join(swap, mem, "memory.memsw.limit_in_bytes", e) == 0 && exists(swap)) {
            if (knob(mem, "memory.memsw.limit_in_bytes", num, e) < 0) return -1;
        }
    }
    snprintf(num, sizeof num, "%lld", lim->pids > 0 ? lim->pids : 4096);
    if (knob(pids, "pids.max", num, e) < 0) return -1;
    if (lim->cpus > 0) {
        long long quota = (long long)(lim->cpus * 100000 + 0.5);
        if (quota < 1000) quota = 1000;
        if (l->unified) {
            snprintf(num, sizeof num, "%lld 100000", quota);
            if (knob(cpu, "cpu.max", num, e) < 0) return -1;
        } else {
            if (knob(cpu, "cpu.cfs_period_us", "100000", e) < 0) return -1;
            snprintf(num, sizeof num, "%lld", quota);
            if (knob(cpu, "cpu.cfs_quota_us", num, e) < 0) return -1;
        }
    }
    return 0;
}

int cg_open_procs(const struct cg_layout *l, int *fds, struct node_err *e) {
    for (int i = 0; i < l->count; i++) {
        char path[NODE_PATH];
        if (path_join(path, l->dirs[i], "cgroup.procs", e) < 0) { while (i--) close(fds[i]); return -1; }
        fds[i] = open(path, O_WRONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            if (errno == ENOENT) nfail(e, "not_found", "The cgroup %s of the sandbox is missing.", l->dirs[i]);
            else nfail_errno(e, "Opening", path);
            while (i--) close(fds[i]);
            return -1;
        }
    }
    return 0;
}

int cg_exists(const struct cg_layout *l) {
    for (int i = 0; i < l->count; i++) if (exists(l->dirs[i])) return 1;
    return 0;
}

/* SIGKILLs every pid listed in dir/cgroup.procs; returns how many were listed. */
static int kill_listed(const char *dir) {
    char path[NODE_PATH], text[65536];
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    if (read_small(path, text, sizeof text) <= 0) return 0;
    int count = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        long pid = strtol(line, NULL, 10);
        if (pid > 0) { kill((pid_t)pid, SIGKILL); count++; }
    }
    return count;
}

int cg_kill(const struct cg_layout *l, struct node_err *e) {
    /* Frozen tasks take no signal, not even SIGKILL, until thawed (a snapshot cut short). */
    (void)cg_freeze(l, 0, e);
    char killf[NODE_PATH];
    snprintf(killf, sizeof killf, "%s/cgroup.kill", l->kill_dir);
    if (exists(killf)) {
        int rc = clvm_cgroup_kill_wait(l->kill_dir, 5000);
        if (rc == 1) return nfail(e, "internal", "The processes of the sandbox did not exit within 5 seconds of cgroup.kill.");
        if (rc < 0 && errno != ENOENT) return nfail_errno(e, "cgroup.kill in", l->kill_dir);
    }
    /* Without cgroup.kill (Linux < 5.14), or for a task only in a v1 cgroup: one by one, until
     * every list is empty (bounded: a task cannot fork forever once it is being killed). */
    for (int round = 0; round < 200; round++) {
        int listed = 0;
        for (int i = 0; i < l->count; i++) listed += kill_listed(l->dirs[i]);
        if (!listed) return 0;
        poll(NULL, 0, 5);
    }
    return nfail(e, "internal", "The processes of the sandbox did not all exit within a second of SIGKILL.");
}

int cg_remove(const struct cg_layout *l, struct node_err *e) {
    for (int i = 0; i < l->count; i++) {
        /* A just-killed task can hold a v1 cgroup for a moment after v2 reports it empty: a short
         * bounded retry. */
        for (int attempt = 0; rmdir(l->dirs[i]) < 0; attempt++) {
            if (errno == ENOENT) break;
            if (errno != EBUSY || attempt > 200) return nfail_errno(e, "rmdir", l->dirs[i]);
            poll(NULL, 0, 5);
        }
        char parent[NODE_PATH];
        parent_of(l->dirs[i], parent);
        (void)rmdir(parent); /* ENOTEMPTY while other sandboxes are there */
    }
    return 0;
}

/* The freezer state: 1 frozen, 0 thawed or freezing, -1 unknown. */
static int frozen_now(const struct cg_layout *l) {
    char path[NODE_PATH], text[512];
    if (l->unified) {
        snprintf(path, sizeof path, "%s/cgroup.events", l->freezer_dir);
        if (read_small(path, text, sizeof text) < 0) return -1;
        const char *p = strstr(text, "frozen ");
        return p ? p[7] == '1' : -1;
    }
    snprintf(path, sizeof path, "%s/freezer.state", l->freezer_dir);
    if (read_small(path, text, sizeof text) < 0) return -1;
    return strncmp(text, "FROZEN", 6) == 0;
}

int cg_freeze(const struct cg_layout *l, int frozen, struct node_err *e) {
    const char *file = l->unified ? "cgroup.freeze" : "freezer.state";
    const char *value = l->unified ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED");
    char path[NODE_PATH];
    snprintf(path, sizeof path, "%s/%s", l->freezer_dir, file);
    if (!exists(path)) return frozen ? nfail(e, "unavailable", "The sandbox has no freezer, so it cannot be quiesced.") : 0;
    int64_t limit = now_mono_ms() + 5000;
    for (;;) {
        /* Writing FROZEN again while FREEZING retries the tasks that were not stopped yet. */
        if (knob(l->freezer_dir, file, value, e) < 0) return -1;
        int state = frozen_now(l);
        if (state == frozen || (!frozen && state == 0)) return 0;
        if (now_mono_ms() > limit) {
            if (frozen) (void)cg_freeze(l, 0, e);
            return nfail(e, "unavailable", "The sandbox's processes did not all %s within 5 seconds; try again.",
                         frozen ? "stop" : "resume");
        }
        poll(NULL, 0, 1);
    }
}
