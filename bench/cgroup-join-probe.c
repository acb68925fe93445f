/*
 * bench/cgroup-join-probe.c — attributes LocalVM exec's cgroup cost (docs/performance.md, "LocalVM
 * exec"): in interleaved rounds, a fresh child joins five cgroups (v1 memory, pids, cpu, freezer and
 * a v2 one, as an exec's helper and command do) either by writing "0" to each `cgroup.procs` (the
 * old way) or through the v1 `tasks` files plus clone3 CLONE_INTO_CGROUP for the v2 cgroup (the
 * fast way). Prints per round: procs-ms fast-ms (clone to reaped). GAP_MS between joins (default 50)
 * matters: the kernel's rcu_sync lets a cgroup.procs write that follows another within about a grace
 * period skip the wait, so back-to-back joins hide the cost that a lone exec pays. Root only; makes
 * and removes cgroups named cgjoin<pid>.
 *
 *   cc -O2 -o /tmp/probe bench/cgroup-join-probe.c && /tmp/probe 30 50
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

static const char *const v1[] = { "memory", "pids", "cpu", "freezer" };

static double mono(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }

static int open_at(const char *h, const char *leaf, int flags) {
    char p[512];
    snprintf(p, sizeof p, "/sys/fs/cgroup/%s/cgjoin%d%s%s", h, (int)getpid(), leaf ? "/" : "", leaf ? leaf : "");
    int fd = open(p, flags | O_CLOEXEC);
    if (fd < 0) { perror(p); exit(1); }
    return fd;
}

static double reap(long pid, double t0) {
    int st;
    if (pid < 0) { perror("clone"); exit(1); }
    while (waitpid((pid_t)pid, &st, 0) < 0 && errno == EINTR) {}
    if (!WIFEXITED(st) || WEXITSTATUS(st)) { fprintf(stderr, "a child failed to join\n"); exit(1); }
    return mono() - t0;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 30, gap = argc > 2 ? atoi(argv[2]) : 50;
    char p[512];
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "/sys/fs/cgroup/%s/cgjoin%d", i < 4 ? v1[i] : "unified", (int)getpid());
        if (mkdir(p, 0755) < 0) { perror(p); return 1; }
    }
    int procs[5], tasks[4];
    for (int i = 0; i < 4; i++) { procs[i] = open_at(v1[i], "cgroup.procs", O_WRONLY); tasks[i] = open_at(v1[i], "tasks", O_WRONLY); }
    procs[4] = open_at("unified", "cgroup.procs", O_WRONLY);
    int v2dir = open_at("unified", NULL, O_RDONLY | O_DIRECTORY);
    for (int r = 0; r < n; r++) {
        usleep((useconds_t)gap * 1000);
        double t0 = mono();
        long a = syscall(SYS_clone, SIGCHLD, 0L, 0L, 0L, 0L);
        if (a == 0) { for (int i = 0; i < 5; i++) if (write(procs[i], "0", 1) != 1) _exit(1); _exit(0); }
        double old = reap(a, t0);
        struct clone_args_v2 ca;
        memset(&ca, 0, sizeof ca);
        ca.flags = CLONE_INTO_CGROUP;
        ca.exit_signal = SIGCHLD;
        ca.cgroup = (uint64_t)v2dir;
        usleep((useconds_t)gap * 1000);
        t0 = mono();
        long b = syscall(SYS_clone3, &ca, sizeof ca);
        if (b == 0) { for (int i = 0; i < 4; i++) if (write(tasks[i], "0", 1) != 1) _exit(1); _exit(0); }
        double fast = reap(b, t0);
        printf("%.3f %.3f\n", old, fast);
    }
    for (int i = 0; i < 5; i++) {
        snprintf(p, sizeof p, "/sys/fs/cgroup/%s/cgjoin%d", i < 4 ? v1[i] : "unified", (int)getpid());
        rmdir(p);
    }
    return 0;
}
