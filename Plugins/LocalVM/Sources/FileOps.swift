import CLocalVM
import FoundationEssentials
import Basics
import Glibc
import PluginKit

/// Small file-system operations with errors as PluginError values naming the call and errno text.
enum FileOps {
    /// "mkdir /a/b: Permission denied" style text for the current errno.
    static func failure(_ call: String, _ path: String, _ err: Int32 = errno) -> PluginError {
        PluginError(.internal, "\(call) \(path) failed: \(String(cString: strerror(err))).")
    }

    /// mkdir with a mode; true when created, false when it already existed.
    @discardableResult
    static func mkdir(_ path: String, mode: mode_t = 0o755) throws(PluginError) -> Bool {
        if Glibc.mkdir(path, mode) == 0 {
            _ = Glibc.chmod(path, mode) // umask may have dropped bits
            return true
        }
        if errno == EEXIST { return false }
        throw failure("mkdir", path)
    }

    /// mkdir -p (every missing component with `mode`).
    static func mkdirs(_ path: String, mode: mode_t = 0o755) throws(PluginError) {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            try mkdir(current, mode: mode)
        }
    }

    static func chown(_ path: String, _ uid: UInt32, _ gid: UInt32) throws(PluginError) {
        if Glibc.lchown(path, uid, gid) != 0 { throw failure("chown", path) }
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Writes data to a temp file next to `path`, then renames it over `path`.
    static func writeAtomically(_ path: String, _ data: Data, mode: mode_t = 0o644) throws(PluginError) {
        let tmp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if fd < 0 { throw failure("open", tmp) }
        var ok = true
        data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; ok = false; break }
                off += n
            }
        }
        let saved = errno
        close(fd)
        if !ok { unlink(tmp); throw failure("write", tmp, saved) }
        if rename(tmp, path) != 0 { let e = errno; unlink(tmp); throw failure("rename", path, e) }
    }

    /// Writes a small text file (not atomically: used for control files).
    static func writeText(_ path: String, _ text: String) throws(PluginError) {
        try writeAtomically(path, Data(text.utf8))
    }

    /// Writes text into an existing kernel file (cgroup knobs): one write, no temp file.
    static func writeKnob(_ path: String, _ text: String) throws(PluginError) {
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        if fd < 0 { throw failure("open", path) }
        defer { close(fd) }
        let n = text.withCString { write(fd, $0, strlen($0)) }
        if n < 0 { throw failure("write to", path) }
    }

    static func readText(_ path: String) -> String? {
        readAll(path).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Largest file `readAll` reads (mountinfo of a busy host is well under 1 MiB).
    static let maxReadBytes = 64 << 20

    /// The whole file, read until EOF: FileManager's `contents(atPath:)` returns only the first
    /// page of a /proc file such as mountinfo (size 0 in stat; measured: 4004 of 15117 bytes), and
    /// destroy then missed the mounts listed after it. nil when it cannot be opened or read.
    static func readAll(_ path: String) -> [UInt8]? {
        guard case .success(let bytes) = BoundedFile.read(path, limit: maxReadBytes, limitText: "64 MiB") else { return nil }
        return bytes
    }

    /// rm -rf that never follows symlinks nor descends into a mount.
    static func removeTree(_ path: String) throws(PluginError) {
        if clvm_remove_tree(path) != 0 { throw failure("remove", path) }
    }

    /// Names in a directory, in `readdir` order (empty when it does not exist or cannot be read).
    /// `opendir`/`readdir` rather than FileManager: every instance start lists the trash, and
    /// FileManager's first use (and the error it builds for a missing directory) was 1.2% of a CLI
    /// `exec`'s CPU (docs/performance.md "The CLI process (session 8)").
    static func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
