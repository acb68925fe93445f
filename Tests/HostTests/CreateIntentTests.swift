import Foundation
import Testing
@testable import Basics
@testable import PluginProtocol
@testable import Core
@testable import Store
@testable import Lifecycle

/// The create intent is a typed value stored as typed JSON; intents the previous version wrote
/// (every value a string) read the same, and members this version does not know survive a rewrite.
@Suite struct CreateIntentTests {
    /// A create's intent exactly as the previous version wrote it.
    static let oldCreate = #"{"capped":"true","owner_pid":"4242","owner_start":"987654","requested_ttl_seconds":"86400","ttl_seconds":"14400"}"#
    /// A recreate's intent exactly as the previous version wrote it.
    static let oldRecreate = #"{"capped":"false","from_snapshot":"snap-00000000000000cc","owner_pid":"77","owner_start":"5","recreate":"true","requested_ttl_seconds":"3600","ttl_seconds":"3600"}"#

    static let create = CreateIntent(ttlSeconds: 14400, requestedTTLSeconds: 86400, capped: true,
                                     owner: ProcessIdentity(pid: 4242, startTime: 987654))

    @Test func intentsThePreviousVersionWroteDecode() throws {
        #expect(CreateIntent(storedJSON: Self.oldCreate) == Self.create)
        #expect(try JSONDecoder().decode(CreateIntent.self, from: Data(Self.oldCreate.utf8)) == Self.create)
        let recreate = CreateIntent(storedJSON: Self.oldRecreate)
        #expect(recreate == CreateIntent(ttlSeconds: 3600, requestedTTLSeconds: 3600, capped: false,
                                         owner: ProcessIdentity(pid: 77, startTime: 5), recreate: true,
                                         fromSnapshot: "snap-00000000000000cc"))
        #expect(SnapshotIntent(storedJSON: #"{"owner_pid":"1","owner_start":"2"}"#).owner == ProcessIdentity(pid: 1, startTime: 2))
    }

    @Test func intentsAreWrittenAsTypedJSON() throws {
        let text = #"{"capped":true,"owner_pid":4242,"owner_start":987654,"requested_ttl_seconds":86400,"ttl_seconds":14400}"#
        #expect(Self.create.storedJSON == text)
        #expect(CreateIntent(storedJSON: Self.oldCreate).storedJSON == text, "an old row rewritten is typed")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(String(decoding: try encoder.encode(Self.create), as: UTF8.self) == text)
        #expect(CreateIntent(storedJSON: text) == Self.create)
        // recreate and from_snapshot appear only when set.
        var recreate = Self.create
        recreate.recreate = true
        recreate.fromSnapshot = "snap-00000000000000cc"
        #expect(recreate.storedJSON == #"{"capped":true,"from_snapshot":"snap-00000000000000cc","owner_pid":4242,"owner_start":987654,"recreate":true,"requested_ttl_seconds":86400,"ttl_seconds":14400}"#)
        #expect(SnapshotIntent(owner: ProcessIdentity(pid: 1, startTime: 2)).storedJSON == #"{"owner_pid":1,"owner_start":2}"#)
    }

    @Test func membersThisVersionCannotReadSurviveARewrite() {
        let text = #"{"capped":false,"owner_pid":"not a pid","priority":{"level":3}}"#
        let intent = CreateIntent(storedJSON: text)
        #expect(intent.owner == nil && !intent.capped)
        #expect(intent.storedJSON == text)
        #expect(CreateIntent(storedJSON: "[]") == CreateIntent())
        #expect(SnapshotIntent(storedJSON: #"{"owner_pid":3,"owner_start":4,"tool":"x"}"#).storedJSON == #"{"owner_pid":3,"owner_start":4,"tool":"x"}"#)
    }

    @Test func aReplayedCreateReadsAnOldRowsIntent() throws {
        let f = try ServiceFixture()
        let first = try f.service.create(CreateOptions(profile: "default", ttl: "30m", idempotencyKey: "k-1"))
        #expect(!first.capped && first.requestedTTLSeconds == 1800)
        // The row as the previous version would have written it: asked for 1d, capped.
        try f.service.store.connection.run("UPDATE sandboxes SET request = ? WHERE id = ?",
                                           [.text(Self.oldCreate), .text(first.sandbox.id)], doing: "Writing an old intent")
        let replay = try f.service.create(CreateOptions(profile: "default", ttl: "30m", idempotencyKey: "k-1"))
        #expect(replay.replayed && replay.capped && replay.requestedTTLSeconds == 86400)
        let explained = try f.service.explain(first.sandbox.id)
        #expect(explained.ttl.requestedSeconds == 86400 && explained.ttl.cappedAtCreate)
    }
}
