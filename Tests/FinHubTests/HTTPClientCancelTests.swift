import Foundation
import Glibc
import HTTPClient
import Testing

/// HTTPClient's `isCancelled` (added for the fin-hub plugin, whose calls the host may cancel).
@Suite struct HTTPClientCancelTests {
    /// A loopback socket that listens but never accepts: the connection completes in the kernel's
    /// backlog, and no answer ever comes.
    static func silentListener() throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        try #require(bound)
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }

    @Test func aCancelledRequestEndsWithCancelledNotTheTimeout() throws {
        let (fd, port) = try Self.silentListener()
        defer { close(fd) }
        let started = Date()
        let request = HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(port)/", timeout: 60, isCancelled: { true })
        #expect(throws: HTTPClientError.self) { _ = try HTTPClient().send(request) }
        do { _ = try HTTPClient().send(request) } catch { #expect(error.code == .cancelled, "\(error)") }
        // Well inside the 60 s limit: curl polls the check about once a second at worst.
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test func withoutCancellationTheRequestRunsToItsLimit() throws {
        let (fd, port) = try Self.silentListener()
        defer { close(fd) }
        let request = HTTPClientRequest(method: "GET", url: "http://127.0.0.1:\(port)/", timeout: 0.3, isCancelled: { false })
        do { _ = try HTTPClient().send(request); Issue.record("a silent server answered") }
        catch { #expect(error.code == .timeout, "\(error)") }
    }
}
