// What Basics needs from glibc that its Swift module hides (declared only under _GNU_SOURCE).
#ifndef CBASICS_H
#define CBASICS_H

/// pipe2(fds, O_CLOEXEC): both ends close-on-exec from birth, so a child spawned by another thread
/// at the same moment never inherits them. Returns 0, or -1 with errno set.
int cbasics_pipe_cloexec(int fds[2]);

/// posix_spawn_file_actions_addchdir_np(actions, dir); `actions` is a posix_spawn_file_actions_t *.
/// Returns 0 or an error number.
int cbasics_spawn_addchdir(void *actions, const char *dir);

/// pthread_setname_np(pthread_self(), name), the name cut to the kernel's 15 bytes.
int cbasics_set_thread_name(const char *name);

#endif
