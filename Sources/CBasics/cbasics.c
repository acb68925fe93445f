#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <stdlib.h>
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

/* A new thread starts on its creator's CPU (seen here: kernel 6.18, 2 vCPUs) and, while the creator
   keeps computing, waits up to a scheduler tick (3.5-3.9 ms) before it first runs; pinned to another
   CPU it runs within ~0.2 ms. So a thread meant to work beside its creator is created on the other
   CPUs, and widens its own mask back to its creator's first thing. */
void *cbasics_attr_avoid_current_cpu(void *attributes) {
    int current = sched_getcpu();
    if (current < 0) return NULL;
    cpu_set_t *allowed = malloc(sizeof(cpu_set_t));
    if (allowed == NULL) return NULL;
    if (sched_getaffinity(0, sizeof(cpu_set_t), allowed) != 0 || !CPU_ISSET(current, allowed) || CPU_COUNT(allowed) < 2) {
        free(allowed);
        return NULL;
    }
    cpu_set_t others = *allowed;
    CPU_CLR(current, &others);
    if (pthread_attr_setaffinity_np((pthread_attr_t *)attributes, sizeof(cpu_set_t), &others) != 0) {
        free(allowed);
        return NULL;
    }
    return allowed;
}

void cbasics_thread_restore_cpus(void *mask) {
    if (mask == NULL) return;
    (void)pthread_setaffinity_np(pthread_self(), sizeof(cpu_set_t), (cpu_set_t *)mask);
    free(mask);
}
