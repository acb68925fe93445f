import Foundation
import Glibc
import Synchronization
@testable import Basics
@testable import HTTPServer
@testable import YAMLSubset
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Store
@testable import Backends
@testable import Lifecycle
@testable import Webhooks
@testable import API
@testable import CLI

struct HTTPTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A response as the raw test client read it.
struct RawResponse {
    var status: Int
    var headers: HTTPHeaders
    var body: Data
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A blocking socket client that speaks just enough HTTP/1.1 to check the server byte for byte.
/// Reads time out after `timeout` seconds so a broken server fails a test instead of hanging it.
final class RawHTTPClient {
    let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects (blocking); the descriptor belongs to the client only once connected, so a failed
    /// connect closes it exactly once.
    /// `from` binds the client's end to that IPv4 address first (another loopback address, 127.0.0.2,
    /// is another client to the server).
    convenience init(_ address: ListenAddress, timeout: Int = 10, from source: String? = nil) throws {
        let fd: Int32
        let result: Int32
        switch address {
        case .tcp(let host, let port):
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, host, &sin.sin_addr)
            if let source {
                var local = sockaddr_in()
                local.sin_family = sa_family_t(AF_INET)
                inet_pton(AF_INET, source, &local.sin_addr)
                _ = withUnsafePointer(to: &local) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
            }
            result = withUnsafePointer(to: &sin) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        case .unix(let path):
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var sun = sockaddr_un()
            sun.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &sun.sun_path) { raw in raw.copyBytes(from: path.utf8) }
            result = withUnsafePointer(to: &sun) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
        }
        guard fd >= 0, result == 0 else {
            let code = errno
            if fd >= 0 { Glibc.close(fd) }
            throw HTTPTestError("connect to \(address): errno \(code)")
        }
        self.init(fd: fd, timeout: timeout)
    }

    private init(fd: Int32, timeout: Int) {
        self.fd = fd
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) throws { try send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw HTTPTestError("send: errno \(errno)") }
            offset += n
        }
    }

    /// Reads more bytes; false at EOF.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { throw HTTPTestError("recv: errno \(errno) (timeout or reset)") }
        if n == 0 { return false }
        buffer += chunk[0..<n]
        return true
    }

    /// Reads one response (headers, then Content-Length bytes unless `head`); nil at a clean EOF.
    func readResponse(head: Bool = false) throws -> RawResponse? {
        while true {
            if let end = findHeaderEnd() {
                let text = String(decoding: buffer[0..<end], as: UTF8.self)
                var lines = text.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst()
                let parts = statusLine.split(separator: " ", maxSplits: 2)
                guard parts.count >= 2, let status = Int(parts[1]) else { throw HTTPTestError("bad status line \(statusLine)") }
                var headers = HTTPHeaders()
                for line in lines where !line.isEmpty {
                    guard let colon = line.firstIndex(of: ":") else { throw HTTPTestError("bad header \(line)") }
                    headers.add(String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                }
                let length = head ? 0 : Int(headers["Content-Length"] ?? "0") ?? 0
                while buffer.count < end + 4 + length {
                    guard try fill() else { throw HTTPTestError("EOF inside a response body") }
                }
                let body = Data(buffer[(end + 4)..<(end + 4 + length)])
                buffer.removeFirst(end + 4 + length)
                return RawResponse(status: status, headers: headers, body: body)
            }
            guard try fill() else {
                if buffer.isEmpty { return nil }
                throw HTTPTestError("EOF inside response headers: \(String(decoding: buffer, as: UTF8.self))")
            }
        }
    }

    /// One request and its response.
    func request(_ text: String) throws -> RawResponse {
        try send(text)
        guard let response = try readResponse(head: text.hasPrefix("HEAD ")) else { throw HTTPTestError("no response") }
        return response
    }

    /// Whether the server closes: true at EOF (or reset), with nothing but `expected` bytes left unread.
    /// Whether the server has closed this connection already, without waiting: a peek that finds EOF
    /// (or a reset) rather than "nothing yet".
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return n == 0 || (n < 0 && errno == ECONNRESET)
    }

    func readsEOF() throws -> Bool {
        while true {
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return buffer.isEmpty }
            if n < 0 { return errno == ECONNRESET }
            buffer += chunk[0..<n]
        }
    }

    private func findHeaderEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }
}

/// Collects access-log entries from the loop thread.
final class AccessLogSink: Sendable {
    let entries = Mutex<[AccessLogEntry]>([])
    var all: [AccessLogEntry] { entries.withLock { $0 } }
    func record(_ entry: AccessLogEntry) { entries.withLock { $0.append(entry) } }
}

/// A running server on 127.0.0.1 port 0 (or `listen`), shut down and waited for when `body` ends.
func withServer(_ configure: (inout HTTPServerConfiguration) -> Void = { _ in },
                log: AccessLogSink? = nil,
                handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse = echoHandler,
                isPriority: @escaping @Sendable (HTTPRequest) -> Bool = { _ in false },
                _ body: (HTTPServer, ListenAddress) throws -> Void) throws {
    var configuration = HTTPServerConfiguration()
    configuration.listen = .tcp(host: "127.0.0.1", port: 0)
    configure(&configuration)
    let server = HTTPServer(configuration: configuration, handler: handler, isPriority: isPriority,
                            accessLog: { log?.record($0) })
    let address = try server.start()
    defer {
        server.shutdown()
        server.wait()
    }
    try body(server, address)
}

/// Answers `METHOD path query-json body-length`, so tests can see what the server parsed.
let echoHandler: @Sendable (HTTPRequest) -> HTTPResponse = { request in
    let query = request.query.keys.sorted().map { "\($0)=\(request.query[$0]!.joined(separator: ","))" }.joined(separator: "&")
    var response = HTTPResponse(status: 200, body: Data("\(request.method) \(request.path) \(query) \(request.body.count)".utf8))
    response.headers.set("Content-Type", "text/plain")
    return response
}

/// A fresh directory under /tmp for unix sockets (short paths: sun_path holds 107 bytes).
func temporaryDirectory() throws -> String {
    var template = Array("/tmp/httpt.XXXXXX".utf8CString)
    guard let path = mkdtemp(&template) else { throw HTTPTestError("mkdtemp failed") }
    return String(cString: path)
}
