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

/// The delivery state in the store: cursors, enqueue filters, leased claims, fencing, dead letters,
/// and two connections (as two processes) sharing one file.
@Suite struct WebhookStoreTests {
    let dir: StoreDirectory
    let store: SandboxStore
    let clock = ManualClock(storeBaseTime)

    init() throws {
        dir = try StoreDirectory()
        store = try dir.open()
    }

    /// Appends events of these types for one sandbox; returns their seqs.
    @discardableResult
    func append(_ types: [String], sandbox: String = "sbx-00000000000000aa") throws -> [Int64] {
        let before = try store.events(sandboxId: nil, since: nil, limit: nil).last?.seq ?? 0
        try store.append(events: types.map { SandboxEvent(seq: 0, sandboxId: sandbox, storedType: $0, at: clock.now(), data: [:]) })
        return try store.events(sandboxId: nil, since: before, limit: nil).map(\.seq)
    }

    @Test func aNewSinkStartsAtTheEndOfTheOutbox() throws {
        try append(["created", "ready"])
        #expect(try store.webhookCursor("ops") == nil)
        #expect(try store.registerWebhookSink("ops") == 2)
        #expect(try store.registerWebhookSink("ops") == 2, "registering again keeps the cursor")
        #expect(try store.enqueueWebhookDeliveries(sink: "ops", now: clock.now()) { _ in true } == (0, 0))
        let later = try append(["destroyed"])
        let result = try store.enqueueWebhookDeliveries(sink: "ops", now: clock.now()) { _ in true }
        #expect(result == (1, 1))
        #expect(try store.webhookCursor("ops") == later[0])
        // Enqueueing without registering first also starts at the end (the history is not sent).
        #expect(try store.enqueueWebhookDeliveries(sink: "late", now: clock.now()) { _ in true } == (0, 0))
    }

    @Test func enqueueFiltersByTypeAndMovesTheCursorPastEverythingRead() throws {
        try store.registerWebhookSink("ops")
        let seqs = try append(["created", "ready", "ttl_extended", "destroyed"])
        let result = try store.enqueueWebhookDeliveries(sink: "ops", now: clock.now(), limit: 3) { ["created", "destroyed", "ttl_extended"].contains($0) }
        #expect(result == (3, 2), "one batch of three: created and ttl_extended match, ready does not")
        #expect(try store.webhookCursor("ops") == seqs[2])
        #expect(try store.enqueueWebhookDeliveries(sink: "ops", now: clock.now(), limit: 3) { $0 != "ready" } == (1, 1))
        #expect(try store.enqueueWebhookDeliveries(sink: "ops", now: clock.now(), limit: 3) { _ in true } == (0, 0))
        let claimed = try store.claimWebhookDeliveries(sink: "ops", now: clock.now(), lease: 15, limit: 10)
        #expect(claimed.map(\.event.seq) == [seqs[0], seqs[2], seqs[3]])
        #expect(claimed.map(\.event.type) == ["created", "ttl_extended", "destroyed"])
    }

    @Test func sinksHaveIndependentCursorsAndDeliveries() throws {
        try store.registerWebhookSink("a")
        try append(["created"])
        try store.registerWebhookSink("b")   // after the first event: b never sees it
        let second = try append(["destroyed"])
        try store.enqueueWebhookDeliveries(sink: "a", now: clock.now()) { _ in true }
        try store.enqueueWebhookDeliveries(sink: "b", now: clock.now()) { _ in true }
        #expect(try store.claimWebhookDeliveries(sink: "a", now: clock.now(), lease: 15, limit: 10).count == 2)
        #expect(try store.claimWebhookDeliveries(sink: "b", now: clock.now(), lease: 15, limit: 10).map(\.event.seq) == second)
    }

    @Test func aClaimLeasesUntilTheLeaseRunsOut() throws {
        try store.registerWebhookSink("ops")
        let seqs = try append(["created"])
        try store.enqueueWebhookDeliveries(sink: "ops", now: clock.now()) { _ in true }
        let first = try store.claimWebhookDeliveries(sink: "ops", now: clock.now(), lease: 15, limit: 10)
        #expect(first.count == 1)
        #expect(first.first?.attempts == 1)
        #expect(first.first?.nextAttemptAt == clock.now().addingTimeInterval(15))
        // Leased: invisible to every claimer until the lease runs out (as after a crash mid-attempt).
        #expect(try store.claimWebhookDeliveries(sink: "ops", now: clock.now(), lease: 15, limit: 10).isEmpty)
        clock.advance(14.999)
        #expect(try store.claimWebhookDeliveries(sink: "ops", now: clock.now(), lease: 15, limit: 10).isEmpty)
        clock.advance(0.001)
        let again = try store.claimWebhookDeliveries(sink: "ops", now: clock.now(), lease: 15, limit: 10)
        #expect(again.map(\.event.seq) == seqs)
        #expect(again.first?.attempts == 2)
        // The first claimer's late failure is fenced out; its late success is still the truth.
        #expect(try store.markWebhookFailed(sink: "ops", seq: seqs[0], attempt: 1, status: 500, error: "late", retryAt: clock.now(),
                                            maxAttempts: 10, now: clock.now()) == nil)
        #expect(try store.markWebhookDelivered(sink: "ops", seq: seqs[0], status: 200, now: clock.now()))
        #expect(try !store.markWebhookDelivered(sink: "ops", seq: seqs[0], status: 200, now: clock.now()))
        #expect(try store.webhookDeliveries(state: .delivered).map(\.lastStatus) == [200])
        clock.advance(3600)
        #expect(try store.claimWebhookDeliveries(sink: "ops", now: clock.now(), lease: 15, limit: 10).isEmpty, "delivered stays delivered")
    }

    @Test func failuresRetryAtTheGivenTimeThenDieAfterMaxAttempts() throws {
        try store.registerWebhookSink("ops")
        let seq = try append(["created"])[0]
        try store.enqueueWebhookDeliveries(sink: "ops", now: clock.now()) { _ in true }
        for attempt in 1...3 {
            let claimed = try store.claimWebhookDeliveries(sink: "ops", now: clock.now(), lease: 15, limit: 10)
            #expect(claimed.map(\.attempts) == [attempt])
            let state = try store.markWebhookFailed(sink: "ops", seq: seq, attempt: attempt, status: 503,
                                                    error: "The receiver answered HTTP 503.", retryAt: clock.now().addingTimeInterval(60),
                                                    maxAttempts: 3, now: clock.now())
            #expect(state == (attempt < 3 ? .pending : .dead))
            if attempt < 3 {
                clock.advance(59)
                #expect(try store.claimWebhookDeliveries(sink: "ops", now: clock.now(), lease: 15, limit: 10).isEmpty)
                clock.advance(1)
            }
        }
        clock.advance(86_400)
        #expect(try store.claimWebhookDeliveries(sink: "ops", now: clock.now(), lease: 15, limit: 10).isEmpty, "dead is not retried")
        let dead = try store.webhookDeliveries(state: .dead)
        #expect(dead.count == 1)
        #expect(dead.first?.attempts == 3)
        #expect(dead.first?.lastStatus == 503)
        #expect(dead.first?.lastError == "The receiver answered HTTP 503.")
        #expect(dead.first?.event.type == "created")
        #expect(try store.webhookDeliveries(state: .dead, sink: "other").isEmpty)

        // Requeue: due now, with a fresh attempt budget.
        #expect(try store.requeueDeadWebhookDeliveries(sink: "other", now: clock.now()) == 0)
        #expect(try store.requeueDeadWebhookDeliveries(now: clock.now()) == 1)
        #expect(try store.webhookDeliveries(state: .dead).isEmpty)
        let retried = try store.claimWebhookDeliveries(sink: "ops", now: clock.now(), lease: 15, limit: 10)
        #expect(retried.map(\.attempts) == [1])
        #expect(retried.first?.lastError == "The receiver answered HTTP 503.", "the last error stays for reference")
    }

    @Test func claimsTakeTheOldestDueFirstWithinTheLimit() throws {
        try store.registerWebhookSink("ops")
        let seqs = try append(["created", "ready", "destroyed"])
        try store.enqueueWebhookDeliveries(sink: "ops", now: clock.now()) { _ in true }
        let first = try store.claimWebhookDeliveries(sink: "ops", now: clock.now(), lease: 15, limit: 1)
        #expect(first.map(\.event.seq) == [seqs[0]])
        try store.markWebhookFailed(sink: "ops", seq: seqs[0], attempt: 1, status: nil, error: "refused",
                                    retryAt: clock.now(), maxAttempts: 5, now: clock.now())
        // Due at the same instant as the others, so seq order decides.
        #expect(try store.claimWebhookDeliveries(sink: "ops", now: clock.now(), lease: 15, limit: 5).map(\.event.seq) == seqs)
        #expect(try store.webhookDeliveryCounts().map { "\($0.sink) \($0.state.rawValue) \($0.count)" } == ["ops pending 3"])
    }

    /// Two connections to one file stand for two processes: each claim is exclusive.
    @Test func twoProcessesNeverClaimTheSameDelivery() throws {
        let other = try dir.open()
        try store.registerWebhookSink("ops")
        let seqs = try append(Array(repeating: "created", count: 20))
        try other.enqueueWebhookDeliveries(sink: "ops", now: clock.now()) { _ in true }
        try store.enqueueWebhookDeliveries(sink: "ops", now: clock.now()) { _ in true }   // nothing new: no duplicates
        let now = clock.now()
        let claims = [store, other]
        let results = ClaimResults()
        DispatchQueue.concurrentPerform(iterations: 20) { i in
            let s = claims[i % 2]
            let got = (try? s.claimWebhookDeliveries(sink: "ops", now: now, lease: 15, limit: 1)) ?? []
            results.add(got.map(\.event.seq))
        }
        let all = results.seqs
        #expect(all.count == 20)
        #expect(Set(all) == Set(seqs), "each delivery claimed exactly once")
    }
}

/// Collects claimed seqs from concurrent claimers.
final class ClaimResults: Sendable {
    private let collected = Mutex<[Int64]>([])
    func add(_ seqs: [Int64]) { collected.withLock { $0 += seqs } }
    var seqs: [Int64] { collected.withLock { $0 } }
}
