/*
 * proc.c — host processes named by pid and start time, so a reused pid is never mistaken for a
 * sandbox's init (as LocalVM's ProcessIdentity).
 */
#include "node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int proc_stat(pid_t pid, unsigned long long *start, char *state) {
    if (pid <= 0) return -1;
    char path[64], text[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, text, sizeof text) <= 0) return -1;
    /* "pid (comm) S ..." where comm may hold spaces and ')': fields start after the last ')'. */
    char *p = strrchr(text, ')');
    if (!p || p[1] != ' ') return -1;
    p += 2;
    if (state) *state = *p;
    for (int field = 3; field < 22; field++) {
        p = strchr(p, ' ');
        if (!p) return -1;
        p++;
    }
    *start = strtoull(p, NULL, 10);
    return 0;
}

int proc_alive(pid_t pid, unsigned long long start) {
    unsigned long long now;
    char state = 0;
    if (proc_stat(pid, &now, &state) < 0 || now != start) return 0;
    return state != 'Z' && state != 'X';
}

int proc_pidfd(pid_t pid, unsigned long long start) {
    if (pid <= 0) return -1;
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) return -1;
    if (!proc_alive(pid, start)) { close(fd); return -1; }
    return fd;
}
