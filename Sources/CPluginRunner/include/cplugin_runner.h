// What the plugin runner needs from Linux that Glibc's Swift module cannot call (prctl is variadic).
#ifndef CPLUGIN_RUNNER_H
#define CPLUGIN_RUNNER_H

/// prctl(PR_SET_PDEATHSIG, signal): the kernel sends `signal` to this process when the thread that
/// forked it exits. Returns 0, or -1 with errno set.
int cpr_set_parent_death_signal(int signal);

/// Closes every descriptor from `first` up, except `keep`. Returns 0, or -1 with errno set.
int cpr_close_descriptors_from(int first, int keep);

#endif
