/*
 * probe.c — checks the init program's freestanding runtime (Plugins/LocalVM/Init/nolibc*.c) against
 * what glibc answers, as a program of its own linked with that runtime and nothing else
 * (LocalVMInitNoLibcTests builds it: cc -static -no-pie -nostdlib -DNOLIBC_RUNTIME, x86-64 only),
 * and, to show the expectations are glibc's, as an ordinary glibc program.
 *
 *   probe DIR     DIR: a directory whose entries (other than . and ..) it counts and prints
 *
 * Prints "FAIL <what>" for each check that fails, then "entries <n>", and exits with the number of
 * failures. Each expected value is glibc's answer for the same call (one check, marked, is the
 * runtime's own rule).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int failures;

static void say(const char *text) { (void)write(1, text, strlen(text)); }

static void check(int ok, const char *what) {
    if (ok) return;
    failures++;
    char line[256];
    snprintf(line, sizeof line, "FAIL %s\n", what);
    say(line);
}

static void check_format(void) {
    char b[128];
    check(snprintf(b, sizeof b, "%s/%s", "a", "bc") == 4 && strcmp(b, "a/bc") == 0, "%s/%s");
    snprintf(b, sizeof b, "%d %d %u %x %X %c %%", INT_MIN, 0, UINT_MAX, 0xbeefu, 0xbeefu, 'q');
    check(strcmp(b, "-2147483648 0 4294967295 beef BEEF q %") == 0, "int conversions");
    snprintf(b, sizeof b, "%lld %llu %ld %zu %hhd %hu", LLONG_MIN, ULLONG_MAX, -5L, (size_t)42, 300, 70000);
    check(strcmp(b, "-9223372036854775808 18446744073709551615 -5 42 44 4464") == 0, "length modifiers");
    check(snprintf(b, 4, "abcdef") == 6 && strcmp(b, "abc") == 0, "truncation");
    check(snprintf(NULL, 0, "%d", 12345) == 5, "size only");
#ifdef NOLIBC_RUNTIME
    /* The runtime's own rule (glibc pads it): what it does not support it prints as written. */
    snprintf(b, sizeof b, "[%5d]", 7);
    check(strcmp(b, "[%5d]") == 0, "an unsupported spec is copied as written");
#endif
}

static void check_numbers(void) {
    char *end;
    errno = 0;
    check(strtoll("  -42x", &end, 10) == -42 && *end == 'x' && errno == 0, "strtoll -42");
    check(strtoll("99999999999999999999", &end, 10) == LLONG_MAX && errno == ERANGE && *end == 0, "strtoll overflow");
    errno = 0;
    check(strtoll("-9223372036854775808", &end, 10) == LLONG_MIN && errno == 0, "strtoll LLONG_MIN");
    const char *empty = "";
    check(strtoll(empty, &end, 10) == 0 && end == empty, "strtoll empty");
    const char *letters = "abc";
    check(strtol(letters, &end, 10) == 0 && end == letters && errno == 0, "strtol no digits");
    check(strtoll("0x1f", &end, 16) == 31 && *end == 0, "strtoll base 16");
    check(strtoll("010", &end, 0) == 8, "strtoll base 0, octal");
    check(strtoll("0x", &end, 0) == 0 && *end == 'x', "strtoll 0x without digits");
    check(strtoull("-1", &end, 10) == ULLONG_MAX && errno == 0, "strtoull -1");
    check(strtoull("18446744073709551616", NULL, 10) == ULLONG_MAX && errno == ERANGE, "strtoull overflow");
}

static void check_strings(void) {
    char s[] = "  a b  c ";
    const char *toks[4] = { 0 };
    int n = 0;
    for (char *t = strtok(s, " "); t && n < 4; t = strtok(NULL, " ")) toks[n++] = t;
    check(n == 3 && strcmp(toks[0], "a") == 0 && strcmp(toks[1], "b") == 0 && strcmp(toks[2], "c") == 0, "strtok");
    check(strcmp("abc", "abd") < 0 && strcmp("b", "a") > 0 && strcmp("x", "x") == 0, "strcmp");
    check(strcmp("\xff", "a") > 0, "strcmp compares unsigned");
    check(strncmp("abcX", "abcY", 3) == 0 && strncmp("ab", "abc", 3) < 0, "strncmp");
    const char *p = "a/b/c";
    check(strchr(p, '/') == p + 1 && strrchr(p, '/') == p + 3 && strchr(p, 0) == p + 5 && !strchr(p, 'z'), "strchr/strrchr");
    char d[16];
    check(strcpy(d, "hello") == d && strlen(d) == 5, "strcpy/strlen");
    memset(d, 'x', 3);
    memcpy(d + 3, "yz", 3);
    check(strcmp(d, "xxxyz") == 0, "memset/memcpy");
}

static volatile sig_atomic_t got;
static void on_usr1(int sig) { got = sig; }

static void check_signals_and_processes(void) {
    /* A handler returns through the runtime's SA_RESTORER trampoline (rt_sigreturn). */
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigemptyset(&sa.sa_mask);
    check(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
    check(kill((pid_t)syscall(SYS_getpid), SIGUSR1) == 0 && got == SIGUSR1, "handler ran and returned");
    check(sigaction(SIGUSR1, NULL, &old) == 0 && old.sa_handler == on_usr1, "sigaction reads back");
    /* Blocked, then taken with sigtimedwait. */
    sigset_t set;
    sigemptyset(&set);
    check(sigaddset(&set, SIGUSR2) == 0 && sigaddset(&set, 0) == -1 && errno == EINVAL, "sigaddset");
    check(sigprocmask(SIG_BLOCK, &set, NULL) == 0, "sigprocmask");
    kill((pid_t)syscall(SYS_getpid), SIGUSR2);
    struct timespec zero = { 0, 0 };
    check(sigtimedwait(&set, NULL, &zero) == SIGUSR2, "sigtimedwait");
    check(sigtimedwait(&set, NULL, &zero) == -1 && errno == EAGAIN, "sigtimedwait timeout");
    pid_t child = fork();
    if (child == 0) _exit(7);
    int st = 0;
    check(child > 0 && waitpid(child, &st, 0) == child && WIFEXITED(st) && WEXITSTATUS(st) == 7, "fork/waitpid");
    struct timespec t;
    check(clock_gettime(CLOCK_MONOTONIC, &t) == 0 && (t.tv_sec > 0 || t.tv_nsec > 0), "clock_gettime");
    errno = 0;
    check(open("/nonexistent/x", O_RDONLY) == -1 && errno == ENOENT, "open's errno");
}

static int count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    check(dirfd(d) >= 0, "dirfd");
    check(closedir(d) == 0, "closedir");
    return n;
}

int main(int argc, char **argv) {
    if (argc != 2) { say("usage: probe DIR\n"); return 100; }
    check_format();
    check_numbers();
    check_strings();
    check_signals_and_processes();
    check(opendir("") == NULL && errno == ENOENT, "opendir of an empty name");
    int file = open(argv[0], O_RDONLY | O_CLOEXEC);
    check(file >= 0 && fdopendir(file) == NULL && errno == ENOTDIR, "fdopendir of a file");
    close(file);
    int n = count_entries(argv[1]);
    /* Twice: the second walk takes the stream the first one closed. */
    check(count_entries(argv[1]) == n, "a reused stream reads the same");
    char line[64];
    snprintf(line, sizeof line, "entries %d\n", n);
    say(line);
    return failures;
}
