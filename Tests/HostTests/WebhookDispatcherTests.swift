import Foundation
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

/// The dispatcher driven pass by pass with a manual clock: retries, dead letters, filters, shutdown,
/// and one run against a real HTTP receiver on loopback whose first answer is a 500.
@Suite struct WebhookDispatcherTests {
    static let secret = "whsec_dispatcher_test"

    let dir: StoreDirectory
    let store: SandboxStore
    let clock = ManualClock(Date(timeIntervalSince1970: 1_800_000_000))
    let log = Recorder<String>()

    init() throws {
        dir = try StoreDirectory()
        store = try dir.open()
    }

    func sink(_ name: String = "ops", url: String = "http://127.0.0.1:9/hook", events: Set<String>? = nil,
              maxAttempts: Int = 10) -> WebhookSink {
        WebhookSink(name: name, url: url, secret: .literal(Self.secret), events: events, timeout: TTLDuration(seconds: 5),
                    maxAttempts: maxAttempts, backoff: WebhookBackoff(initial: TTLDuration(seconds: 1), max: TTLDuration(seconds: 60)))
    }

    /// A dispatcher whose jitter draw is always 1 (full delay), logging into `log`.
    func dispatcher(_ sinks: [WebhookSink], sender: @escaping WebhookDispatcher.Sender) throws -> WebhookDispatcher {
        let log = self.log
        let d = WebhookDispatcher(store: store, sinks: sinks,
                                  secrets: try WebhookDispatcher.resolveSecrets(sinks, environment: [:]), clock: clock,
                                  sender: sender, random: { 1 }, log: { log.add($0) })
        try d.register()
        return d
    }

    func append(_ types: [String]) throws {
        try store.append(events: types.map { SandboxEvent(seq: 0, sandboxId: "sbx-00000000000000aa", storedType: $0, at: clock.now(), data: [:]) })
    }

    @Test func aFailedAttemptIsRetriedAfterItsBackoffWithTheSameEventId() throws {
        let answers = Recorder<Int>()
        let sent = Recorder<WebhookAttempt>()
        let d = try dispatcher([sink()]) { attempt in
            sent.add(attempt)
            let status = answers.count == 0 ? 500 : 204
            answers.add(status)
            return .status(status)
        }
        try append(["created"])
        let first = d.runOnce()
        #expect(first.map(\.result) == [.retry(at: clock.now().addingTimeInterval(1), error: "The receiver answered HTTP 500.")])
        #expect(d.runOnce().isEmpty, "not due before its backoff")
        clock.advance(0.999)
        #expect(d.runOnce().isEmpty)
        clock.advance(0.001)
        #expect(d.runOnce().map(\.result) == [.delivered(status: 204)])
        #expect(d.runOnce().isEmpty)
        clock.advance(3600)
        #expect(d.runOnce().isEmpty, "delivered once")

        let attempts = sent.items
        #expect(attempts.count == 2)
        let ids = attempts.map { header($0, "Sandboxer-Event-Id") }
        #expect(ids[0] == "evt_\(store.storeId)_1" && ids[0] == ids[1])
        #expect(attempts.map { header($0, "Sandboxer-Delivery-Attempt") } == ["1", "2"])
        #expect(attempts[0].message.body == attempts[1].message.body)
        #expect(attempts.map(\.url) == ["http://127.0.0.1:9/hook", "http://127.0.0.1:9/hook"])
        #expect(log.items.count == 1)
        #expect(log.items.first?.contains("attempt 1/10 failed: The receiver answered HTTP 500. Retrying in 1.0s.") == true)
        #expect(try store.webhookDeliveries(state: .delivered).map(\.attempts) == [2])
    }

    @Test func afterMaxAttemptsTheDeliveryIsDeadLettered() throws {
        let d = try dispatcher([sink(maxAttempts: 3)]) { _ in .failed("The POST request to http://127.0.0.1:9 failed: Connection refused.") }
        try append(["created"])
        var results: [WebhookOutcome.Result] = []
        for _ in 1...3 {
            results += d.runOnce().map(\.result)
            clock.advance(3600)
        }
        #expect(results.count == 3)
        if case .dead(let error)? = results.last {
            #expect(error.contains("Connection refused"))
        } else {
            Issue.record("expected a dead letter, got \(results)")
        }
        #expect(d.runOnce().isEmpty)
        let dead = try store.webhookDeliveries(state: .dead)
        #expect(dead.map(\.attempts) == [3])
        #expect(log.items.last?.contains("dead-lettered") == true)
        #expect(!log.items.joined().contains(Self.secret))
        // An operator's requeue gives it another full set of attempts.
        #expect(try store.requeueDeadWebhookDeliveries(now: clock.now()) == 1)
        #expect(d.runOnce().map(\.attempt) == [1])
    }

    @Test func eachSinkGetsOnlyTheTypesItAsksFor() throws {
        let seen = Recorder<String>()
        let d = try dispatcher([sink("all"), sink("ends", events: ["destroyed", "failed"])]) { attempt in
            seen.add("\(attempt.sink):\(header(attempt, "Sandboxer-Event-Type"))")
            return .status(200)
        }
        try append(["created", "ready", "destroyed"])
        #expect(d.runOnce().count == 4)
        #expect(seen.items.sorted() == ["all:created", "all:destroyed", "all:ready", "ends:destroyed"])
    }

    @Test func stopLetsTheAttemptInFlightFinish() throws {
        let entered = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let d = try dispatcher([sink()]) { _ in
            entered.signal()
            release.wait()
            return .status(200)
        }
        try append(["created"])
        d.start()
        // Handshakes, bounded so a broken dispatcher fails instead of hanging the run.
        try #require(entered.wait(timeout: .now() + 30) == .success, "the worker sent the delivery")
        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread { d.stop(); stopped.signal() }
        release.signal()
        try #require(stopped.wait(timeout: .now() + 30) == .success, "stop returned")
        #expect(try store.webhookDeliveries(state: .delivered).count == 1, "recorded before stop returned")
        // Stopped: a new event is not sent.
        try append(["destroyed"])
        d.wake()
        #expect(try store.claimWebhookDeliveries(sink: "ops", now: clock.now(), lease: 1, limit: 10).isEmpty,
                "not enqueued by a stopped dispatcher")
    }

    @Test func aRealReceiverGetsA500ThenTheRetryAndTheSignatureVerifies() throws {
        let received = Recorder<HTTPRequest>()
        let server = HTTPServer(configuration: {
            var c = HTTPServerConfiguration()
            c.listen = .tcp(host: "127.0.0.1", port: 0)
            return c
        }(), handler: { request in
            received.add(request)
            return HTTPResponse(status: received.count == 1 ? 500 : 200)
        })
        let bound = try server.start()
        defer { server.shutdown(); server.wait() }
        guard case .tcp(_, let port) = bound else { Issue.record("bound \(bound)"); return }

        let d = try dispatcher([sink(url: "http://127.0.0.1:\(port)/hooks/sandboxer?team=infra")], sender: WebhookDispatcher.httpSender())
        try append(["created"])
        #expect(d.runOnce().map(\.result) == [.retry(at: clock.now().addingTimeInterval(1), error: "The receiver answered HTTP 500.")])
        clock.advance(1)
        #expect(d.runOnce().map(\.result) == [.delivered(status: 200)])

        let requests = received.items
        #expect(requests.count == 2)
        for request in requests {
            #expect(request.method == "POST")
            #expect(request.path == "/hooks/sandboxer")
            #expect(request.query["team"] == ["infra"])
            #expect(request.headers["Content-Type"] == "application/json")
            #expect(request.headers["Sandboxer-Event-Id"] == "evt_\(store.storeId)_1")
            #expect(request.headers["Sandboxer-Event-Type"] == "created")
            let timestamp = try #require(request.headers["Sandboxer-Timestamp"])
            let signature = try #require(request.headers["Sandboxer-Signature"])
            #expect(WebhookSignature.verify(header: signature, secret: Array(Self.secret.utf8), timestamp: timestamp,
                                            body: Array(request.body), now: clock.now()))
            #expect(!WebhookSignature.verify(header: signature, secret: Array("wrong".utf8), timestamp: timestamp,
                                             body: Array(request.body), now: clock.now()))
            let body = try JSONSerialization.jsonObject(with: request.body) as? [String: Any]
            #expect(body?["id"] as? String == "evt_\(store.storeId)_1")
            #expect(body?["type"] as? String == "created")
            #expect(body?["seq"] as? Int == 1)
        }
        #expect(requests[0].headers["Sandboxer-Timestamp"] == "1800000000")
        #expect(requests[1].headers["Sandboxer-Timestamp"] == "1800000001", "each attempt is signed afresh")
    }

    @Test func serveFailsFastOnAnUnreadableSecretWithoutShowingIt() throws {
        let sinks = [WebhookSink(name: "a", url: "http://x/", secret: .environment("HOOK_SECRET"))]
        #expect(throws: ConfigError(code: .invalidValue, message: "The secret of webhook sink \"a\" comes from the environment variable HOOK_SECRET, which is not set.")) {
            try WebhookDispatcher.resolveSecrets(sinks, environment: [:])
        }
        #expect(try WebhookDispatcher.resolveSecrets(sinks, environment: ["HOOK_SECRET": "s3"]) == ["a": Array("s3".utf8)])
        #expect(throws: ConfigError(code: .invalidValue, message: "The secret of webhook sink \"a\" (env:HOOK_SECRET) is empty.")) {
            try WebhookDispatcher.resolveSecrets(sinks, environment: ["HOOK_SECRET": ""])
        }
    }
}

func header(_ attempt: WebhookAttempt, _ name: String) -> String {
    attempt.message.headers.first { $0.name == name }?.value ?? ""
}

/// A thread-safe list for what senders, receivers and logs see.
final class Recorder<T: Sendable>: Sendable {
    private let list = Mutex<[T]>([])
    func add(_ item: T) { list.withLock { $0.append(item) } }
    var items: [T] { list.withLock { $0 } }
    var count: Int { list.withLock { $0.count } }
}
