/*
 * nolibc_signal.c — signal sets, masks, waits and dispositions of the glibc-free init (see nolibc.h).
 *
 * glibc's sigset_t is 1024 bits; the kernel's is 64 (_NSIG), and every call passes its size, 8.
 * sigaction translates glibc's struct to the kernel's (handler, flags, restorer, mask) and, like
 * glibc, sets SA_RESTORER with a restorer that calls rt_sigreturn: x86-64 has no other way back
 * from a handler. Unlike glibc, signals 32 and 33 are not refused: glibc reserves them for its
 * threads, and there is no glibc here (B resets them to the default like every other signal).
 */
#if defined(__x86_64__)
#define _GNU_SOURCE
#include "nolibc.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/syscall.h>

#define KERNEL_SIGSET_SIZE 8
/* The kernel's flag (asm/signal.h), which glibc's headers do not export. */
#define KERNEL_SA_RESTORER 0x04000000UL

struct kernel_sigaction {
    void *handler;
    unsigned long flags;
    void (*restorer)(void);
    unsigned long mask;
};

void nolibc_restore_rt(void);
__asm__(".text\n"
        ".type nolibc_restore_rt,@function\n"
        "nolibc_restore_rt:\n"
        "    mov $15, %eax\n" /* rt_sigreturn */
        "    syscall\n"
        "    hlt\n"
        ".size nolibc_restore_rt, .-nolibc_restore_rt\n");

int sigemptyset(sigset_t *set) {
    for (size_t i = 0; i < sizeof set->__val / sizeof set->__val[0]; i++) set->__val[i] = 0;
    return 0;
}

int sigaddset(sigset_t *set, int sig) {
    if (sig <= 0 || sig >= NSIG) { errno = EINVAL; return -1; }
    set->__val[(sig - 1) / (8 * sizeof set->__val[0])] |= 1UL << ((sig - 1) % (8 * sizeof set->__val[0]));
    return 0;
}

int sigprocmask(int how, const sigset_t *set, sigset_t *old) {
    return (int)NOLIBC_CALL(SYS_rt_sigprocmask, how, set, old, KERNEL_SIGSET_SIZE, 0, 0);
}

int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *timeout) {
    return (int)NOLIBC_CALL(SYS_rt_sigtimedwait, set, info, timeout, KERNEL_SIGSET_SIZE, 0, 0);
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
    struct kernel_sigaction k, ko;
    if (act) {
        k.handler = (void *)act->sa_handler;
        k.flags = (unsigned long)act->sa_flags | KERNEL_SA_RESTORER;
        k.restorer = nolibc_restore_rt;
        k.mask = act->sa_mask.__val[0];
    }
    long r = NOLIBC_CALL(SYS_rt_sigaction, sig, act ? &k : NULL, old ? &ko : NULL, KERNEL_SIGSET_SIZE, 0, 0);
    if (r == 0 && old) {
        sigemptyset(&old->sa_mask);
        old->sa_handler = (__sighandler_t)ko.handler;
        old->sa_flags = (int)ko.flags;
        old->sa_restorer = ko.restorer;
        old->sa_mask.__val[0] = ko.mask;
    }
    return (int)r;
}

#endif
