/*
 * nolibc_start.c — process entry, errno and exit of the glibc-free init (see nolibc.h).
 *
 * The kernel starts _start with the stack holding argc, argv[], NULL, envp[], NULL, auxv. There is
 * nothing to set up before main: no TLS (nothing reads %fs), no constructors of this program's own
 * (swiftrt.o's one registers Swift metadata this program does not have: swiftrt_stub.c), no stdio
 * to flush. Every mode of the program ends in _exit anyway.
 */
#if defined(__x86_64__)
#define _GNU_SOURCE
#include "nolibc.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv, char **envp);

/* Single-threaded, and its only clones (fork, helper A's B) get their own copy: one int serves. */
static int errno_value;

int *__errno_location(void) { return &errno_value; }

long nolibc_result(long raw) {
    if ((unsigned long)raw > -4096UL) {
        errno_value = (int)-raw;
        return -1;
    }
    return raw;
}

void _exit(int status) {
    for (;;) nolibc_syscall6(SYS_exit_group, status, 0, 0, 0, 0, 0);
}

/* glibc's syscall(): up to six arguments, always read (the caller's extra ones are whatever sits
 * in their registers or stack slots, which the kernel ignores for calls that take fewer). */
long syscall(long number, ...) {
    va_list ap;
    va_start(ap, number);
    long a1 = va_arg(ap, long), a2 = va_arg(ap, long), a3 = va_arg(ap, long);
    long a4 = va_arg(ap, long), a5 = va_arg(ap, long), a6 = va_arg(ap, long);
    va_end(ap);
    return nolibc_result(nolibc_syscall6(number, a1, a2, a3, a4, a5, a6));
}

/* Called by _start with the kernel's initial stack pointer. */
__attribute__((used, noreturn)) void nolibc_start_c(long *sp) {
    int argc = (int)sp[0];
    char **argv = (char **)(sp + 1);
    _exit(main(argc, argv, argv + argc + 1));
}

/* Outermost frame (rbp 0 for unwinders), 16-byte aligned stack before the call, as the ABI wants. */
__asm__(".text\n"
        ".globl _start\n"
        ".type _start,@function\n"
        "_start:\n"
        "    xor %ebp, %ebp\n"
        "    mov %rsp, %rdi\n"
        "    and $-16, %rsp\n"
        "    call nolibc_start_c\n"
        "    hlt\n"
        ".size _start, .-_start\n");

#endif
