/*
 * runtime_argv.c — the Swift runtime's argv, taken from glibc instead of from /proc/self/maps.
 *
 * An image that links the Swift runtime statically (every release image: the host and each plugin)
 * otherwise pulls CommandLine.cpp.o from libswiftCore.a for these two functions, and with it a
 * static constructor that opens /proc/self/maps, parses every line with sscanf to find the stack,
 * and walks back from `environ` to find argv: ~0.1 ms at every process start and again at every
 * plugin load (docs/performance.md "The runtime's argv without /proc/self/maps").
 * glibc hands (argc, argv, envp) to every ELF constructor, of the executable and of each dlopen'd
 * object alike, so a constructor here keeps them. Defining both functions in this object means the
 * linker never takes the archive member.
 *
 * Hidden: each image answers from its own copy, and where the runtime is a shared library (debug
 * builds) its own definitions are the ones used and these are unused.
 */
#include <stddef.h>

#define CBASICS_HIDDEN __attribute__((visibility("hidden")))

static char **cbasics_argv;
static int cbasics_argc;
static char **cbasics_override_argv;
static int cbasics_override_argc;

/* Runs before any other constructor of the image (101 is the first priority open to programs). */
__attribute__((constructor(101))) static void cbasics_keep_argv(int argc, char **argv, char **envp) {
    (void)envp;
    if (argv != NULL && argc >= 0) {
        cbasics_argv = argv;
        cbasics_argc = argc;
    }
}

CBASICS_HIDDEN char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen);
CBASICS_HIDDEN void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc);

/* `CommandLine.unsafeArgv` and `CommandLine.arguments` read this. */
CBASICS_HIDDEN char **_swift_stdlib_getUnsafeArgvArgc(int *outArgLen) {
    static char *empty[] = { NULL };
    if (cbasics_override_argv != NULL) {
        *outArgLen = cbasics_override_argc;
        return cbasics_override_argv;
    }
    if (cbasics_argv == NULL) {
        *outArgLen = 0;
        return empty;
    }
    *outArgLen = cbasics_argc;
    return cbasics_argv;
}

/* The runtime's hook for a program that replaces its arguments. */
CBASICS_HIDDEN void _swift_stdlib_overrideUnsafeArgvArgc(char **argv, int argc) {
    cbasics_override_argv = argv;
    cbasics_override_argc = argc;
}
