#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <string.h>
#include <unistd.h>
#include "cbasics.h"

int cbasics_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cbasics_spawn_addchdir(void *actions, const char *dir) {
    return posix_spawn_file_actions_addchdir_np((posix_spawn_file_actions_t *)actions, dir);
}

int cbasics_set_thread_name(const char *name) {
    char cut[16];
    strncpy(cut, name, sizeof cut - 1);
    cut[sizeof cut - 1] = 0;
    return pthread_setname_np(pthread_self(), cut);
}
