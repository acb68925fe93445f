import Foundation
import Testing
@testable import Basics
@testable import PluginProtocol
@testable import Core
@testable import Store
@testable import Lifecycle
@testable import Webhooks

/// Event data is typed JSON: booleans and numbers are JSON booleans and numbers, in the store, in
/// `events`, on `GET /v1/events` and in webhook bodies; rows written while every value was a string
/// still read, as the typed values.
@Suite struct EventDataTests {
    /// The stored `data` text of each of the sandbox's events, by type.
    static func storedData(_ store: SandboxStore, _ id: String) throws -> [String: String] {
        let rows = try store.connection.rows("SELECT type, data FROM events WHERE sandbox_id = ? ORDER BY seq", [.text(id)],
                                             doing: "Reading raw events") { ($0.text(0), $0.text(1)) }
        return Dictionary(rows, uniquingKeysWith: { _, last in last })
    }

    @Test func booleansAndNumbersAreWrittenAsJSONBooleansAndNumbers() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "default")).sandbox
        _ = try f.service.exec(s.id, argv: ["write", "work"])
        _ = try f.service.extendTTL(s.id, duration: "1h", by: "test")
        let snap = try f.service.snapshot(s.id)
        let size = try #require(snap.sizeBytes)

        let stored = try Self.storedData(f.service.store, s.id)
        #expect(stored["ttl_extended"]?.contains(#""capped":false"#) == true, "\(stored)")
        #expect(stored["snapshot_created"]?.contains(#""size_bytes":\#(size),"#) == true, "\(stored)")

        let events = try f.service.events(sandboxId: s.id, since: nil, limit: nil)
        let extended = try #require(events.first { $0.kind == .ttlExtended })
        #expect(extended.jsonValue["data"]?["capped"] == .bool(false))
        #expect(extended.data.bool("capped") == false)
        let created = try #require(events.first { $0.kind == .snapshotCreated })
        #expect(created.jsonValue["data"]?["size_bytes"] == .number(Double(size)))
        #expect(created.data.integer("size_bytes") == size)
        // Webhook bodies are the event as the API prints it.
        let body = String(decoding: WebhookMessage.body(for: created, storeId: "ab"), as: UTF8.self)
        #expect(body.contains(#""size_bytes":\#(size),"#), "\(body)")
    }

    @Test func rowsWrittenWhileEveryValueWasAStringReadTyped() throws {
        let dir = try StoreDirectory()
        let store = try dir.open()
        #expect(try store.registerWebhookSink("s") == 0)
        // Exactly as the previous version stored them.
        let rows = [
            ("ttl_extended", #"{"by":"cli:root","capped":"true","from":"2026-11-23T13:00:00Z","to":"2026-11-23T15:00:00Z"}"#),
            ("snapshot_created", #"{"size_bytes":"523","snapshot_id":"snap-00000000000000aa","trigger":"manual"}"#),
            ("ttl_extended", #"{"by":"x","capped":"perhaps"}"#),
            ("hibernated", #"{"capped":"true"}"#),
            ("destroyed", #"{"reason":"ttl"}"#),
        ]
        for (type, data) in rows {
            try store.connection.run("INSERT INTO events (sandbox_id, type, at, data) VALUES ('sbx-a', ?, 0, ?)",
                                     [.text(type), .text(data)], doing: "Writing an old event")
        }
        let events = try store.events(sandboxId: nil, since: nil, limit: nil)
        try #require(events.count == rows.count)
        #expect(events[0].data.bool("capped") == true)
        #expect(events[0].jsonValue.rendered(pretty: false) == #"""
            {"at":"1970-01-01T00:00:00Z","data":{"by":"cli:root","capped":true,"from":"2026-11-23T13:00:00Z","to":"2026-11-23T15:00:00Z"},"sandbox_id":"sbx-a","seq":1,"type":"ttl_extended"}

            """#)
        #expect(events[1].data.integer("size_bytes") == 523)
        #expect(events[1].data.jsonText == #"{"size_bytes":523,"snapshot_id":"snap-00000000000000aa","trigger":"manual"}"#)
        // A value that was never a boolean stays what it was; so does every member of a type this version does not know.
        #expect(events[2].data["capped"] == .string("perhaps"))
        #expect(events[3].kind == nil && events[3].data["capped"] == .string("true"))
        #expect(events[4].data == ["reason": "ttl"])
        // Webhook deliveries read events through the same decoder.
        _ = try store.enqueueWebhookDeliveries(sink: "s", now: Date(timeIntervalSince1970: 0)) { _ in true }
        let claimed = try store.claimWebhookDeliveries(sink: "s", now: Date(timeIntervalSince1970: 0), lease: 60, limit: 10)
        #expect(claimed.first { $0.event.seq == 2 }?.event.data.integer("size_bytes") == 523)
    }

    @Test func theStoredTextIsCompactSortedAndTyped() {
        let data: EventData = ["to": "2026-11-23T15:00:00Z", "capped": true, "size_bytes": 523, "name": nil]
        #expect(data.jsonText == #"{"capped":true,"name":null,"size_bytes":523,"to":"2026-11-23T15:00:00Z"}"#)
        #expect(EventData(storedJSON: data.jsonText, type: "ttl_extended") == data)
        #expect(EventData().jsonText == "{}")
        // The store admits only valid JSON; anything but an object reads as no data.
        #expect(EventData(storedJSON: "[1]", type: "ready") == [:])
        #expect(EventData(storedJSON: "\"x\"", type: "ready") == [:])
    }

    @Test func theStateMachineWritesTypedValues() throws {
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let s = Sandbox(id: "sbx-00000000000000aa", profile: "p", backend: "b", state: .ready, ttlSeconds: 3600,
                        maxTTLSeconds: 7200, idleReapSeconds: nil, createdAt: t0, readyAt: t0, updatedAt: t0,
                        expiresAt: t0.addingTimeInterval(3600), labels: [:], backendRef: "r", reason: nil,
                        idempotencyKey: nil, request: CreateIntent(), hostId: "h")
        var machine = SandboxMachine(s)
        _ = try machine.extend(bySeconds: 7200, by: "test", at: t0)
        #expect(machine.events.last?.kind == .ttlExtended)
        #expect(machine.events.last?.data.jsonText
                == #"{"by":"test","capped":true,"from":"2027-01-15T09:00:00Z","to":"2027-01-15T10:00:00Z"}"#)
    }
}
