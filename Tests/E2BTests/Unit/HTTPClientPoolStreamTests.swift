import Foundation
import Testing
import HTTPClient
import HTTPServer
import Synchronization

/// The HTTP client's additions the E2B plugin relies on: connection reuse through a pool,
/// streamed bodies, and stopping a transfer from a callback. Against the project's own server.
@Suite struct HTTPClientPoolStreamTests {
    static func serve(_ handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) throws -> (HTTPServer, String) {
        var configuration = HTTPServerConfiguration()
        configuration.listen = .tcp(host: "127.0.0.1", port: 0)
        let server = HTTPServer(configuration: configuration, handler: handler)
        guard case .tcp(_, let port) = try server.start() else { throw HTTPClientError(code: .connect, message: "Not bound to TCP.") }
        return (server, "http://127.0.0.1:\(port)")
    }

    @Test func aPooledClientReusesItsConnection() throws {
        let peers = Mutex<[String]>([])
        let (server, base) = try Self.serve { request in
            peers.withLock { $0.append(request.remoteAddress) }
            return HTTPResponse(status: 200, body: Data("ok".utf8))
        }
        defer { server.shutdown(); server.wait() }
        let pool = HTTPConnectionPool()
        let client = HTTPClient(pool: pool)
        for _ in 0..<3 { #expect(try client.get(url: base + "/x").body == Array("ok".utf8)) }
        #expect(pool.idleCount == 1)
        let seen = peers.withLock { $0 }
        #expect(seen.count == 3 && Set(seen).count == 1, "three requests came over \(Set(seen).count) connections: \(seen)")

        // Without a pool every request opens its own connection.
        let fresh = HTTPClient()
        for _ in 0..<2 { _ = try fresh.get(url: base + "/y") }
        #expect(Set(peers.withLock { $0 }.suffix(2)).count == 2)
    }

    @Test func streamHandsTheBodyOverAsItArrivesAndCanStop() throws {
        let payload = Data((0..<300_000).map { UInt8($0 % 251) })
        let (server, base) = try Self.serve { request in
            HTTPResponse(status: request.path == "/missing" ? 404 : 200, body: payload)
        }
        defer { server.shutdown(); server.wait() }
        let client = HTTPClient(pool: HTTPConnectionPool())
        var received = Data()
        var statuses = Set<Int>()
        var chunks = 0
        let response = try client.stream(HTTPClientRequest(method: "GET", url: base + "/big")) { status, chunk in
            statuses.insert(status); chunks += 1; received.append(contentsOf: chunk); return true
        }
        #expect(response.status == 200 && response.body.isEmpty)
        #expect(received == payload && statuses == [200] && chunks > 1)

        var missing: Set<Int> = []
        _ = try client.stream(HTTPClientRequest(method: "GET", url: base + "/missing")) { status, _ in missing.insert(status); return true }
        #expect(missing == [404])

        do {
            _ = try client.stream(HTTPClientRequest(method: "GET", url: base + "/big")) { _, _ in false }
            Issue.record("a sink that said stop did not stop the transfer")
        } catch { #expect(error.code == .aborted) }
    }

    @Test func anAbortCheckStopsAWaitingRequest() throws {
        let release = DispatchSemaphore(value: 0)
        let (server, base) = try Self.serve { _ in
            release.wait()   // answers only once the test lets it
            return HTTPResponse(status: 200)
        }
        defer { release.signal(); server.shutdown(); server.wait() }
        let started = Date()
        do {
            _ = try HTTPClient().send(HTTPClientRequest(method: "GET", url: base + "/slow", timeout: 30), shouldAbort: { true })
            Issue.record("the request was not stopped")
        } catch {
            #expect(error.code == .aborted)
            #expect(error.message.contains("stopped by its caller"))
        }
        #expect(Date().timeIntervalSince(started) < 10)
    }
}
