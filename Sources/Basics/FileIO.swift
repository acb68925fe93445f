import FoundationEssentials
import Glibc

/// Whole-buffer reads and writes on descriptors and paths (what we used `FileHandle` for), retrying
/// EINTR and short transfers. Failures come back as values; none of these traps (FileHandle's
/// `write` trapped on EPIPE).
public enum FileIO {
    /// Writes all of `bytes` to `fd`; false when a write failed (EPIPE, EBADF…).
    @discardableResult
    public static func writeAll(_ fd: Int32, _ bytes: Data) -> Bool {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 { if errno == EINTR { continue }; return false }
                offset += n
            }
            return true
        }
    }

    /// Writes the UTF-8 of `text` to `fd`.
    @discardableResult
    public static func writeAll(_ fd: Int32, _ text: String) -> Bool { writeAll(fd, Data(text.utf8)) }

    /// The next chunk available on `fd` (up to `max` bytes, blocking until some arrive); empty at its
    /// end or on an error.
    public static func readChunk(_ fd: Int32, max: Int = 64 << 10) -> Data {
        var buffer = Data(count: max)
        let n = buffer.withUnsafeMutableBytes { raw -> Int in
            while true {
                let n = Glibc.read(fd, raw.baseAddress, raw.count)
                if n < 0 && errno == EINTR { continue }
                return n
            }
        }
        return n > 0 ? buffer.prefix(n) : Data()
    }

    /// Everything on `fd` up to its end (or the first error).
    public static func readToEnd(_ fd: Int32) -> Data {
        var all = Data()
        while true {
            let chunk = readChunk(fd)
            if chunk.isEmpty { return all }
            all.append(chunk)
        }
    }

    /// Up to `limit` bytes from the start of the file at `path`; nil when it cannot be opened or read.
    public static func readPrefix(_ path: String, limit: Int) -> Data? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out = Data()
        while out.count < limit {
            var buffer = Data(count: min(64 << 10, limit - out.count))
            let n = buffer.withUnsafeMutableBytes { raw -> Int in
                while true {
                    let n = Glibc.read(fd, raw.baseAddress, raw.count)
                    if n < 0 && errno == EINTR { continue }
                    return n
                }
            }
            if n < 0 { return nil }
            if n == 0 { break }
            out.append(buffer.prefix(n))
        }
        return out
    }

    /// Appends `bytes` to the existing file at `path` (it is not created); false when it cannot.
    @discardableResult
    public static func append(_ bytes: Data, toExisting path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return writeAll(fd, bytes)
    }

    /// Reads the file at `path` in chunks of `chunk` bytes, handing each to `body`; the error text
    /// (strerror) when it cannot be opened or read.
    public static func forEachChunk(_ path: String, chunk: Int = 1 << 20, _ body: (Data) -> Void) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        var buffer = Data(count: chunk)
        while true {
            let n = buffer.withUnsafeMutableBytes { raw -> Int in
                while true {
                    let n = Glibc.read(fd, raw.baseAddress, raw.count)
                    if n < 0 && errno == EINTR { continue }
                    return n
                }
            }
            if n < 0 { return String(cString: strerror(errno)) }
            if n == 0 { return nil }
            body(buffer.prefix(n))
        }
    }
}
