import Foundation
import Glibc
import PluginKit

/// Small local file operations with errors as plugin errors.
enum LocalFiles {
    static func failure(_ what: String, _ path: String, _ err: Int32 = errno) -> PluginError {
        PluginError(.internal, "The byok plugin could not \(what) \(path): \(String(cString: strerror(err))).")
    }

    /// Makes `path` and its parents; the last one gets `mode`.
    static func mkdirs(_ path: String, mode: mode_t = 0o755) throws(PluginError) {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue { return }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path && parent != "/" { try mkdirs(parent, mode: 0o755) }
        if mkdir(path, mode) != 0 && errno != EEXIST { throw failure("create the directory", path) }
        _ = chmod(path, mode)
    }

    /// Writes through a temporary file and rename, so readers see the old or the new file whole.
    static func writeAtomically(_ path: String, _ data: Data, mode: mode_t) throws(PluginError) {
        let tmp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("create", tmp) }
        var ok = fchmod(fd, mode) == 0
        data.withUnsafeBytes { raw in
            var off = 0
            while ok && off < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; ok = false } else { off += n }
            }
        }
        if ok { ok = fsync(fd) == 0 }
        close(fd)
        guard ok, rename(tmp, path) == 0 else {
            let err = errno
            unlink(tmp)
            throw failure("write", path, err)
        }
    }

    /// `writeAtomically` unless the file already holds exactly `data`, is ours, regular, and has
    /// `mode`: every CLI process writes the same ssh files, and two fsyncs per start cost more than
    /// the remote command they serve.
    static func writeIfChanged(_ path: String, _ data: Data, mode: mode_t) throws(PluginError) {
        var st = stat()
        if lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_uid == geteuid(),
           (st.st_mode & 0o7777) == mode, Int(st.st_size) == data.count,
           FileManager.default.contents(atPath: path) == data {
            return
        }
        try writeAtomically(path, data, mode: mode)
    }

    /// Whether a file exists.
    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The size of a regular file, or nil.
    static func size(_ path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    /// SHA-256 of a file in lowercase hex, through coreutils' sha256sum (fast on large images).
    static func sha256(_ path: String) throws(PluginError) -> String {
        let result = try LocalCommand.run("/usr/bin/sha256sum", ["--", path], limit: 4096)
        let text = String(decoding: result.stdout, as: UTF8.self)
        guard result.status == 0, let hex = text.split(separator: " ").first, hex.count == 64 else {
            throw PluginError(.internal, "The byok plugin could not hash \(path) with sha256sum.")
        }
        return String(hex)
    }
}
