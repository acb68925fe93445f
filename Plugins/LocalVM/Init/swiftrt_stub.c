/*
 * swiftrt_stub.c — keeps the Swift runtime out of this C program.
 *
 * SwiftPM links every executable through swiftc, which always adds swiftrt.o: a constructor that
 * registers the image's Swift metadata sections with the runtime (swift_addNewDSOImage) and a
 * backtracer hook. This program has no Swift metadata, so both are no-ops here; defining them means
 * the static link resolves them without pulling libswiftCore.a (10 MB, and glibc's warning about
 * its dlopen in a static binary). The helper then depends on nothing but the C library linked in
 * (on x86-64 not even that: its own runtime, nolibc.h). swiftrt.o's constructor is never called
 * there (no C library start runs .init_array); these stubs only satisfy the link.
 */
#include <stddef.h>

void swift_addNewDSOImage(const void *image);
void swift_addNewDSOImage(const void *image) { (void)image; }

int _swift_backtrace_isThunkFunction(const char *name);
int _swift_backtrace_isThunkFunction(const char *name) { (void)name; return 0; }
