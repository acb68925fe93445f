/*
 * main.c — sandboxer-localvm-init: the sandbox's PID 1 (clvm_init_main in CLocalVM), a static
 * executable shipped next to libSandboxerLocalVM.so. The launcher execs it by fd
 * (execveat, AT_EMPTY_PATH) after pivot_root, so it is never a file inside the sandbox.
 */
#include "clocalvm.h"

int main(void) {
    clvm_init_main();
}
