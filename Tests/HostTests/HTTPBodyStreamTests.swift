import Foundation
import Glibc
import Testing
@testable import HTTPServer

/// Streamed response bodies (`HTTPBodyStream`) over real sockets: chunked framing, the connection
/// closing after the body, HTTP/1.0 bodies delimited by the close, and the producer learning that
/// its client left.
@Suite("HTTPServer streamed bodies")
struct HTTPBodyStreamTests {
    /// Reads until the server closes.
    static func readToEOF(_ client: RawHTTPClient) -> [UInt8] {
        var all: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(client.fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return all }
            all += chunk[0..<n]
        }
    }

    /// Splits a raw response into its head and (de-chunked when `chunked`) body.
    static func split(_ raw: [UInt8], chunked: Bool) throws -> (head: String, body: [UInt8]) {
        guard let end = (0..<max(0, raw.count - 3)).first(where: { raw[$0] == 13 && raw[$0 + 1] == 10 && raw[$0 + 2] == 13 && raw[$0 + 3] == 10 }) else {
            throw HTTPTestError("no head")
        }
        let head = String(decoding: raw[0..<end], as: UTF8.self)
        var rest = Array(raw[(end + 4)...])
        guard chunked else { return (head, rest) }
        var body: [UInt8] = []
        while true {
            guard let lf = rest.firstIndex(of: 10) else { throw HTTPTestError("truncated chunk size") }
            let size = try #require(Int(String(decoding: rest[0..<lf], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines), radix: 16))
            rest.removeFirst(lf + 1)
            if size == 0 { #expect(rest == [13, 10], "bytes after the last chunk"); return (head, body) }
            body += rest[0..<size]
            #expect(rest[size] == 13 && rest[size + 1] == 10)
            rest.removeFirst(size + 2)
        }
    }

    static let streaming: @Sendable (HTTPRequest) -> HTTPResponse = { request in
        var response = HTTPResponse(status: 200, headers: ["Content-Type": "application/x-ndjson"])
        response.stream = HTTPBodyStream(capacity: 1024) { body in
            for i in 0..<200 { guard body.write(Data("line \(i) \(String(repeating: "x", count: i))\n".utf8)) else { return } }
        }
        return response
    }

    static var expectedBody: [UInt8] { Array((0..<200).map { "line \($0) \(String(repeating: "x", count: $0))\n" }.joined().utf8) }

    @Test func chunkedBodyThenClose() throws {
        try withServer(handler: Self.streaming) { _, address in
            let client = try RawHTTPClient(address)
            try client.send("GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
            let (head, body) = try Self.split(Self.readToEOF(client), chunked: true)
            #expect(head.hasPrefix("HTTP/1.1 200"))
            #expect(head.contains("Transfer-Encoding: chunked"))
            #expect(head.contains("Connection: close"))
            #expect(!head.contains("Content-Length"))
            #expect(body == Self.expectedBody)
        }
    }

    @Test func http10BodyEndsWithTheConnection() throws {
        try withServer(handler: Self.streaming) { _, address in
            let client = try RawHTTPClient(address)
            try client.send("GET /s HTTP/1.0\r\n\r\n")
            let (head, body) = try Self.split(Self.readToEOF(client), chunked: false)
            #expect(head.hasPrefix("HTTP/1.0 200"))
            #expect(!head.contains("Transfer-Encoding"))
            #expect(body == Self.expectedBody)
        }
    }

    @Test func producerLearnsThatTheClientLeft() throws {
        let stopped = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        let handler: @Sendable (HTTPRequest) -> HTTPResponse = { _ in
            var response = HTTPResponse(status: 200)
            response.stream = HTTPBodyStream(capacity: 4096) { body in
                started.signal()
                // Endless output: only the client leaving ends it.
                while body.write(Data(repeating: 0x61, count: 1000)) {}
                #expect(body.isCancelled)
                stopped.signal()
            }
            return response
        }
        try withServer(handler: handler) { _, address in
            let client = try RawHTTPClient(address)
            try client.send("GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(started.wait(timeout: .now() + 10) == .success)
            var chunk = [UInt8](repeating: 0, count: 4096)
            #expect(recv(client.fd, &chunk, chunk.count, 0) > 0)
            shutdown(client.fd, Int32(SHUT_RDWR))  // the client's deinit closes the descriptor
            #expect(stopped.wait(timeout: .now() + 10) == .success, "the producer kept writing to a client that left")
        }
    }
}
