import CLocalVM
import FoundationEssentials
import Basics
import Glibc

/// The sandbox's init, PID 1 of its pid namespace: `sandboxer-localvm-init` (C, static, shipped
/// next to the plugin library; see CLocalVM/init_program.c), exec'd by fd after pivot_root, so it
/// is no file of the sandbox and needs nothing of its rootfs. Where that program is missing (or not
/// root's and read-only, like the plugin), the same behaviour comes from `/bin/sh -c <script>` of
/// the sandbox's own root, described here:
///
/// - It reaps: while it waits, busybox ash (like any POSIX sh `wait`) calls waitpid(-1), which
///   also collects orphans re-parented to it.
/// - SIGTERM, SIGINT or SIGHUP make it exit 0; the kernel then kills the rest of the namespace.
/// - Readiness: fd 3 is a pipe to the launcher; closing it right after the traps are set tells
///   create that signals sent from now on are handled (an init of a pid namespace silently drops
///   signals it has no handler for).
/// - Backstop deadline: it reads `/run/sandboxer/deadline` (Unix seconds, real clock; read-only
///   bind of the sandbox's control tmpfs, CLocalVM/ctl.c) and exits once that time has passed. It sleeps at most 60 s at a
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

    /// The file name of the C init next to the plugin library.
    static let programName = "sandboxer-localvm-init"

    /// The C init's path next to the plugin library, once found trusted (once per process), or nil.
    /// The trash's remover runs it too (`TrashBin.spawnRemover`).
    static let programPath: String? = {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard clvm_own_image_path(&buffer, buffer.count) == 0 else { return nil }
        let own = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let dir = (own).deletingLastPathComponent
        let path = dir + "/" + programName
        // Only a program as trusted as the plugin itself: root's, not writable by others.
        var st = stat(), parent = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == 0, st.st_mode & 0o022 == 0,
              stat(dir, &parent) == 0, parent.st_mode & 0o022 == 0 else { return nil }
        return path
    }()

    /// An O_PATH fd of the C init, opened on first use (once per process), or nil for the shell init.
    static let programFd: Int32? = {
        guard let path = programPath else { return nil }
        var err = [CChar](repeating: 0, count: 256)
        let fd = clvm_init_image(path, &err, err.count)
        return fd >= 0 ? fd : nil
    }()

    /// The C init's fd when that program also has the exec helper mode (`--exec-helper`, checked once
    /// per process from its ELF section headers), or -1: exec then clones a copy of the host as A.
    /// An older init from another build would take the mode's arguments for an init's and hang.
    static let execHelperFd: Int32 = {
        guard let path = programPath, let fd = programFd, clvm_program_has_exec_helper(path) == 1 else { return -1 }
        return fd
    }()

    /// What the launcher runs: the C init's fd with its argv, or the shell init.
    static func resolve() -> (fd: Int32?, argv: [String]) {
        if let fd = programFd { return (fd, [name]) }
        return (nil, argv)
    }

    /// Default PATH inside sandboxes.
    static let path = "/usr/sbin:/usr/bin:/sbin:/bin"

    static let env = ["PATH=" + path, "HOME=/root"]
}
