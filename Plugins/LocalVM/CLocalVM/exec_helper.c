/*
 * exec_helper.c — helper A of an exec as a small program of its own instead of a copy of the host.
 *
 * clvm_exec_spawn_helper used to clone A as a fork-like copy of the host: the kernel copied the
 * host's page tables (a Swift process with two 25–35 MB images mapped), A then forked B, copying
 * them again, and both copies were torn down when A and B exec'd or exited (docs/performance.md,
 * "LocalVM streamed exec (session 9)"). Here the host starts A with clone3(CLONE_VM | CLONE_VFORK |
 * CLONE_INTO_CGROUP) on a small stack of the calling thread's, as posix_spawn does (posix_spawn
 * cannot name a cgroup), and the child at once execs the static `sandboxer-localvm-init` in its
 * `--exec-helper` mode, which then does what A always did (exec.c: cgroups, setns, become root,
 * fork B, report B's pid and status through the pipe). Nothing of the host's address space is
 * copied; A and B are copies of a small static program (0.2 MB mapped without glibc on x86-64).
 *
 * A cannot itself share the host's mm past the exec: setns(CLONE_NEWUSER) refuses a caller whose mm
 * is shared. So the shared mm lasts only from the clone to the execve, while the calling thread is
 * suspended (CLONE_VFORK) and every signal is blocked; the child makes only raw system calls.
 */
#include "internal.h"
#include "clocalvm.h"

#include <elf.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* struct clone_args of clone3, as in exec.c. */
struct helper_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/* The mode argument of sandboxer-localvm-init that selects clvm_exec_helper_main. */
static const char helper_mode[] = "--exec-helper";

/* Fixed argv entries before the cgroup fds: title, mode, init pidfd, in_r, out_w, err_w, status_w,
 * fail_w, command_only_cgroups, cgroup_fast, timeout_ms, cgroup_count (last: the count of what follows). */
#define HELPER_FIXED 12
/* Most cgroup fds passed (the layout has five). */
#define HELPER_MAX_CGROUPS 16
/* The child's stack: it runs helper_child only (a few fcntl calls and one execveat). */
#define HELPER_STACK 16384

#if defined(__x86_64__)
/* long helper_clone3(struct helper_clone_args *args, size_t size, int (*fn)(void *), void *arg):
 * clone3, and in the child (rax == 0, on the stack clone3 set up) fn(arg) then exit with its
 * result; the parent gets the raw result (pid or -errno). A child on its own stack cannot return
 * through the syscall() wrapper's frame, hence these few instructions (glibc's clone() has the same
 * shape but no clone3). syscall clobbers rcx and r11 only, so fn and arg survive in r8 and r9. */
__asm__(".text\n"
        ".p2align 4\n"
        ".type helper_clone3,@function\n"
        "helper_clone3:\n"
        "    mov %rdx, %r8\n"
        "    mov %rcx, %r9\n"
        "    mov $435, %eax\n"
        "    syscall\n"
        "    test %rax, %rax\n"
        "    jnz 1f\n"
        "    xor %ebp, %ebp\n"
        "    mov %r9, %rdi\n"
        "    call *%r8\n"
        "    mov %eax, %edi\n"
        "    mov $60, %eax\n"
        "    syscall\n"
        "    hlt\n"
        "1:  ret\n"
        ".size helper_clone3, .-helper_clone3\n");
long helper_clone3(struct helper_clone_args *args, size_t size, int (*fn)(void *), void *arg);
#define CLVM_HAVE_HELPER_CLONE 1
#endif

struct helper_child {
    int image_fd;
    char **argv;
    const char *const *envp;
    const int *keep;  /* descriptors A or B uses: their CLOEXEC is cleared in the child */
    int keep_count;
    int fail_w;
};

/* Child, on the small stack, sharing the host's memory until execve: raw system calls only. */
static int helper_child(void *p) {
    const struct helper_child *c = p;
    for (int i = 0; i < c->keep_count; i++) {
        if (syscall(SYS_fcntl, c->keep[i], F_SETFD, 0) < 0) {
            clvm_child_report(c->fail_w, CLVM_STEP_EXEC_HELPER, errno, 1);
            return 127;
        }
    }
    syscall(SYS_execveat, c->image_fd, "", c->argv, c->envp, AT_EMPTY_PATH);
    clvm_child_report(c->fail_w, CLVM_STEP_EXEC_HELPER, errno, 0);
    return 127;
}

long clvm_exec_spawn_program_helper(const clvm_exec_spec *s, int in_r, int out_w, int err_w, int status_w, int fail_w,
                                    int into) {
#ifndef CLVM_HAVE_HELPER_CLONE
    (void)s; (void)in_r; (void)out_w; (void)err_w; (void)status_w; (void)fail_w; (void)into;
    errno = ENOSYS;
    return -1;
#else
    if (s->helper_fd <= 2 || s->cgroup_count > HELPER_MAX_CGROUPS) { errno = ENOSYS; return -1; }
    size_t argc = 0;
    while (s->argv[argc]) argc++;
    /* Everything the child reads is prepared here: it may not allocate. */
    char numbers[HELPER_FIXED + HELPER_MAX_CGROUPS][24];
    char **argv = malloc((HELPER_FIXED + s->cgroup_count + argc + 1) * sizeof *argv);
    if (!argv) { errno = ENOMEM; return -1; }
    long long fixed[] = { s->init_pidfd, in_r, out_w, err_w, status_w, fail_w, (long long)s->command_only_cgroups,
                          s->cgroup_fast, (long long)s->timeout_ms, (long long)s->cgroup_count };
    size_t n = 0;
    argv[n++] = "sandboxer-exec";
    argv[n++] = (char *)helper_mode;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        snprintf(numbers[n], sizeof numbers[n], "%lld", fixed[i]);
        argv[n] = numbers[n];
        n++;
    }
    int keep[6 + HELPER_MAX_CGROUPS] = { s->init_pidfd, in_r, out_w, err_w, status_w, fail_w };
    int keep_count = 6;
    for (size_t i = 0; i < s->cgroup_count; i++) {
        snprintf(numbers[n], sizeof numbers[n], "%d", s->cgroup_fds[i]);
        argv[n] = numbers[n];
        n++;
        /* The v2 cgroup A is cloned into is not needed after the clone. */
        if (!(into >= 0 && i == s->cgroup_count - 1)) keep[keep_count++] = s->cgroup_fds[i];
    }
    for (size_t i = 0; i < argc; i++) argv[n++] = (char *)s->argv[i];
    argv[n] = NULL;
    struct helper_child child = { s->helper_fd, argv, s->envp, keep, keep_count, fail_w };
    /* 16-byte aligned top of a stack on this thread's own, which CLONE_VFORK keeps still meanwhile. */
    _Alignas(16) char stack[HELPER_STACK];
    struct helper_clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_VM | CLONE_VFORK | (into >= 0 ? CLONE_INTO_CGROUP : 0);
    ca.exit_signal = SIGCHLD;
    ca.stack = (uint64_t)(uintptr_t)stack;
    ca.stack_size = sizeof stack;
    if (into >= 0) ca.cgroup = (uint64_t)into;
    long a = helper_clone3(&ca, sizeof ca, helper_child, &child);
    free(argv);
    if (a < 0) { errno = (int)-a; return -1; }
    return a;
#endif
}

/* sandboxer-localvm-init --exec-helper: parses what clvm_exec_spawn_program_helper wrote and runs A. */
void clvm_exec_helper_main(int argc, char **argv, char **envp) {
    long long v[HELPER_FIXED - 2];
    int ok = argc > HELPER_FIXED;
    for (int i = 0; ok && i < HELPER_FIXED - 2; i++) {
        char *end = NULL;
        errno = 0;
        v[i] = strtoll(argv[2 + i], &end, 10);
        ok = errno == 0 && end != argv[2 + i] && *end == 0;
    }
    size_t count = ok ? (size_t)v[9] : 0;
    ok = ok && v[9] >= 0 && count <= HELPER_MAX_CGROUPS && (size_t)argc > HELPER_FIXED + count;
    int fds[HELPER_MAX_CGROUPS];
    for (size_t i = 0; ok && i < count; i++) {
        char *end = NULL;
        long fd = strtol(argv[HELPER_FIXED + i], &end, 10);
        ok = end != argv[HELPER_FIXED + i] && *end == 0 && fd >= -1 && fd <= 0x7fffffff;
        fds[i] = (int)fd;
    }
    if (!ok) {
        static const char msg[] = "sandboxer-localvm-init --exec-helper: malformed arguments (it is started by the LocalVM plugin only)\n";
        (void)write(2, msg, sizeof msg - 1);
        _exit(2);
    }
    (void)prctl(PR_SET_NAME, "sandboxer-exec", 0, 0, 0);
    clvm_exec_spec s;
    memset(&s, 0, sizeof s);
    s.init_pidfd = (int)v[0];
    s.cgroup_fds = fds;
    s.cgroup_count = count;
    s.argv = (const char *const *)&argv[HELPER_FIXED + count];
    s.envp = (const char *const *)envp;
    s.command_only_cgroups = (size_t)v[6];
    s.cgroup_fast = (int)v[7];
    s.timeout_ms = (int64_t)v[8];
    clvm_exec_run_a(&s, (int)v[1], (int)v[2], (int)v[3], (int)v[4], (int)v[5]);
}

int clvm_program_has_exec_helper(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    int found = 0;
    Elf64_Ehdr eh;
    char *names = NULL;
    Elf64_Shdr *sh = NULL;
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 ||
        eh.e_shnum > 4096 || eh.e_shstrndx >= eh.e_shnum) goto out;
    size_t table = (size_t)eh.e_shnum * sizeof(Elf64_Shdr);
    sh = malloc(table);
    if (!sh || pread(fd, sh, table, (off_t)eh.e_shoff) != (ssize_t)table) goto out;
    const Elf64_Shdr *strs = &sh[eh.e_shstrndx];
    if (strs->sh_size == 0 || strs->sh_size > (1 << 20)) goto out;
    names = malloc(strs->sh_size + 1);
    if (!names || pread(fd, names, strs->sh_size, (off_t)strs->sh_offset) != (ssize_t)strs->sh_size) goto out;
    names[strs->sh_size] = 0;
    for (size_t i = 0; i < eh.e_shnum && !found; i++) {
        if (sh[i].sh_name < strs->sh_size && strcmp(names + sh[i].sh_name, CLVM_EXEC_HELPER_SECTION) == 0) found = 1;
    }
out:
    free(names);
    free(sh);
    close(fd);
    return found;
}
