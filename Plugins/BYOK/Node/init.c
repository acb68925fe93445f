/*
 * init.c — the sandbox's init, LocalVM's (Plugins/LocalVM/Sources/InitProgram.swift), byte for byte:
 * `/bin/sh -c <script>` as PID 1 of the sandbox's pid namespace. It reaps, exits 0 on TERM/INT/HUP
 * (the kernel then kills the rest of the namespace), closes fd 3 once its traps are set (the
 * launcher's ready handshake), and enforces the backstop deadline itself: it reads
 * /run/sandboxer/deadline (Unix seconds, the host's real clock; a read-only bind of ctl/), sleeps at
 * most 60 s at a time, and SIGUSR1 (set-timeout) wakes it to re-read the file. So the sandbox dies on
 * time with no controller and no helper process running.
 */
#include "node.h"

const char *const node_init_argv[] = {
    "/bin/sh", "-c",
    "trap 'exit 0' TERM INT HUP; trap 'r=1; kill $w 2>/dev/null' USR1; exec 3>&-\n"
    "w=; while :; do\n"
    "r=; d=; read d </run/sandboxer/deadline; s=60\n"
    "if [ -n \"$d\" ]; then n=$(date +%s); [ \"$n\" -ge \"$d\" ] && exit 0; [ $((d - n)) -lt 60 ] && s=$((d - n)); fi\n"
    "sleep $s & w=$!; [ -n \"$r\" ] || wait $w; kill $w 2>/dev/null\n"
    "done",
    "sandboxer-init", NULL,
};

const char *const node_init_env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", NULL };
