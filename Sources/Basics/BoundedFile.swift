

import Glibc

/// Reads a whole small file (config, secret) with a size limit; failures come back as a short reason
/// ("it is a directory", "No such file or directory") for the caller's own sentence.
package enum BoundedFile {
    package static func read(_ path: String, limit: Int, limitText: String) -> Result<[UInt8], BoundedFileFailure> {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(.errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(.errno) }
        if (info.st_mode & S_IFMT) == S_IFDIR { return .failure(BoundedFileFailure("it is a directory")) }
        // Sized from st_size (0 for /proc files) plus a byte to see the end; not zero-filled: a zeroed
        // 64 KB buffer per read was 16 page faults, paid by every meta.json a CLI command reads.
        let hint = min(max(Int(info.st_size), 4_095), limit) + 1
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(hint, 65_536), alignment: 1)
        defer { buffer.deallocate() }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hint)
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(.errno)
            }
            if n == 0 { return .success(bytes) }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            if bytes.count > limit { return .failure(BoundedFileFailure("it is larger than \(limitText)")) }
        }
    }
}

/// Why `BoundedFile.read` failed, as a clause: "it is a directory".
package struct BoundedFileFailure: Error {
    package let reason: String
    /// The `errno` behind it, or 0 (a directory, too large).
    package let code: Int32
    init(_ reason: String, code: Int32 = 0) { self.reason = reason; self.code = code }
    /// The current `errno`'s text.
    static var errno: BoundedFileFailure {
        let code = Glibc.errno
        return BoundedFileFailure(String(cString: strerror(code)), code: code)
    }
    /// Whether the file does not exist.
    package var isMissing: Bool { code == ENOENT }
}
