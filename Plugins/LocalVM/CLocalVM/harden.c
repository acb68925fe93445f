/*
 * harden.c — the last fence a sandbox process passes before execve: capabilities cut to a
 * documented minimal set, no_new_privs, and a seccomp filter with a documented deny list.
 *
 * It runs in raw-cloned children (the sandbox init, and every exec's command), so it only makes
 * plain system calls and builds the filter on the stack: no malloc, no libcap, no libseccomp.
 * docs/security.md lists the same sets; keep both in step.
 */
#include "internal.h"
#include "clocalvm.h"

#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <sys/prctl.h>

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#if defined(__x86_64__)
#define CLVM_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define CLVM_AUDIT_ARCH AUDIT_ARCH_AARCH64
#else
#error "CLocalVM's seccomp filter knows x86_64 and aarch64 only"
#endif

/* The capabilities a sandbox's root keeps inside its user namespace (what an ordinary root-run
 * program needs over its own files and processes, like Docker's default set without NET_RAW and
 * MKNOD). Everything else is dropped from the bounding set, so no execve brings it back. */
#define CLVM_CAP(n) (1ULL << (n))
static const uint64_t kept_caps =
    CLVM_CAP(CAP_CHOWN) | CLVM_CAP(CAP_DAC_OVERRIDE) | CLVM_CAP(CAP_FOWNER) | CLVM_CAP(CAP_FSETID) |
    CLVM_CAP(CAP_KILL) | CLVM_CAP(CAP_SETGID) | CLVM_CAP(CAP_SETUID) | CLVM_CAP(CAP_SETPCAP) |
    CLVM_CAP(CAP_NET_BIND_SERVICE) | CLVM_CAP(CAP_SYS_CHROOT) | CLVM_CAP(CAP_AUDIT_WRITE) |
    CLVM_CAP(CAP_SETFCAP);

uint64_t clvm_kept_capabilities(void) { return kept_caps; }

/* System calls refused with EPERM. Each is either a kernel attack surface a sandbox has no use for
 * (keys, bpf, perf, userfaultfd, io_uring, modules, kexec) or a way around the mount, namespace and
 * process fences (mounts after set-up, setns, handles, ptrace). Names missing on an architecture
 * are left out by the preprocessor. */
static const int denied[] = {
    __NR_keyctl, __NR_add_key, __NR_request_key, __NR_bpf, __NR_perf_event_open, __NR_userfaultfd,
    __NR_kexec_load,
#ifdef __NR_kexec_file_load
    __NR_kexec_file_load,
#endif
    __NR_init_module, __NR_finit_module, __NR_delete_module,
    __NR_open_by_handle_at, __NR_name_to_handle_at,
    __NR_ptrace, __NR_process_vm_readv, __NR_process_vm_writev, __NR_kcmp,
    __NR_mount, __NR_umount2, __NR_pivot_root,
#ifdef __NR_move_mount
    __NR_move_mount, __NR_open_tree, __NR_fsopen, __NR_fsconfig, __NR_fsmount, __NR_fspick,
#endif
#ifdef __NR_mount_setattr
    __NR_mount_setattr,
#endif
    __NR_setns, __NR_swapon, __NR_swapoff, __NR_reboot, __NR_acct, __NR_quotactl,
#ifdef __NR_quotactl_fd
    __NR_quotactl_fd,
#endif
    __NR_syslog,
#ifdef __NR_lookup_dcookie
    __NR_lookup_dcookie,
#endif
#ifdef __NR_io_uring_setup
    __NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
#endif
#ifdef __NR_uselib
    __NR_uselib,
#endif
#ifdef __NR_iopl
    __NR_iopl, __NR_ioperm,
#endif
};

#define CLVM_FILTER_MAX 256

#define STMT(code, k) ((struct sock_filter){ (unsigned short)(code), 0, 0, (unsigned)(k) })
#define JUMP(code, k, jt, jf) ((struct sock_filter){ (unsigned short)(code), (jt), (jf), (unsigned)(k) })

/* Appends the "refuse clone/unshare that asks for CLONE_NEWUSER" block for syscall nr. */
static size_t add_newuser_check(struct sock_filter *f, size_t n, int nr) {
    f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 4);
    /* Flags are the first argument of clone and unshare on both architectures; the low word
     * (little-endian) holds CLONE_NEWUSER. */
    f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]));
    f[n++] = JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 0, 1);
    f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
    f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    return n;
}

size_t clvm_build_filter(struct sock_filter *f, size_t cap) {
    size_t need = 6 + 2 * (sizeof denied / sizeof denied[0]) + 10 + 3;
    if (cap < need) return 0;
    size_t n = 0;
    /* Another ABI (i386 through int 0x80, arm32) numbers system calls differently: kill. */
    f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, CLVM_AUDIT_ARCH, 1, 0);
    f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
    f[n++] = STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
#if defined(__x86_64__)
    /* x32 system calls (bit 30) reach the same handlers under other numbers: refuse them all. */
    f[n++] = JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1);
    f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
#endif
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
        f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, denied[i], 0, 1);
        f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA));
    }
    n = add_newuser_check(f, n, __NR_clone);
    n = add_newuser_check(f, n, __NR_unshare);
#ifdef __NR_clone3
    /* clone3 passes its flags in memory a filter cannot read: answer ENOSYS, and libc falls back
     * to clone, whose flags are checked above. */
    f[n++] = JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1);
    f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA));
#endif
    f[n++] = STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    return n;
}

int clvm_child_harden(int *err) {
    /* Bounding set first (dropping needs CAP_SETPCAP, which capset below keeps anyway). */
    for (int cap = 0; cap < 64; cap++) {
        if (kept_caps & CLVM_CAP(cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL) break; /* past the kernel's last capability */
            *err = errno;
            return CLVM_STEP_CAPS;
        }
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
        *err = errno;
        return CLVM_STEP_CAPS;
    }
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    for (int i = 0; i < 2; i++) {
        data[i].effective = (uint32_t)(kept_caps >> (32 * i));
        data[i].permitted = (uint32_t)(kept_caps >> (32 * i));
        data[i].inheritable = 0;
    }
    if (syscall(SYS_capset, &hdr, data) < 0) { *err = errno; return CLVM_STEP_CAPS; }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) { *err = errno; return CLVM_STEP_NO_NEW_PRIVS; }
    struct sock_filter filter[CLVM_FILTER_MAX];
    size_t n = clvm_build_filter(filter, CLVM_FILTER_MAX);
    if (n == 0) { *err = E2BIG; return CLVM_STEP_SECCOMP; }
    struct sock_fprog prog = { (unsigned short)n, filter };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) { *err = errno; return CLVM_STEP_SECCOMP; }
    return 0;
}
