import Foundation

/// The sandbox's init: `/bin/sh -c <script>` from the sandbox's own root, as PID 1 of its pid
/// namespace.
///
/// - It reaps: while it waits, busybox ash (like any POSIX sh `wait`) calls waitpid(-1), which
///   also collects orphans re-parented to it.
/// - SIGTERM, SIGINT or SIGHUP make it exit 0; the kernel then kills the rest of the namespace.
/// - Readiness: fd 3 is a pipe to the launcher; closing it right after the traps are set tells
///   create that signals sent from now on are handled (an init of a pid namespace silently drops
///   signals it has no handler for).
/// - Backstop deadline: it reads `/run/sandboxer/deadline` (Unix seconds, real clock; read-only
///   bind of the host's `ctl/` dir) and exits once that time has passed. It sleeps at most 60 s at a
///   time and SIGUSR1 wakes it to re-read the file at once (set_timeout sends it), so the deadline
///   holds with the host down. A missing or empty file means no deadline. No SIGUSR1 is lost: the
///   trap sets `r` and kills the current sleep, and `r` is checked between starting a sleep and
///   waiting for it (ash runs traps between commands and `wait` returns on a pending trap).
enum InitProgram {
    /// Shown as `$0` in `ps` and /proc/1/cmdline.
    static let name = "sandboxer-init"

    static let script = """
    trap 'exit 0' TERM INT HUP; trap 'r=1; kill $w 2>/dev/null' USR1; exec 3>&-
    w=; while :; do
    r=; d=; read d </run/sandboxer/deadline; s=60
    if [ -n "$d" ]; then n=$(date +%s); [ "$n" -ge "$d" ] && exit 0; [ $((d - n)) -lt 60 ] && s=$((d - n)); fi
    sleep $s & w=$!; [ -n "$r" ] || wait $w; kill $w 2>/dev/null
    done
    """

    static let argv = ["/bin/sh", "-c", script, name]

    /// Default PATH inside sandboxes.
    static let path = "/usr/sbin:/usr/bin:/sbin:/bin"

    static let env = ["PATH=" + path, "HOME=/root"]
}
