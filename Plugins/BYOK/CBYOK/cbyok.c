#define _GNU_SOURCE
#include "cbyok.h"
#include <dlfcn.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int cbyok_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cbyok_own_image_path(char *buffer, size_t size) {
    Dl_info info;
    if (dladdr((void *)&cbyok_own_image_path, &info) == 0 || info.dli_fname == NULL) return -1;
    size_t n = strlen(info.dli_fname);
    if (n + 1 > size || info.dli_fname[0] != '/') return -1;
    memcpy(buffer, info.dli_fname, n + 1);
    return 0;
}
