import Foundation
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

/// The connection state machine driven by hand: bytes, handler answers, drained output and a clock
/// the test moves, so every timeout is checked without waiting.
@Suite("HTTPConnectionState")
struct HTTPConnectionStateTests {
    typealias Action = HTTPConnectionState.Action

    static let limits = HTTPConnectionState.Limits(maxHeaderBytes: 1024, maxBodyBytes: 100,
                                                   headerReadTimeout: 10, idleTimeout: 60)

    static func at(_ seconds: Double) -> HTTPConnectionState.Instant {
        .init(monotonic: seconds, wall: 1_700_000_000 + seconds)
    }

    static func make() -> HTTPConnectionState {
        HTTPConnectionState(id: 7, remoteAddress: "127.0.0.1:5555", limits: limits, requestIDPrefix: "abc", now: at(0))
    }

    static func dispatched(_ actions: [Action]) -> [HTTPRequest] {
        actions.compactMap { if case .dispatch(let r) = $0 { r } else { nil } }
    }

    static func written(_ actions: [Action]) -> String {
        actions.map { if case .write(let b) = $0 { String(decoding: b, as: UTF8.self) } else { "" } }.joined()
    }

    @Test func pipelinedRequestsAreDispatchedOneAtATimeInOrder() throws {
        var state = Self.make()
        let two = "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\nX-Request-Id: client-id\r\n\r\n"
        var actions = state.received(Array(two.utf8), now: Self.at(1))
        let first = try #require(Self.dispatched(actions).first)
        #expect(Self.dispatched(actions).count == 1)
        #expect(first.path == "/1")
        #expect(first.remoteAddress == "127.0.0.1:5555")
        #expect(first.headers["X-Request-Id"] == "abc-7-1")
        #expect(!state.wantsRead)
        #expect(state.deadline == nil)

        actions = state.responded(HTTPResponse(status: 200, body: Data("one".utf8)), now: Self.at(2))
        let response = Self.written(actions)
        #expect(response.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(response.contains("Content-Length: 3\r\n"))
        #expect(response.contains("X-Request-Id: abc-7-1\r\n"))
        #expect(response.contains("Date: Tue, 14 Nov 2023 22:13:22 GMT\r\n"))
        #expect(!response.contains("Connection:"))
        #expect(response.hasSuffix("\r\n\r\none"))
        let log = try #require(actions.compactMap { if case .log(let e) = $0 { e } else { nil } }.first)
        #expect(log.status == 200 && log.bytes == 3 && log.durationSeconds == 1 && log.requestId == "abc-7-1")

        actions = state.written(now: Self.at(3))
        let second = try #require(Self.dispatched(actions).first)
        #expect(second.path == "/2")
        #expect(second.headers["X-Request-Id"] == "client-id")
    }

    @Test func connectionCloseAndHTTP10CloseAfterTheResponse() {
        for text in ["GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "GET / HTTP/1.0\r\n\r\n"] {
            var state = Self.make()
            _ = state.received(Array(text.utf8), now: Self.at(1))
            let actions = state.responded(HTTPResponse(status: 204), now: Self.at(1))
            #expect(Self.written(actions).contains("Connection: close\r\n"))
            #expect(actions.last == .closeGracefully)
            #expect(state.written(now: Self.at(1)).isEmpty)  // lingering: drains input until EOF
            #expect(state.peerClosed(now: Self.at(1.5)) == [.closeNow])
        }
    }

    @Test func headGetsHeadersOnly() {
        var state = Self.make()
        _ = state.received(Array("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), now: Self.at(0))
        let text = Self.written(state.responded(HTTPResponse(status: 200, body: Data("12345".utf8)), now: Self.at(0)))
        #expect(text.contains("Content-Length: 5\r\n"))
        #expect(text.hasSuffix("\r\n\r\n"))
    }

    @Test func slowHeaderGets408AtTheHeaderDeadline() {
        var state = Self.make()
        #expect(state.received(Array("GET / HTTP/1.1\r\nHo".utf8), now: Self.at(5)).isEmpty)
        #expect(state.deadline == 15)
        // Trickling bytes does not move the deadline.
        #expect(state.received(Array("s".utf8), now: Self.at(14)).isEmpty)
        #expect(state.tick(now: Self.at(14.9)).isEmpty)
        let actions = state.tick(now: Self.at(15))
        #expect(Self.written(actions).hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(Self.written(actions).contains(#"{"error":{"code":"request_timeout""#))
        #expect(actions.last == .closeGracefully)
    }

    @Test func aConnectionThatNeverSpeaksIsClosedAfterTheHeaderTimeout() {
        var state = Self.make()
        #expect(state.deadline == 10)
        #expect(state.tick(now: Self.at(10)) == [.closeNow])
    }

    @Test func idleConnectionIsClosedSilently() {
        var state = Self.make()
        _ = state.received(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), now: Self.at(1))
        _ = state.responded(HTTPResponse(status: 200), now: Self.at(2))
        _ = state.written(now: Self.at(3))
        #expect(state.deadline == 63)
        #expect(state.tick(now: Self.at(62)).isEmpty)
        #expect(state.tick(now: Self.at(63)) == [.closeNow])
    }

    @Test func pipelinedPartialHeadGetsAFreshTimerAfterAResponse() {
        var state = Self.make()
        _ = state.received(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next HT".utf8), now: Self.at(0))
        _ = state.responded(HTTPResponse(status: 200), now: Self.at(30))  // a slow handler
        _ = state.written(now: Self.at(30))
        #expect(state.deadline == 40)
    }

    @Test func protocolErrorsAreAnsweredAfterEarlierPipelinedRequests() {
        var state = Self.make()
        let actions = state.received(Array("GET /ok HTTP/1.1\r\nHost: x\r\n\r\nBROKEN\r\n\r\n".utf8), now: Self.at(0))
        #expect(Self.dispatched(actions).map(\.path) == ["/ok"])
        #expect(Self.written(actions).isEmpty)
        let response = state.responded(HTTPResponse(status: 200), now: Self.at(0))
        #expect(!Self.written(response).contains("Connection: close"))
        let after = state.written(now: Self.at(0))
        #expect(Self.written(after).hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(Self.written(after).contains("Connection: close\r\n"))
        #expect(after.last == .closeGracefully)
    }

    @Test func shutdownFinishesTheRequestInFlightAndClosesIdleOnes() {
        var busy = Self.make()
        _ = busy.received(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /queued HTTP/1.1\r\nHost: x\r\n\r\n".utf8), now: Self.at(0))
        #expect(busy.shutdown(now: Self.at(1)).isEmpty)
        let actions = busy.responded(HTTPResponse(status: 200), now: Self.at(2))
        #expect(Self.written(actions).contains("Connection: close\r\n"))
        #expect(busy.written(now: Self.at(2)) == [.closeNow])

        var idle = Self.make()
        #expect(idle.shutdown(now: Self.at(1)) == [.closeNow])
    }

    @Test func theShutdownDeadlineAnswersAStuckRequest503AndDropsTheLateResponse() {
        var stuck = Self.make()
        _ = stuck.received(Array("GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n".utf8), now: Self.at(0))
        #expect(stuck.shutdown(now: Self.at(1)).isEmpty)
        let actions = stuck.abandon(now: Self.at(31))
        #expect(Self.written(actions).hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(Self.written(actions).contains("Retry-After: 1\r\n"))
        #expect(Self.written(actions).contains("Connection: close\r\n"))
        #expect(Self.written(actions).contains(#""code":"shutting_down""#))
        #expect(actions.last == .closeGracefully)
        #expect(stuck.responded(HTTPResponse(status: 200), now: Self.at(32)).isEmpty)
        // It lingers (draining unread input) instead of closing over it.
        #expect(stuck.written(now: Self.at(31)).isEmpty)
        #expect(stuck.wantsRead)
        #expect(stuck.tick(now: Self.at(40)) == [.closeNow])

        var idle = Self.make()
        #expect(idle.abandon(now: Self.at(31)) == [.closeNow])
    }

    @Test func expectContinueWrites100BeforeTheBody() {
        var state = Self.make()
        let actions = state.received(Array("PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".utf8), now: Self.at(0))
        #expect(Self.written(actions) == "HTTP/1.1 100 Continue\r\n\r\n")
        #expect(Self.dispatched(state.received(Array("ok".utf8), now: Self.at(0))).first?.body == Data("ok".utf8))
    }

    @Test func rejectionIs503() {
        var state = Self.make()
        let actions = state.reject(now: Self.at(0))
        #expect(Self.written(actions).hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"))
        #expect(actions.last == .closeGracefully)
    }

    @Test func handlerHeadersCannotBreakFraming() {
        var state = Self.make()
        _ = state.received(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8), now: Self.at(0))
        let response = HTTPResponse(status: 200, headers: ["Content-Length": "999", "X-Evil": "a\r\nInjected: yes",
                                                           "Connection": "close", "X-Fine": "ok"], body: Data("ab".utf8))
        let text = Self.written(state.responded(response, now: Self.at(0)))
        #expect(text.contains("Content-Length: 2\r\n"))
        #expect(!text.contains("999"))
        #expect(!text.contains("Injected"))
        #expect(text.contains("X-Fine: ok\r\n"))
        #expect(!text.contains("Connection: close"))
    }

    @Test func accessLogLineIsLogfmt() {
        let entry = AccessLogEntry(timestamp: Date(timeIntervalSince1970: 1_700_000_000), method: "GET", path: "/v1/a b",
                                   status: 200, bytes: 12, durationSeconds: 0.00123, remoteAddress: "127.0.0.1:5555",
                                   requestId: "r-1")
        #expect(entry.line == #"ts=2023-11-14T22:13:20Z method=GET path="/v1/a b" status=200 bytes=12 duration_ms=1.2 remote=127.0.0.1:5555 request_id=r-1"#)
    }
}
