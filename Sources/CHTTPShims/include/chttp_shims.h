// The few Linux socket facilities that Glibc's Swift module map does not export:
// epoll and eventfd (headers missing from the module) and accept4 (hidden behind _GNU_SOURCE).
#ifndef CHTTP_SHIMS_H
#define CHTTP_SHIMS_H

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

/// accept4(2): accepts a connection with flags (SOCK_NONBLOCK | SOCK_CLOEXEC) set atomically.
int chttp_accept4(int fd, struct sockaddr *address, socklen_t *length, int flags);

#endif
