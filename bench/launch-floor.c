/*
 * bench/launch-floor.c — the LocalVM launcher alone, without the plugin around it: what its kernel
 * work costs (namespaces, overlay and the other mounts, idmap off, 5 cgroup migrations, pivot_root,
 * exec), for bench/launch-floor.sh to set against bare bwrap. Built from CLocalVM's own C files.
 *
 *   launch-floor ROOTFS WORKDIR N [idmap|idmap-cached] [fast]   prints per launch: "<launch ms> <prep+launch ms>"
 *
 * With "idmap", the launch also makes the idmapped layers the plugin makes when its uid pool is on
 * (the default): a user namespace of their own and two idmapped mounts, the sandbox in its own range.
 * With "idmap-cached", the user namespace is made once (clvm_idmap_userns_open) and reused by every
 * launch, as the plugin does per id slice. With "fast", the cgroups are joined as the plugin does
 * (clvm_launch_spec.cgroup_fast: v1 `tasks` written by the init, clone3 into the v2 cgroup) instead
 * of by the init's pid written to five `cgroup.procs`.
 *
 * Each launch runs /bin/true as the init (as the bwrap baseline does), so the launcher's ready
 * handshake (fd 3 closed) comes with its exit. "prep" is what the plugin also does in C terms
 * before it calls clvm_launch: the sandbox directory tree and the 5 cgroup directories.
 */
#define _GNU_SOURCE
#include "clocalvm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const hierarchies[] = { "memory", "pids", "cpu", "freezer", "unified" };
#define NH 5
#define ID_BASE 100000u

static double mono(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *what) { fprintf(stderr, "launch-floor: %s: %s\n", what, strerror(errno)); exit(1); }

int main(int argc, char **argv) {
    if (argc < 4 || argc > 6) { fprintf(stderr, "usage: launch-floor ROOTFS WORKDIR N [idmap|idmap-cached] [fast]\n"); return 2; }
    const char *lower = argv[1], *work = argv[2];
    int n = atoi(argv[3]), idmapped = 0, cached = 0, fast = 0;
    for (int a = 4; a < argc; a++) {
        if (strcmp(argv[a], "idmap") == 0) idmapped = 1;
        else if (strcmp(argv[a], "idmap-cached") == 0) idmapped = cached = 1;
        else if (strcmp(argv[a], "fast") == 0) fast = 1;
        else { fprintf(stderr, "launch-floor: unknown option %s\n", argv[a]); return 2; }
    }
    char parent[64], path[4096], dir[4096];
    snprintf(parent, sizeof parent, "sbxfloor-%d", (int)getpid());
    for (int h = 0; h < NH; h++) {
        snprintf(path, sizeof path, "/sys/fs/cgroup/%s/%s", hierarchies[h], parent);
        if (mkdir(path, 0755) < 0 && errno != EEXIST) die(path);
    }
    const char *targv[] = { "/bin/true", NULL }, *tenv[] = { "PATH=/bin", NULL };
    for (int i = -1; i < n; i++) { /* i = -1: warm-up */
        double t0 = mono();
        snprintf(dir, sizeof dir, "%s/s%d", work, i + 1);
        static const char *const subdirs[] = { "", "/rootfs", "/upper", "/work", "/ctl", "/lower", "/layers" };
        for (size_t k = 0; k < (idmapped ? 7u : 5u); k++) {
            snprintf(path, sizeof path, "%s%s", dir, subdirs[k]);
            if (mkdir(path, k == 0 ? 0711 : 0755) < 0) die(path);
            if ((k == 2 || k == 3) && chown(path, ID_BASE, ID_BASE) < 0) die(path);
        }
        int fds[NH];
        for (int h = 0; h < NH; h++) {
            snprintf(path, sizeof path, "/sys/fs/cgroup/%s/%s/s%d", hierarchies[h], parent, i + 1);
            if (mkdir(path, 0755) < 0) die(path);
            /* fast: v1 `tasks` files, the v2 cgroup (the last hierarchy) as a directory fd. */
            int v2 = h == NH - 1;
            snprintf(path, sizeof path, "/sys/fs/cgroup/%s/%s/s%d%s", hierarchies[h], parent, i + 1,
                     !fast ? "/cgroup.procs" : v2 ? "" : "/tasks");
            if ((fds[h] = open(path, (fast && v2 ? O_RDONLY | O_DIRECTORY : O_WRONLY) | O_CLOEXEC)) < 0) die(path);
        }
        char host[16], map[64], err[512];
        snprintf(host, sizeof host, "s%d", i + 1);
        /* idmap: files stay in ID_BASE's range on disk; the sandbox runs in a range of its own. */
        snprintf(map, sizeof map, "0 %u 65536\n", idmapped ? ID_BASE + 65536u : ID_BASE);
        char idmap_line[64];
        snprintf(idmap_line, sizeof idmap_line, "%u %u 65536\n", ID_BASE, ID_BASE + 65536u);
        static int userns = -1;
        if (cached && userns < 0 && (userns = clvm_idmap_userns_open(idmap_line, err, sizeof err)) < 0) {
            fprintf(stderr, "launch-floor: %s\n", err);
            return 1;
        }
        clvm_launch_spec spec = { dir, lower, host, map, fds, NH, targv, tenv, NULL, NULL,
                                  idmapped ? idmap_line : NULL, NULL, cached ? &userns : NULL, fast };
        pid_t pid = 0;
        double t1 = mono();
        if (clvm_launch(&spec, &pid, err, sizeof err) < 0) { fprintf(stderr, "launch: %s\n", err); return 1; }
        double t2 = mono();
        for (int h = 0; h < NH; h++) close(fds[h]);
        /* Untimed clean-up: the init (/bin/true) has exited or is exiting; wait, then remove. */
        int pfd = clvm_pidfd_open(pid);
        if (pfd >= 0) { clvm_pidfd_wait_exit(pfd, 5000); close(pfd); }
        for (int h = 0; h < NH; h++) {
            snprintf(path, sizeof path, "/sys/fs/cgroup/%s/%s/s%d", hierarchies[h], parent, i + 1);
            for (int tries = 0; rmdir(path) < 0 && errno == EBUSY && tries < 1000; tries++) usleep(1000);
        }
        if (clvm_remove_tree(dir) < 0) die(dir);
        if (i >= 0) printf("%.3f %.3f\n", t2 - t1, t2 - t0);
    }
    for (int h = 0; h < NH; h++) {
        snprintf(path, sizeof path, "/sys/fs/cgroup/%s/%s", hierarchies[h], parent);
        rmdir(path);
    }
    return 0;
}
