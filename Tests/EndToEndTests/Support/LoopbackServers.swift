import Foundation
import Glibc
import Synchronization

/// Services on 127.0.0.1 that endpoints point at: an echo server (what port-forward carries) and a
/// one-line HTTP server (what probes GET). Each accepts on its own thread until stopped.
final class LoopbackServer: Sendable {
    enum Mode: Sendable { case echo, http }

    let port: Int
    private let listener: Int32
    private let mode: Mode
    private let accepted = Mutex<Int>(0)

    init(_ mode: Mode) throws {
        self.mode = mode
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var address = Loopback.address(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard ok, listen(fd, 16) == 0 else { close(fd); throw Loopback.Failure(message: "cannot listen: \(String(cString: strerror(errno)))") }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// How many connections it accepted so far.
    var connections: Int { accepted.withLock { $0 } }

    /// Stops accepting: the port refuses connections from now on.
    func stop() { shutdown(listener, Int32(SHUT_RDWR)) }

    private func acceptLoop() {
        defer { close(listener) }
        while true {
            let fd = accept(listener, nil, nil)
            if fd < 0 { if errno == EINTR { continue } else { return } }
            accepted.withLock { $0 += 1 }
            let mode = self.mode
            Thread.detachNewThread {
                defer { close(fd) }
                switch mode {
                case .echo:
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    while true {
                        let n = read(fd, &buffer, buffer.count)
                        guard n > 0 else { break }
                        _ = buffer.withUnsafeBytes { send(fd, $0.baseAddress, n, Int32(MSG_NOSIGNAL)) }
                    }
                    shutdown(fd, Int32(SHUT_WR))
                case .http:
                    var request: [UInt8] = []
                    var buffer = [UInt8](repeating: 0, count: 4096)
                    while !request.suffix(4).elementsEqual("\r\n\r\n".utf8) {
                        let n = read(fd, &buffer, buffer.count)
                        guard n > 0 else { return }
                        request += buffer[0..<n]
                    }
                    let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".utf8)
                    _ = answer.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
            }
        }
    }
}

enum Loopback {
    struct Failure: Error, CustomStringConvertible { var message: String; var description: String { message } }

    static func address(port: Int) -> sockaddr_in {
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = in_port_t(UInt16(port).bigEndian)
        a.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        return a
    }

    /// A connected socket to 127.0.0.1:`port`, or nil when nothing listens there.
    static func connect(_ port: Int) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        var a = address(port: port)
        let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 } }
        if ok { return fd }
        close(fd)
        return nil
    }

    /// Whether anything accepts connections on 127.0.0.1:`port`.
    static func isListening(_ port: Int) -> Bool {
        guard let fd = connect(port) else { return false }
        close(fd)
        return true
    }

    /// Sends `text`, closes the sending side, and returns everything read until the peer closes.
    static func exchange(_ port: Int, _ text: String) throws -> String {
        guard let fd = connect(port) else { throw Failure(message: "nothing listens on 127.0.0.1:\(port)") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else {
            throw Failure(message: "short write")
        }
        shutdown(fd, Int32(SHUT_WR))
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { break }
            out += buffer[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A port that was free a moment ago (bound to 0, then released).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = address(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 } }
        return Int(UInt16(bigEndian: a.sin_port))
    }
}

extension CLIRunner.Running {
    /// The first line the process prints on stdout (its ready line), read as it arrives; nil when
    /// stdout closes first (the process ended without one).
    func readLine() -> String? {
        var bytes: [UInt8] = []
        let fd = out.fileHandleForReading.fileDescriptor
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1 {
            if byte == 0x0a { return String(decoding: bytes, as: UTF8.self) }
            bytes.append(byte)
        }
        return nil
    }

    /// Sends `signal` to the process.
    func signal(_ number: Int32) { kill(process.processIdentifier, number) }
}
