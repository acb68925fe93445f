// glibc malloc tuning that Glibc's Swift module map does not export (malloc.h is not in it).
#ifndef CMALLOC_SHIMS_H
#define CMALLOC_SHIMS_H

/// mallopt(M_ARENA_MAX, limit): at most `limit` malloc arenas from now on. Returns 1 on success.
int cmalloc_set_arena_max(int limit);

/// malloc_trim(0): returns free memory at the top of each arena and whole free pages inside them
/// to the kernel. Returns 1 when some memory was released.
int cmalloc_trim(void);

#endif
