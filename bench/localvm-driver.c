/*
 * bench/localvm-driver.c — bench/localvm.sh's driver: the LocalVM plugin's create and destroy
 * through the C ABI (dlopen of the release .so, as the host loads it), interleaved cycle by cycle
 * with the bwrap baseline, in one process.
 *
 *   localvm-driver PLUGIN.so DATA_DIR N BWRAP_ROOTFS
 *
 * Prints one line per cycle: "<create ms> <destroy ms> <trash ms> <bwrap ms>":
 *   create   create→ready (the init exec'd and its signal traps set)
 *   destroy  destroy, to its answer
 *   trash    from destroy's answer until the plugin's background thread has removed the sandbox's
 *            directory from <DATA_DIR>/trash (the work destroy leaves for after its answer)
 *   bwrap    `bwrap --unshare-all … /bin/true` of the same rootfs, spawn to exit (posix_spawnp +
 *            waitpid, no shell in between)
 * Why interleaved, and why the trash is waited for (untimed in create): docs/performance.md,
 * "LocalVM create (session 6)". In short: a bwrap loop run after all plugin cycles meets other
 * load than they did on this shared machine, and a create that starts while the previous
 * sandbox's tree is still being removed shares two CPUs with that removal.
 * Odd cycles run bwrap first, even ones the plugin first, so neither side always follows the other.
 * With LOCALVM_DRIVER_NO_TRASH_WAIT=1 in the environment the next cycle does not wait for the trash
 * (trash prints 0): the old method, kept to attribute the difference.
 */
#include "sandboxer_plugin.h"
#include <dirent.h>
#include <dlfcn.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "driver-common.h"  // after the system headers it uses

/* Entries in dir other than . and .. (0 when it does not exist). */
static int entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

/* Waits (inotify, at most 10 s) until the trash dir is empty; 0, or -1 when it did not empty.
 * One inotify fd for the whole run: closing one waits for an SRCU grace period. */
static int wait_trash_empty(int ino, const char *trash) {
    static int watching = 0;
    if (!watching && inotify_add_watch(ino, trash, IN_DELETE | IN_MOVED_FROM) >= 0) watching = 1;
    double deadline = mono() + 10000;
    char buf[4096];
    while (entries(trash) > 0) {
        double left = deadline - mono();
        if (left <= 0) return -1;
        struct pollfd pfd = { ino, POLLIN, 0 };
        if (poll(&pfd, 1, watching ? (int)left : 1) > 0) (void)!read(ino, buf, sizeof buf);
    }
    return 0;
}

static double bwrap_run(char *const *argv) {
    double t0 = mono();
    pid_t pid;
    if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ) != 0) { perror("posix_spawnp bwrap"); exit(1); }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {}
    double t1 = mono();
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { fprintf(stderr, "bwrap failed (status %d)\n", st); exit(1); }
    return t1 - t0;
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: localvm-driver PLUGIN.so DATA_DIR N BWRAP_ROOTFS\n"); return 2; }
    const char *so = argv[1], *data = argv[2], *rootfs = argv[4];
    int n = atoi(argv[3]);
    char *bwrap[] = { "bwrap", "--unshare-all", "--hostname", "bench", "--ro-bind", (char *)rootfs, "/",
                      "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--new-session", "--die-with-parent",
                      "--", "/bin/true", NULL };
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!h) { fprintf(stderr, "%s\n", dlerror()); return 1; }
    sbx_plugin_entry_fn entry = (sbx_plugin_entry_fn)dlsym(h, SANDBOXER_PLUGIN_ENTRY_SYMBOL);
    static sbx_host_api api = { sizeof api, SANDBOXER_ABI_MAJOR, SANDBOXER_ABI_MINOR, 0, lg, now_ms, sec, bf, canc };
    const sbx_plugin *p = entry(&api);
    char cfg[1024], req[1024], trash[1024];
    snprintf(cfg, sizeof cfg, "{\"data_dir\":\"%s\",\"cgroup_parent\":\"sbxbench-%d\"}", data, (int)getpid());
    snprintf(trash, sizeof trash, "%s/trash", data);
    void *inst = 0;
    sbx_result r = { sizeof r, 0, 0, 0 };
    if (p->instance_create(p, (const uint8_t *)cfg, strlen(cfg), &inst, &r)) { fprintf(stderr, "instance: %.*s\n", (int)r.len, r.data); return 1; }
    const char *nowait = getenv("LOCALVM_DRIVER_NO_TRASH_WAIT");
    int wait_trash = !(nowait && strcmp(nowait, "1") == 0);
    int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (ino < 0) { perror("inotify_init1"); return 1; }
    for (int i = -1; i < n; i++) { /* i = -1: warm-up of both (the create builds the image bwrap runs) */
        int bwrap_first = i >= 0 && i % 2 == 0;
        double b = 0;
        if (bwrap_first) b = bwrap_run(bwrap);
        snprintf(req, sizeof req, "{\"sandbox_id\":\"bench%d\",\"host_id\":\"bench\",\"profile\":\"default\",\"resources\":{},"
                 "\"network\":\"none\",\"env\":{},\"labels\":{}}", i + 1);
        double t0 = mono();
        if (call(p, inst, "create", req, NULL)) return 1;
        double t1 = mono();
        snprintf(req, sizeof req, "{\"sandbox_id\":\"bench%d\",\"backend_ref\":\"bench%d\"}", i + 1, i + 1);
        if (call(p, inst, "destroy", req, NULL)) return 1;
        double t2 = mono();
        if (wait_trash && wait_trash_empty(ino, trash) < 0) { fprintf(stderr, "the trash did not empty within 10 s\n"); return 1; }
        double t3 = mono();
        if (!bwrap_first) b = bwrap_run(bwrap);
        if (i >= 0) printf("%.3f %.3f %.3f %.3f\n", t1 - t0, t2 - t1, t3 - t2, b);
        fflush(stdout);
    }
    p->instance_destroy(inst); /* empties the trash: nothing of the sandboxes outlives the driver */
    return 0;
}
