/*
 * nolibc.h — the freestanding C runtime of sandboxer-localvm-init on x86-64 (nolibc_*.c).
 *
 * glibc's start-up runs ~100 cpuid instructions (init_cpu_features, the cache-size probes of
 * handle_amd and update_active), and each one traps to the hypervisor on a VM: measured 6.7 µs a
 * cpuid here, 0.73 ms task-clock for a static glibc `main(){return 0;}` against 0.05 ms for a
 * `-nostdlib` one (docs/performance.md "The init program without glibc (session 10)"). This
 * program runs on the critical path of every create (the sandbox's PID 1), every exec (helper A)
 * and every trash hand-off, and needs none of that detection. So on x86-64 it is linked without
 * glibc (`-nostdlib`, Package.swift): its own _start and exactly the C functions its code paths
 * reference, here. glibc's headers still give the types and constants (struct stat, sigset_t,
 * O_*), so CLocalVM's sources compile once for the plugin and the init alike.
 *
 * The program is single-threaded and never sets up TLS: errno is one static int, nothing reads
 * %fs. The linker (lld, --gc-sections over CLocalVM's per-function sections) reports any function
 * the init's live code needs and this runtime lacks, so nothing of libc can slip in unnoticed.
 */
#ifndef SANDBOXER_INIT_NOLIBC_H
#define SANDBOXER_INIT_NOLIBC_H

#if defined(__x86_64__)

/* A raw system call: the kernel's result, -errno on failure (the x86-64 convention: -4095..-1). */
static inline long nolibc_syscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6) {
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

/* The libc convention over a raw result: errno and -1 on failure, else the result. */
long nolibc_result(long raw);

#define NOLIBC_CALL(n, a1, a2, a3, a4, a5, a6) \
    nolibc_result(nolibc_syscall6((n), (long)(a1), (long)(a2), (long)(a3), (long)(a4), (long)(a5), (long)(a6)))

#endif
#endif
