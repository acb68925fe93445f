import Foundation
import Glibc
import Testing
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

@Suite("HTTPServer over real sockets")
struct HTTPServerTests {
    @Test func keepAliveServesTwoRequestsOnOneConnection() throws {
        try withServer { server, address in
            let client = try RawHTTPClient(address)
            let first = try client.request("GET /one?a=1&a=2 HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(first.status == 200)
            #expect(first.text == "GET /one a=1,2 0")
            #expect(first.headers["Content-Length"] == "16")
            #expect(first.headers["Date"]?.hasSuffix(" GMT") == true)
            #expect(first.headers["X-Request-Id"]?.isEmpty == false)
            #expect(first.headers["Connection"] == nil)
            let second = try client.request("POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nX-Request-Id: mine\r\n\r\nbody")
            #expect(second.text == "POST /two  4")
            #expect(second.headers["X-Request-Id"] == "mine")
            #expect(first.headers["X-Request-Id"] != second.headers["X-Request-Id"])
            #expect(server.openConnections == 1)
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        try withServer { _, address in
            let client = try RawHTTPClient(address)
            var text = ""
            for i in 0..<20 { text += "GET /p\(i) HTTP/1.1\r\nHost: x\r\n\r\n" }
            try client.send(text + "GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            for i in 0..<20 { #expect(try client.readResponse()?.text == "GET /p\(i)  0") }
            let last = try #require(try client.readResponse())
            #expect(last.headers["Connection"] == "close")
            #expect(try client.readsEOF())
        }
    }

    @Test func http10ClosesAndHeadHasNoBody() throws {
        try withServer { _, address in
            let client = try RawHTTPClient(address)
            let head = try client.request("HEAD /h HTTP/1.0\r\n\r\n")
            #expect(head.status == 200)
            #expect(head.headers["Content-Length"] == "10")  // the length of "HEAD /h  0"
            #expect(head.headers["Connection"] == "close")
            #expect(try client.readsEOF())  // no body bytes followed
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), "curl is not installed"))
    func curlTalksToTheServer() throws {
        try withServer { _, address in
            guard case .tcp(_, let port) = address else { return }
            let get = try runCurl(["-sS", "http://127.0.0.1:\(port)/v1/x%20y?q=a+b"])
            #expect(get == "GET /v1/x y q=a b 0")
            let post = try runCurl(["-sS", "-X", "POST", "--data-binary", "12345", "http://127.0.0.1:\(port)/post"])
            #expect(post == "POST /post  5")
            let headers = try runCurl(["-sS", "-I", "http://127.0.0.1:\(port)/"])
            #expect(headers.hasPrefix("HTTP/1.1 200 OK"))
            #expect(headers.contains("X-Request-Id: "))
        }
    }

    @Test func chunkedBodyGets411AndClose() throws {
        try withServer { _, address in
            let client = try RawHTTPClient(address)
            let response = try client.request("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
            #expect(response.status == 411)
            #expect(response.headers["Connection"] == "close")
            #expect(response.headers["Content-Type"] == "application/json")
            #expect(response.text.hasPrefix(#"{"error":{"code":"length_required","message":"#))
            #expect(try client.readsEOF())
        }
    }

    @Test func oversizedHeadersGet431AndTheServerKeepsServing() throws {
        try withServer({ $0.maxHeaderBytes = 1024 }) { _, address in
            let client = try RawHTTPClient(address)
            let response = try client.request("GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 5000))\r\n\r\n")
            #expect(response.status == 431)
            #expect(response.text.contains(#""code":"header_too_large""#))
            #expect(try client.readsEOF())
            #expect(try RawHTTPClient(address).request("GET /after HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
        }
    }

    @Test func oversizedBodyGets413WithoutTheBodyBeingSent() throws {
        try withServer({ $0.maxBodyBytes = 1000 }) { _, address in
            let client = try RawHTTPClient(address)
            // Only the head is sent: the answer must come without the server waiting for 10 MB.
            let response = try client.request("PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
            #expect(response.status == 413)
            #expect(response.headers["Connection"] == "close")
            #expect(response.text.contains(#""code":"body_too_large""#))
            #expect(try client.readsEOF())
        }
    }

    @Test func slowLorisGets408AndIsClosedAfterTheHeaderTimeout() throws {
        try withServer({ $0.headerReadTimeout = 0.3 }) { _, address in
            let client = try RawHTTPClient(address)
            let started = Date()
            try client.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            // The server's 408 and close are the handshake: the read blocks until they come.
            let response = try #require(try client.readResponse())
            #expect(response.status == 408)
            #expect(response.headers["Connection"] == "close")
            #expect(try client.readsEOF())
            #expect(Date().timeIntervalSince(started) >= 0.3)
        }
    }

    @Test func aSlowClientDoesNotHoldTheOnlyWorker() throws {
        try withServer({ $0.workerThreads = 1 }) { _, address in
            let slow = try RawHTTPClient(address)
            try slow.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhalf")
            let fast = try RawHTTPClient(address)
            #expect(try fast.request("GET /fast HTTP/1.1\r\nHost: x\r\n\r\n").text == "GET /fast  0")
            try slow.send("-rest!")
            #expect(try slow.readResponse()?.text == "POST /  10")
        }
    }

    @Test func aThousandConnectionsOpenedAtOnceAreAllServed() throws {
        try withServer { server, address in
            var clients: [RawHTTPClient] = []
            for _ in 0..<1000 { clients.append(try RawHTTPClient(address)) }
            for (i, client) in clients.enumerated() { try client.send("GET /c\(i) HTTP/1.1\r\nHost: x\r\n\r\n") }
            var served = 0
            for (i, client) in clients.enumerated() where try client.readResponse()?.text == "GET /c\(i)  0" { served += 1 }
            #expect(served == 1000)
            #expect(server.openConnections == 1000)
        }
    }

    @Test func connectionsBeyondTheLimitGet503() throws {
        try withServer({ $0.maxConnections = 2 }) { _, address in
            let first = try RawHTTPClient(address)
            let second = try RawHTTPClient(address)
            // A response on each proves both were accepted and counted.
            #expect(try first.request("GET / HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
            #expect(try second.request("GET / HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
            let third = try RawHTTPClient(address)
            let rejected = try #require(try third.readResponse())
            #expect(rejected.status == 503)
            #expect(rejected.headers["Connection"] == "close")
            #expect(rejected.text.contains(#""code":"too_many_connections""#))
            #expect(try third.readsEOF())
            // The accepted connections still work.
            #expect(try first.request("GET /still HTTP/1.1\r\nHost: x\r\n\r\n").text == "GET /still  0")
        }
    }

    @Test func everyConnectionBeyondTheLimitReadsAComplete503NeverAReset() throws {
        try withServer({ $0.maxConnections = 2 }) { _, address in
            let held = try (0..<2).map { _ in try RawHTTPClient(address) }
            for client in held { #expect(try client.request("GET / HTTP/1.1\r\nHost: x\r\n\r\n").status == 200) }
            // More excess than the server answers at once (64): the rest must wait in the backlog,
            // not be accepted and closed over their unread request (which the kernel turns into an RST).
            let excess = HTTPEventLoop.maxRejecting + 40
            var clients: [RawHTTPClient] = []
            for _ in 0..<excess {
                let client = try RawHTTPClient(address, timeout: 10)
                try client.send("GET /excess HTTP/1.1\r\nHost: x\r\n\r\n")
                clients.append(client)
            }
            var answered = 0
            while !clients.isEmpty {
                let client = clients.removeFirst()  // closed after this turn, freeing a 503 place
                // `readResponse` throws on ECONNRESET or the 10 s receive timeout.
                let response = try #require(try client.readResponse())
                #expect(response.status == 503)
                #expect(response.text.contains(#""code":"too_many_connections""#))
                #expect(try client.readsEOF())
                answered += 1
            }
            #expect(answered == excess)
            #expect(try held[0].request("GET /still HTTP/1.1\r\nHost: x\r\n\r\n").text == "GET /still  0")
        }
    }

    @Test func accessLogRecordsEveryAnsweredRequest() throws {
        let sink = AccessLogSink()
        try withServer(log: sink) { _, address in
            let client = try RawHTTPClient(address)
            let ok = try client.request("GET /logged?x=1 HTTP/1.1\r\nHost: x\r\nX-Request-Id: trace-1\r\n\r\n")
            #expect(ok.status == 200)
            let bad = try RawHTTPClient(address).request("NOT A REQUEST\r\n\r\n")
            #expect(bad.status == 400)
            let entries = sink.all
            #expect(entries.count == 2)
            let first = try #require(entries.first)
            #expect(first.method == "GET" && first.path == "/logged" && first.status == 200)
            #expect(first.bytes == ok.body.count)
            #expect(first.requestId == "trace-1")
            #expect(first.remoteAddress.hasPrefix("127.0.0.1:"))
            #expect(first.line.contains("method=GET path=/logged status=200 bytes=\(ok.body.count) duration_ms="))
            #expect(first.line.hasSuffix("request_id=trace-1"))
            #expect(entries.last?.status == 400)
            #expect(entries.last?.requestId == bad.headers["X-Request-Id"])
        }
    }

    @Test func bindingAPortInUseFails() throws {
        try withServer { _, address in
            var configuration = HTTPServerConfiguration()
            configuration.listen = address
            let second = HTTPServer(configuration: configuration, handler: echoHandler)
            #expect(throws: HTTPServerError.self) { _ = try second.start() }
            second.wait()  // never started: returns at once
        }
    }
}

/// Runs curl and returns its standard output.
func runCurl(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    process.arguments = ["--max-time", "10"] + arguments
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw HTTPTestError("curl exited \(process.terminationStatus)") }
    return String(decoding: data, as: UTF8.self)
}
