/*
 * main.c — sandboxer-localvm-init: the sandbox's PID 1 (clvm_init_main in CLocalVM), a static
 * executable shipped next to libSandboxerLocalVM.so. The launcher execs it by fd
 * (execveat, AT_EMPTY_PATH) after pivot_root, so it is never a file inside the sandbox.
 * With `--remove-trash DIR` it is instead the LocalVM trash's detached remover
 * (clvm_trash_remover_main): a small static program a CLI can posix_spawn at its end instead of
 * forking its own, much larger, address space. With `--exec-helper ...` it is helper A of an exec
 * (clvm_exec_helper_main, CLocalVM/exec_helper.c), started by the plugin in the same way.
 * On x86-64 it is linked without glibc, over its own runtime (nolibc.h, nolibc_*.c).
 */
#include "clocalvm.h"

#include <string.h>

/* Tells the plugin that this build has the `--exec-helper` mode (clvm_program_has_exec_helper): an
 * older init run in that mode would instead become an init in the host's namespaces and hang the exec. */
__attribute__((used, retain, section(CLVM_EXEC_HELPER_SECTION))) static const char exec_helper_marker[] = "1";

int main(int argc, char **argv, char **envp) {
    if (argc > 1 && strcmp(argv[1], "--exec-helper") == 0) clvm_exec_helper_main(argc, argv, envp);
    if (argc == 3 && strcmp(argv[1], "--remove-trash") == 0) clvm_trash_remover_main(argv[2]);
    clvm_init_main();
}
