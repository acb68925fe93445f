#ifndef CBYOK_H
#define CBYOK_H
#include <stddef.h>

/* pipe2(O_CLOEXEC): a pipe whose ends no other child inherits (Glibc's Swift module hides pipe2). */
int cbyok_pipe_cloexec(int fds[2]);

/* The path of the shared object holding this function (dladdr), so the plugin finds files shipped
 * next to it. 0 on success, -1 when unknown or longer than `size`. */
int cbyok_own_image_path(char *buffer, size_t size);

#endif
