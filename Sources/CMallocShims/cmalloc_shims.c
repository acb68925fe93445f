#include "cmalloc_shims.h"
#include <malloc.h>

int cmalloc_set_arena_max(int limit) { return mallopt(M_ARENA_MAX, limit); }

int cmalloc_trim(void) { return malloc_trim(0); }
