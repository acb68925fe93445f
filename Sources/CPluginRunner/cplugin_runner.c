#define _GNU_SOURCE
#include "cplugin_runner.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

int cpr_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0);
}

int cpr_close_descriptors_from(int first, int keep) {
    // Collect first, close after: closing while reading /proc/self/fd would close the directory's own fd.
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return -1;
    int dirfd_ = dirfd(dir);
    int fds[1024];
    int count = 0, more = 1;
    while (more) {
        more = 0;
        count = 0;
        rewinddir(dir);
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
            int fd = atoi(entry->d_name);
            if (fd < first || fd == keep || fd == dirfd_) continue;
            if (count == 1024) { more = 1; break; }
            fds[count++] = fd;
        }
        for (int i = 0; i < count; i++) close(fds[i]);
    }
    closedir(dir);
    return 0;
}
