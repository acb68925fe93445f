import Foundation
import Testing
@testable import Basics
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Store
@testable import Lifecycle

/// The `retention:` rules: delivered webhook rows and old events are pruned; events a sink has not
/// passed, events a delivery still names, and events younger than the retention are kept.
@Suite struct OutboxRetentionTests {
    let dir: StoreDirectory
    let store: SandboxStore
    let clock = ManualClock(storeBaseTime)

    init() throws {
        dir = try StoreDirectory()
        store = try dir.open()
    }

    @discardableResult
    func append(_ types: [String]) throws -> [Int64] {
        let before = try store.events(sandboxId: nil, since: nil, limit: nil).last?.seq ?? 0
        try store.append(events: types.map { SandboxEvent(seq: 0, sandboxId: "sbx-00000000000000aa", storedType: $0, at: clock.now(), data: [:]) })
        return try store.events(sandboxId: nil, since: before, limit: nil).map(\.seq)
    }

    func seqs() throws -> [Int64] { try store.events(sandboxId: nil, since: nil, limit: nil).map(\.seq) }

    func prune(_ apply: Bool, sinks: [String] = ["ops"], age: TimeInterval = 3600) throws -> OutboxPruneCounts {
        let cutoff = clock.now().addingTimeInterval(-age)
        return try store.pruneOutbox(eventsBefore: cutoff, deliveriesBefore: cutoff, sinks: sinks, apply: apply)
    }

    @Test func deliveredRowsAndPassedEventsGoPendingOnesStay() throws {
        try store.registerWebhookSink("ops")
        let old = try append(["created", "ready", "destroyed"])
        try store.enqueueWebhookDeliveries(sink: "ops", now: clock.now()) { $0 != "ready" }
        // created delivered; destroyed still pending; ready never enqueued for this sink.
        #expect(try store.markWebhookDelivered(sink: "ops", seq: old[0], status: 200, now: clock.now()))
        clock.advance(7200)
        let young = try append(["created"])  // after the cursor: not yet enqueued, and young

        // The plan counts without deleting: the delivered row, and created + ready (destroyed is still named).
        #expect(try prune(false) == OutboxPruneCounts(events: 2, webhookDeliveries: 1))
        #expect(try seqs() == old + young)
        #expect(try prune(true) == OutboxPruneCounts(events: 2, webhookDeliveries: 1))
        #expect(try seqs() == [old[2]] + young, "the pending delivery's event and the young event stay")
        #expect(try store.webhookDeliveries(state: .pending).map(\.event.seq) == [old[2]])
        #expect(try prune(true) == OutboxPruneCounts(events: 0, webhookDeliveries: 0))
    }

    @Test func eventsASinkHasNotPassedAreKept() throws {
        try store.registerWebhookSink("ops")
        try store.registerWebhookSink("slow")
        let events = try append(["created", "ready"])
        try store.enqueueWebhookDeliveries(sink: "ops", now: clock.now()) { _ in false }  // ops passes both, enqueues none
        clock.advance(7200)
        // slow's cursor is still before both: nothing may go while slow is configured...
        #expect(try prune(true, sinks: ["ops", "slow"]).events == 0)
        #expect(try seqs() == events)
        // ...and its cursor holds nothing back once it is removed from the config.
        #expect(try prune(true, sinks: ["ops"]).events == 2)
        #expect(try seqs().isEmpty)
    }

    @Test func youngEventsAreKeptWithoutSinks() throws {
        let events = try append(["created"])
        clock.advance(1800)
        #expect(try prune(true, sinks: []).events == 0, "younger than the retention")
        clock.advance(1801)
        #expect(try prune(true, sinks: []).events == 1)
        #expect(try seqs().allSatisfy { !events.contains($0) })
    }

    @Test func configReadsRetentionWithDefaults() throws {
        let base = "backends:\n  b:\n    plugin: /b.so\nprofiles:\n  p:\n    backend: b\n"
        func parse(_ text: String) throws(ConfigError) -> Config {
            try ConfigLoader.parse(base + text, file: "config.yaml", environment: ["HOME": "/h"], baseDirectory: "/etc/sandboxer")
        }
        let defaults = try parse("")
        #expect(defaults.retention.events.seconds == 30 * 86_400)
        #expect(defaults.retention.webhookDeliveries.seconds == 7 * 86_400)
        let set = try parse("retention: {events: 2d, webhook_deliveries: 12h}\n")
        #expect(set.retention.events.seconds == 2 * 86_400)
        #expect(set.retention.webhookDeliveries.seconds == 12 * 3600)
        #expect(throws: ConfigError.self) { try parse("retention: {event: 2d}\n") }
        #expect(throws: ConfigError.self) { try parse("retention: {events: forever}\n") }
    }

    @Test func serveSweepPrunesByTheConfiguredRetention() throws {
        let f = try ServiceFixture()
        _ = try f.service.create(CreateOptions(profile: "default"))
        let count = try f.service.store.events(sandboxId: nil, since: nil, limit: nil).count
        #expect(count > 0)
        let loop = SweepLoop(service: f.service, interval: try TTLDuration.parse("1m"), stop: StopSignal()) { _ in }
        loop.sweepOnce()
        #expect(try f.service.store.events(sandboxId: nil, since: nil, limit: nil).count == count)
        #expect(try f.service.pruneOutbox(apply: false).counts.events == 0)
        f.clock.advance(Double(f.service.config.retention.events.seconds) + 1)
        #expect(try f.service.pruneOutbox(apply: false).counts.events == count)
        let lastOld = try #require(try f.service.store.events(sandboxId: nil, since: nil, limit: nil).last?.seq)
        loop.sweepOnce()
        // Every old event is gone; what the sweep appended this round (the expiry) is young and stays.
        let left = try f.service.store.events(sandboxId: nil, since: nil, limit: nil)
        #expect(left.allSatisfy { $0.seq > lastOld })
        #expect(!left.isEmpty)
        #expect(try f.service.pruneOutbox(apply: false).counts.events == 0)
    }
}
