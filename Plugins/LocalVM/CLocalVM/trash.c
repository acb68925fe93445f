/*
 * trash.c — waiting for a directory to become empty (the LocalVM trash, emptied in the background),
 * and emptying it from a process of its own that outlives the caller: the init program's remover
 * mode (posix_spawn'd), or a fork of the caller where that program is missing.
 */
#include "internal.h"
#include "clocalvm.h"

#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <sys/inotify.h>
#include <time.h>

/* Entries of dir other than . and ..: 0 when none (or dir is gone), 1 when some, -1 on error. */
static int has_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : -1;
    int found = 0;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) found = 1;
    closedir(d);
    return found;
}

static int64_t mono_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int clvm_wait_dir_empty(const char *dir, int timeout_ms) {
    int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (fd < 0) return -1;
    /* Watch first, then look: an entry removed between the two still wakes the poll below. */
    if (inotify_add_watch(fd, dir, IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_ONLYDIR) < 0) {
        int saved = errno;
        close(fd);
        if (saved == ENOENT) return 0;
        errno = saved;
        return -1;
    }
    int64_t deadline = mono_ms() + timeout_ms;
    int rc;
    for (;;) {
        int some = has_entries(dir);
        if (some <= 0) { rc = some; break; }
        int64_t left = deadline - mono_ms();
        if (left <= 0) { rc = 1; break; }
        struct pollfd p = { fd, POLLIN, 0 };
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno != EINTR) { rc = -1; break; }
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        while (read(fd, buf, sizeof buf) > 0) {} /* the events only say "look again" */
    }
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* The detached remover's title: a fork shows its parent's command line in ps and /proc/PID/cmdline
 * ("sandboxer destroy sbx-…"), which reads as if the command still ran (and a test looking for a
 * sandbox's processes by its id would count it). The argument area is rewritten in place (its
 * bounds are fields 48 and 49 of /proc/self/stat), as setproctitle does. Best effort. */
static void retitle(void) {
    prctl(PR_SET_NAME, "sbx-trash-rm", 0, 0, 0);
    char buf[2048];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return;
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return;
    /* After ") ": field 3 is the state; arg_start and arg_end are fields 48 and 49. */
    int field = 2;
    unsigned long long arg_start = 0, arg_end = 0;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
        field++;
        if (field == 48) arg_start = strtoull(tok, NULL, 10);
        if (field == 49) { arg_end = strtoull(tok, NULL, 10); break; }
    }
    if (arg_start == 0 || arg_end <= arg_start) return;
    static const char title[] = "sandboxer: trash remover";
    size_t len = (size_t)(arg_end - arg_start);
    memset((void *)(uintptr_t)arg_start, 0, len);
    memcpy((void *)(uintptr_t)arg_start, title, len < sizeof title ? len - 1 : sizeof title - 1);
}

/* The detached remover: every entry of dir, then _exit (never exit(): the stdio buffers and atexit
 * handlers copied from the parent are the parent's to run). */
static void __attribute__((noreturn)) remove_entries_and_exit(const char *dir) {
    DIR *d = opendir(dir);
    int failed = 0;
    if (d) {
        struct dirent *e;
        char path[PATH_MAX];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) { failed = 1; continue; }
            if (clvm_remove_tree(path) != 0) failed = 1;
        }
        closedir(d);
    }
    _exit(failed);
}

/* What a remover must not keep of the process it came from: descriptors above 2 (0-2 become
 * /dev/null, so a reader of the caller's output sees EOF when the caller exits, not later), signal
 * dispositions (the caller's handlers are Swift code) and the signal mask. */
static void drop_inherited(void) {
    syscall(SYS_close_range, 3U, ~0U, 0U);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); if (null > 2) close(null); }
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = SIG_DFL;
        sigaction(s, &sa, NULL);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

int clvm_trash_remove_detached(const char *dir) {
    /* fork(), not a raw clone: glibc resets its malloc and stdio locks in the child, so opendir and
     * snprintf are safe there although the parent has other threads. Twice: the remover is a
     * grandchild, adopted by init (or a subreaper) when the middle process exits at once, so a
     * long-lived caller (serve, a test runner) never holds its zombie. */
    pid_t mid = fork();
    if (mid < 0) return -1;
    if (mid > 0) {
        int st;
        while (waitpid(mid, &st, 0) < 0 && errno == EINTR) {}
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { errno = ECHILD; return -1; }
        return 0;
    }
    /* The middle process: the title first, so the remover has it before the caller goes on. */
    retitle();
    pid_t pid = fork();
    if (pid != 0) _exit(pid < 0 ? 1 : 0);
    /* The remover: its own session (a terminal's Ctrl-C to the caller's group does not cut it
     * short), and nothing of the parent's (drop_inherited). */
    setsid();
    drop_inherited();
    remove_entries_and_exit(dir);
    return 0; /* not reached */
}

/* The remover mode of sandboxer-localvm-init (`--remove-trash DIR`), started with posix_spawn by
 * TrashBin.handOff: unlike clvm_trash_remove_detached, nothing of the caller's address space is
 * copied (a fork of a CLI or serve process copied its page tables and the caller waited ~5 ms for
 * the middle process, perf trace's wait4 in a `destroy`). The spawned process is the middle one:
 * it forks the remover and exits at once, so the caller waits only for that exit and a long-lived
 * caller never keeps a zombie. */
void clvm_trash_remover_main(const char *dir_arg) {
    /* A copy: retitle() overwrites the argument area dir_arg points into. */
    static char dir[PATH_MAX];
    if (strlen(dir_arg) >= sizeof dir) _exit(2);
    strcpy(dir, dir_arg);
    /* Nothing of the spawner's: its descriptors (close-on-exec should have done this), signal
     * dispositions and mask (posix_spawn's attributes cover some; all of them here). */
    drop_inherited();
    /* Not the spawner's working directory: a remover outliving it must not hold its mount busy
     * (a relative trash path, which the plugin never passes, keeps it). */
    if (dir[0] == '/' && chdir("/") < 0) _exit(1);
    retitle();
    pid_t pid = fork();
    if (pid != 0) _exit(pid < 0 ? 1 : 0);
    /* The remover: its own session, so a terminal's Ctrl-C to the caller's group does not cut it short. */
    setsid();
    remove_entries_and_exit(dir);
}
