/*
 * trash.c — waiting for a directory to become empty (the LocalVM trash, emptied in the background).
 */
#include "internal.h"
#include "clocalvm.h"

#include <dirent.h>
#include <poll.h>
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
