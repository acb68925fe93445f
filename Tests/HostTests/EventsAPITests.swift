import Foundation
import PluginKit
import Synchronization
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

/// `GET /v1/events` polling (the next_since cursor, consumer scoping, long polling with `wait`),
/// `GET /v1/sandboxes/{id}/explain`, and the actor recorded by an HTTP extend.
@Suite struct EventsAPITests {
    typealias Fixture = APITests.Fixture

    func page(_ x: Fixture, _ query: String, token: String? = nil) throws -> (seqs: [Int64], types: [String], next: Int64) {
        let r = x.send("GET", "/v1/events" + query, token: token)
        #expect(r.status == 200, "\(query): \(r.json)")
        let events = try #require(r.json["events"]?.arrayValue)
        let next = try #require(r.json["next_since"]?.numberValue)
        return (events.compactMap { $0["seq"]?.numberValue.map(Int64.init) }, events.compactMap { $0["type"]?.stringValue },
                Int64(next))
    }

    /// Sends a request on another thread; the result arrives on `done`.
    final class Pending: Sendable {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<HTTPResponse?>(nil)
        init(_ api: SandboxAPI, _ target: String, token: String? = nil) {
            var headers = HTTPHeaders()
            if let token { headers.set("Authorization", "Bearer \(token)") }
            let request = HTTPRequest(method: "GET", target: target, headers: headers)
            Thread.detachNewThread { [self] in
                let response = api.handle(request)
                result.withLock { $0 = response }
                done.signal()
            }
        }

        /// The response, if it came within `seconds`.
        func wait(_ seconds: Double) -> HTTPResponse? {
            guard done.wait(timeout: .now() + seconds) == .success else { return nil }
            return result.withLock { $0 }
        }

        func json(_ seconds: Double) -> JSONValue? {
            wait(seconds).flatMap { try? JSONDecoder().decode(JSONValue.self, from: $0.body) }
        }
    }

    @Test func pollingWithNextSinceSeesEveryEventOnce() throws {
        let x = try Fixture(tokens: false)
        let a = try x.f.service.create(CreateOptions(profile: "default")).sandbox
        _ = try x.f.service.destroy(a.id)
        let first = try page(x, "?limit=2")
        #expect(first.types == ["created", "ready"])
        #expect(first.next == first.seqs.last)
        let rest = try page(x, "?since=\(first.next)")
        #expect(rest.types == ["destroying", "destroyed"])
        let idle = try page(x, "?since=\(rest.next)")
        #expect(idle.seqs.isEmpty)
        #expect(idle.next == rest.next)  // an empty page keeps the cursor
        _ = try x.f.service.create(CreateOptions(profile: "default"))
        #expect(try page(x, "?since=\(idle.next)").types == ["created", "ready"])
        #expect(try page(x, "?since=0&sandbox=\(a.id)").types == ["created", "ready", "destroying", "destroyed"])
        for bad in ["?wait=31", "?wait=-1", "?wait=soon", "?since=x", "?limit=1001"] {
            #expect(x.send("GET", "/v1/events" + bad).status == 400, "\(bad)")
        }
    }

    @Test func aConsumersCursorMovesPastOtherConsumersEvents() throws {
        let x = try Fixture(tokens: true)
        let mine = try #require(x.send("POST", "/v1/sandboxes", body: "{}", token: APITests.consumerA).json["id"]?.stringValue)
        for _ in 0..<3 { x.send("POST", "/v1/sandboxes", body: "{}", token: APITests.consumerB) }
        let all = try page(x, "?limit=1000", token: APITests.operatorToken)
        #expect(all.seqs.count == 8)
        let a = try page(x, "", token: APITests.consumerA)
        #expect(a.types == ["created", "ready"])
        #expect(a.next == all.next)  // past B's events, so the next poll does not scan them again
        #expect(try page(x, "?since=\(a.next)", token: APITests.consumerA).seqs.isEmpty)
        // A full page stops at its last event, so nothing after it is skipped.
        let one = try page(x, "?limit=1", token: APITests.consumerA)
        #expect(one.types == ["created"])
        #expect(one.next == one.seqs.first)
        #expect(x.send("DELETE", "/v1/sandboxes/\(mine)", token: APITests.consumerA).status == 200)
        #expect(try page(x, "?since=\(a.next)", token: APITests.consumerA).types == ["destroying", "destroyed"])
    }

    @Test func aLongPollAnswersWhenAnEventArrives() throws {
        let x = try Fixture(tokens: false)
        let since = try page(x, "").next
        let pending = Pending(x.api, "/v1/events?since=\(since)&wait=30")
        #expect(x.api.longPolls.waitForWaiters(1, timeout: 10), "the request never started waiting")
        let created = try x.f.service.create(CreateOptions(profile: "default")).sandbox
        let json = try #require(pending.json(10), "the long poll did not answer within 10 s of the event")
        let events = try #require(json["events"]?.arrayValue)
        #expect(events.first?["sandbox_id"]?.stringValue == created.id)
        #expect(events.first?["type"] == "created")
    }

    @Test func aLongPollEndsWithAnEmptyPageWhenTheWaitIsOver() throws {
        let x = try Fixture(tokens: false)
        _ = try x.f.service.create(CreateOptions(profile: "default"))
        let since = try page(x, "").next
        let started = Date()
        let r = try page(x, "?since=\(since)&wait=1")
        #expect(r.seqs.isEmpty)
        #expect(r.next == since)
        #expect(Date().timeIntervalSince(started) >= 0.9)
        // Events already there: no wait at all.
        #expect(try page(x, "?since=0&wait=30").seqs.count == 2)
    }

    @Test func waitersAreBoundedAndShutdownEndsTheirWait() throws {
        let x = try Fixture(tokens: false)
        let gate = x.api.longPolls
        let waiters = (0..<gate.limit).map { _ in Pending(x.api, "/v1/events?wait=30") }
        #expect(gate.waitForWaiters(gate.limit, timeout: 10))
        // Over the limit: answered at once instead of holding another worker.
        let over = Pending(x.api, "/v1/events?wait=30")
        #expect(over.json(10)?["events"] == .array([]))
        for w in waiters { #expect(w.done.wait(timeout: .now()) == .timedOut) }
        gate.close()
        for w in waiters { #expect(w.json(10)?["events"] == .array([]), "close() did not end the wait") }
    }

    @Test func explainIsScopedLikeGetSandbox() throws {
        let x = try Fixture(tokens: true)
        let id = try #require(x.send("POST", "/v1/sandboxes", body: #"{"ttl":"2h"}"#, token: APITests.consumerA).json["id"]?.stringValue)
        let mine = x.send("GET", "/v1/sandboxes/\(id)/explain", token: APITests.consumerA)
        #expect(mine.status == 200)
        #expect(mine.json["summary"]?.stringValue?.hasPrefix("\(id) is ready and will be destroyed at ") == true)
        #expect(mine.json["next"]?["rule"] == "ttl")
        #expect(mine.json["ttl"]?["granted"] == "2h")
        #expect(x.send("GET", "/v1/sandboxes/\(id)/explain", token: APITests.consumerB).status == 404)
        #expect(x.send("GET", "/v1/sandboxes/\(id)/explain").status == 401)
        #expect(x.send("GET", "/v1/sandboxes/sbx-0000000000000000/explain", token: APITests.operatorToken).status == 404)
        #expect(x.send("DELETE", "/v1/sandboxes/\(id)", token: APITests.operatorToken).status == 200)
        let ended = x.send("GET", "/v1/sandboxes/\(id)/explain", token: APITests.operatorToken)
        #expect(ended.json["ended"]?["reason"] == "manual")
        #expect(ended.json["next"] == .null)
    }

    @Test func anHTTPExtendRecordsTheTokenName() throws {
        for tokens in [true, false] {
            let x = try Fixture(tokens: tokens)
            let token = tokens ? APITests.consumerA : nil
            let id = try #require(x.send("POST", "/v1/sandboxes", body: "{}", token: token).json["id"]?.stringValue)
            #expect(x.send("PATCH", "/v1/sandboxes/\(id)/ttl", body: #"{"duration":"1h"}"#, token: token).status == 200)
            let event = try #require(try x.f.service.events(sandboxId: id, since: nil, limit: nil).first { $0.type == "ttl_extended" })
            #expect(event.data.string("by") == (tokens ? "api:a" : "api:local"))
        }
    }
}
