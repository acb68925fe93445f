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

/// For a thread meant to run beside its creator: narrows `attributes` (a pthread_attr_t *) to the
/// CPUs the caller may use other than the one it runs on. Returns the caller's whole mask for the new
/// thread to restore (`cbasics_thread_restore_cpus`), or NULL when there is no other CPU (then
/// `attributes` is unchanged).
void *cbasics_attr_avoid_current_cpu(void *attributes);

/// Sets the calling thread's CPU mask to `mask` (from cbasics_attr_avoid_current_cpu) and frees it.
/// NULL does nothing.
void cbasics_thread_restore_cpus(void *mask);

#endif
