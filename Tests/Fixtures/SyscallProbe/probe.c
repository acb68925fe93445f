/*
 * probe.c — a test-only static program copied into a LocalVM sandbox: it tries each system call
 * the sandbox's seccomp filter refuses and prints "<name> <errno>" per line (0 when it succeeded).
 * Arguments are chosen so that, even outside a sandbox, every call fails harmlessly (bad pointers,
 * bad flags, a module that does not exist) rather than changing anything.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/reboot.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void report(const char *name, long rc) {
    printf("%s %d\n", name, rc < 0 ? errno : 0);
}

/* 1 when this process runs under a seccomp filter (Seccomp: 2 in /proc/self/status). */
static int filtered(void) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    int yes = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "Seccomp:", 8) == 0) yes = strstr(line, "2") != NULL;
    fclose(f);
    return yes;
}

int main(int argc, char **argv) {
    /* A second fence besides the harmless arguments: never probe an unfiltered process (the host). */
    if (!filtered()) { fprintf(stderr, "probe: refusing to run without a seccomp filter\n"); return 2; }
    const char *only = argc > 1 ? argv[1] : NULL;
#define TRY(name, call) do { if (!only || strcmp(only, name) == 0) { errno = 0; report(name, (call)); } } while (0)
    TRY("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0));
    TRY("add_key", syscall(SYS_add_key, "user", "sandboxer-probe", NULL, 0, -3));
    TRY("request_key", syscall(SYS_request_key, "user", "sandboxer-probe", NULL, 0));
    TRY("bpf", syscall(SYS_bpf, 0 /* BPF_MAP_CREATE */, NULL, 0));
    TRY("perf_event_open", syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0));
    TRY("userfaultfd", syscall(SYS_userfaultfd, 0x7fffffff));
    TRY("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL));
    TRY("init_module", syscall(SYS_init_module, NULL, 0, ""));
    TRY("finit_module", syscall(SYS_finit_module, -1, "", 0));
    TRY("delete_module", syscall(SYS_delete_module, "sandboxer_probe_none", 04000 /* O_NONBLOCK */));
    TRY("open_by_handle_at", syscall(SYS_open_by_handle_at, -1, NULL, 0));
    TRY("name_to_handle_at", syscall(SYS_name_to_handle_at, -1, "", NULL, NULL, 0));
    TRY("ptrace", syscall(SYS_ptrace, 0x7fffffffL, 0, NULL, NULL));
    TRY("mount", syscall(SYS_mount, "none", "/sandboxer-probe-none", "tmpfs", 0, NULL)); /* no such target: ENOENT if it got through */
    TRY("umount2", syscall(SYS_umount2, "/sandboxer-probe-none", 0));
    TRY("pivot_root", syscall(SYS_pivot_root, "/sandboxer-probe-none", "/sandboxer-probe-none"));
    TRY("open_tree", syscall(SYS_open_tree, -1, "/sandboxer-probe-none", 0));
    TRY("fsopen", syscall(SYS_fsopen, "sandboxer-probe-none", 0)); /* no such file system type */
    TRY("setns", syscall(SYS_setns, -1, 0));
    TRY("unshare_user", syscall(SYS_unshare, CLONE_NEWUSER));
    TRY("clone_user", syscall(SYS_clone, CLONE_NEWUSER | CLONE_FS /* a combination the kernel refuses: no child either way */, NULL, NULL, NULL, NULL));
    TRY("swapon", syscall(SYS_swapon, NULL, 0));
    TRY("reboot", syscall(SYS_reboot, 0, 0, 0, NULL)); /* wrong magic: EINVAL if it got through */
    TRY("acct", syscall(SYS_acct, "/sandboxer-probe-none"));
    TRY("syslog", syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0));
    TRY("io_uring_setup", syscall(SYS_io_uring_setup, 0, NULL));
    TRY("clone3", syscall(SYS_clone3, NULL, 0));
    /* Allowed: a plain getpid must keep working. */
    TRY("getpid", syscall(SYS_getpid));
    return 0;
}
