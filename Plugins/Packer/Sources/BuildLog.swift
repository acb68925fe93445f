import Foundation
import Glibc
import PluginKit

/// One build's log file: every line packer printed (decoded), up to a byte cap. Past the cap the
/// lines are counted, not kept, and a last line says how much was cut, so a runaway provisioner
/// cannot fill the disk.
final class BuildLog {
    let path: String
    private let fd: Int32
    private let limit: Int
    private var written = 0
    private var cut = 0

    init(path: String, limit: Int) throws(PluginError) {
        self.path = path
        self.limit = limit
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard fd >= 0 else {
            throw PluginError(.internal, "Cannot create the build log \(path): \(String(cString: strerror(errno))).")
        }
    }

    deinit { close(fd) }

    /// Appends one line (a newline is added).
    func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.append(UInt8(ascii: "\n"))
        guard written + bytes.count <= limit else { cut += bytes.count; return }
        written += bytes.count
        bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            var off = 0
            while off < raw.count {
                let n = Glibc.write(fd, base + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; return }
                off += n
            }
        }
    }

    /// Writes the closing line: how many bytes the cap cut, if any.
    func finish() {
        if cut > 0 {
            let note = "sandboxer: the log reached max_log_bytes (\(limit)); \(cut) more bytes were not kept\n"
            _ = note.withCString { Glibc.write(fd, $0, strlen($0)) }
        }
        fsync(fd)
    }
}
