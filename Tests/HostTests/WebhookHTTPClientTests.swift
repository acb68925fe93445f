import Foundation
import HTTPClient
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

/// The libcurl client the webhooks use, against the project's own HTTP server on loopback.
@Suite struct WebhookHTTPClientTests {
    /// Starts a loopback server with `handler`; returns it and its base URL.
    static func serve(_ handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) throws -> (HTTPServer, String) {
        var configuration = HTTPServerConfiguration()
        configuration.listen = .tcp(host: "127.0.0.1", port: 0)
        let server = HTTPServer(configuration: configuration, handler: handler)
        let bound = try server.start()
        guard case .tcp(_, let port) = bound else { throw HTTPClientError(code: .connect, message: "Not bound to TCP: \(bound).") }
        return (server, "http://127.0.0.1:\(port)")
    }

    @Test func postSendsHeadersAndBodyAndReturnsTheAnswer() throws {
        let seen = Recorder<HTTPRequest>()
        let (server, base) = try Self.serve { request in
            seen.add(request)
            var response = HTTPResponse(status: 202, body: Data("accepted".utf8))
            response.headers.set("X-Receipt", "r-1")
            return response
        }
        defer { server.shutdown(); server.wait() }
        let body = Array(#"{"a":1}"#.utf8) + Array(repeating: UInt8(ascii: "x"), count: 5000)  // past curl's Expect threshold
        let response = try HTTPClient(userAgent: "test-agent").post(url: base + "/in?x=1", headers: [("Content-Type", "application/json"), ("X-Id", "42")],
                                                                    body: body, timeout: 10)
        #expect(response.status == 202)
        #expect(response.isSuccess)
        #expect(response.header("x-receipt") == "r-1")
        #expect(response.body == Array("accepted".utf8))
        let request = try #require(seen.items.first)
        #expect(request.method == "POST")
        #expect(request.target == "/in?x=1")
        #expect(request.headers["Content-Type"] == "application/json")
        #expect(request.headers["X-Id"] == "42")
        #expect(request.headers["User-Agent"] == "test-agent")
        #expect(request.headers["Expect"] == nil)
        #expect(Array(request.body) == body)
    }

    @Test func getAndErrorStatusesAreResponses() throws {
        let (server, base) = try Self.serve { request in
            HTTPResponse(status: request.path == "/missing" ? 404 : 200, body: Data(request.method.utf8))
        }
        defer { server.shutdown(); server.wait() }
        let client = HTTPClient()
        let ok = try client.get(url: base + "/")
        #expect(ok.status == 200 && ok.body == Array("GET".utf8))
        let missing = try client.post(url: base + "/missing", body: [])
        #expect(missing.status == 404 && !missing.isSuccess)
    }

    @Test func aLargerBodyThanAllowedIsAnError() throws {
        let (server, base) = try Self.serve { _ in HTTPResponse(status: 200, body: Data(repeating: 65, count: 100_000)) }
        defer { server.shutdown(); server.wait() }
        let request = HTTPClientRequest(method: "GET", url: base + "/big", maxResponseBytes: 1000)
        #expect(throws: HTTPClientError.self) { try HTTPClient().send(request) }
        do { _ = try HTTPClient().send(request) } catch { #expect(error.code == .responseTooLarge) }
    }

    @Test func aRefusedConnectionNamesOnlyTheOrigin() throws {
        let (server, base) = try Self.serve { _ in HTTPResponse(status: 200) }
        server.shutdown(); server.wait()   // the port is now closed
        do {
            _ = try HTTPClient().post(url: base + "/hook?token=s3cr3t", body: Array("{}".utf8), connectTimeout: 5, timeout: 5)
            Issue.record("a closed port answered")
        } catch {
            #expect(error.code == .connect)
            #expect(error.message.hasPrefix("The POST request to \(base) failed: "), "\(error.message)")
            #expect(!error.message.contains("s3cr3t") && !error.message.contains("/hook"))
            #expect(error.curlCode == 7)
        }
    }

    @Test(arguments: [
        HTTPClientRequest(method: "POST", url: "ftp://h.example/x"),
        HTTPClientRequest(method: "POST", url: "not a url"),
        HTTPClientRequest(method: "POST", url: "http:///nohost"),
        HTTPClientRequest(method: "TRACE", url: "http://h.example/"),
        HTTPClientRequest(method: "POST", url: "http://h.example/", headers: [("X-A", "1\r\nX-Injected: 2")]),
        HTTPClientRequest(method: "POST", url: "http://h.example/", headers: [("Bad:Name", "1")]),
        HTTPClientRequest(method: "POST", url: "http://h.example/", timeout: 0),
    ])
    func unusableRequestsFailBeforeAnythingIsSent(request: HTTPClientRequest) {
        do {
            _ = try HTTPClient().send(request)
            Issue.record("sent \(request.method) \(request.url)")
        } catch {
            #expect(error.code == .invalidRequest, "\(error.message)")
        }
    }
}
