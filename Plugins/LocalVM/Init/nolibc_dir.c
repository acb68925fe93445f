/*
 * nolibc_dir.c — directory streams over getdents64 for the glibc-free init (see nolibc.h): the
 * trash remover walks whole trees with them (util.c's clvm_remove_tree, trash.c).
 *
 * A stream is one anonymous mapping (header and a 32 KB buffer, glibc's size, so a walk makes as
 * many getdents64 calls as with glibc). Closed streams are kept for the next opendir: a walk holds
 * one stream per level it is in, so the kept ones never outnumber the deepest level reached, and a
 * remover of many sibling directories maps memory once per level, not once per directory. PID 1
 * never opens a directory (it runs no allocation at all).
 */
#if defined(__x86_64__)
#define _GNU_SOURCE
#include "nolibc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#define DIR_MAPPING (32 * 1024 + 4096)

struct __dirstream {
    int fd;
    size_t pos, len;
    struct __dirstream *next_free;
    _Alignas(8) char buf[DIR_MAPPING - 4096];
};

_Static_assert(sizeof(struct __dirstream) <= DIR_MAPPING, "a stream fits its mapping");

static struct __dirstream *free_streams;

static DIR *new_stream(int fd) {
    struct __dirstream *d = free_streams;
    if (d) {
        free_streams = d->next_free;
    } else {
        long m = nolibc_syscall6(SYS_mmap, 0, DIR_MAPPING, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if ((unsigned long)m > -4096UL) { errno = ENOMEM; return NULL; }
        d = (struct __dirstream *)m;
    }
    d->fd = fd;
    d->pos = d->len = 0;
    d->next_free = NULL;
    return d;
}

DIR *opendir(const char *name) {
    if (!name[0]) { errno = ENOENT; return NULL; }
    int fd = (int)NOLIBC_CALL(SYS_openat, AT_FDCWD, name, O_RDONLY | O_NDELAY | O_DIRECTORY | O_CLOEXEC, 0, 0, 0);
    if (fd < 0) return NULL;
    DIR *d = new_stream(fd);
    if (!d) nolibc_syscall6(SYS_close, fd, 0, 0, 0, 0, 0);
    return d;
}

/* As glibc: fd must name a directory open for reading. */
DIR *fdopendir(int fd) {
    struct stat st;
    if (NOLIBC_CALL(SYS_fstat, fd, &st, 0, 0, 0, 0) < 0) return NULL;
    if (!S_ISDIR(st.st_mode)) { errno = ENOTDIR; return NULL; }
    long flags = NOLIBC_CALL(SYS_fcntl, fd, F_GETFL, 0, 0, 0, 0);
    if (flags < 0) return NULL;
    if ((flags & O_ACCMODE) == O_WRONLY) { errno = EINVAL; return NULL; }
    return new_stream(fd);
}

/* As glibc: entries with inode 0 (deleted) are skipped, and ENOENT from a directory removed
 * meanwhile is an end, not an error (errno then unchanged). */
struct dirent *readdir(DIR *d) {
    for (;;) {
        if (d->pos >= d->len) {
            long n = nolibc_syscall6(SYS_getdents64, d->fd, (long)d->buf, sizeof d->buf, 0, 0, 0);
            if (n < 0 && n != -ENOENT) errno = (int)-n;
            if (n <= 0) return NULL;
            d->len = (size_t)n;
            d->pos = 0;
        }
        struct dirent *e = (struct dirent *)(void *)(d->buf + d->pos);
        d->pos += e->d_reclen;
        if (e->d_ino != 0) return e;
    }
}

int closedir(DIR *d) {
    int fd = d->fd;
    d->next_free = free_streams;
    free_streams = d;
    return (int)NOLIBC_CALL(SYS_close, fd, 0, 0, 0, 0, 0);
}

int dirfd(DIR *d) { return d->fd; }

#endif
