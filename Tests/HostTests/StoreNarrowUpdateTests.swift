import Foundation
import Testing
@testable import Core
@testable import Store

/// An update given the row it started from writes only the columns that changed (and the labels
/// only when they changed): fewer log frames per command, and a column another writer changed
/// meanwhile is not set back to the caller's stale copy.
@Suite("SandboxStore narrow updates")
struct StoreNarrowUpdateTests {
    let directory: StoreDirectory
    let store: SandboxStore

    init() throws {
        directory = try StoreDirectory()
        store = try directory.open()
    }

    /// Log frames `body` wrote: the log is checkpointed and truncated first, so its size after is
    /// exactly the frames of `body`'s transactions.
    func frames(_ body: () throws -> Void) throws -> Int {
        _ = try store.connection.rows("PRAGMA wal_checkpoint(TRUNCATE)", [], doing: "test") { $0.int64(Int32(0)) }
        try body()
        let size = try FileManager.default.attributesOfItem(atPath: directory.dbPath + "-wal")[.size] as? Int ?? 0
        return size <= 32 ? 0 : (size - 32) / (4096 + 24)
    }

    func provisioning(_ id: String) -> Sandbox {
        var sandbox = makeSandbox(id, state: .provisioning, expires: nil,
                                  labels: ["team": "a", "sandboxer.owner": "alice"], idempotencyKey: "key-\(id)")
        sandbox.readyAt = nil
        return sandbox
    }

    func madeReady(_ sandbox: Sandbox) -> Sandbox {
        var ready = sandbox
        ready.state = .ready
        ready.readyAt = at(2)
        ready.updatedAt = at(2)
        ready.expiresAt = at(3602)
        ready.backendRef = "ref-ready"
        return ready
    }

    @Test func onlyChangedColumnsAreWrittenAndFewerPages() throws {
        let narrow = provisioning("sbx-00000000000000a1")
        let full = provisioning("sbx-00000000000000a2")
        try store.insert(narrow, event: createdEvent(narrow.id))
        try store.insert(full, event: createdEvent(full.id))

        var written: [Bool] = []
        let narrowFrames = try frames { () throws in
            written.append(try store.update(madeReady(narrow), expecting: [.provisioning], events: [], from: narrow))
        }
        let fullFrames = try frames { () throws in
            written.append(try store.update(madeReady(full), expecting: [.provisioning], events: []))
        }
        #expect(written == [true, true])

        #expect(try store.get(id: narrow.id) == madeReady(narrow))
        #expect(try store.get(id: full.id) == madeReady(full))
        // The full write rewrites the labels and the pages of every index; the narrow one does not.
        #expect(narrowFrames > 0)
        #expect(narrowFrames < fullFrames, "narrow \(narrowFrames) frames, full \(fullFrames)")
        // Labels are still found through their table after the narrow write left them alone.
        var filter = SandboxFilter()
        filter.labels = ["team": "a"]
        #expect(Set(try store.list(filter).map(\.id)) == [narrow.id, full.id])
    }

    @Test func aColumnChangedMeanwhileIsKept() throws {
        let read = provisioning("sbx-00000000000000b1")
        try store.insert(read, event: createdEvent(read.id))
        // Another process records activity after this caller read the row.
        try directory.open().connection.run("UPDATE sandboxes SET last_activity = 'exec' WHERE id = ?",
                                            [.text(read.id)], doing: "test")
        #expect(try store.update(madeReady(read), expecting: [.provisioning], events: [], from: read))
        let stored = try #require(try store.get(id: read.id))
        #expect(stored.lastActivity == "exec")
        #expect(stored.state == .ready)
        #expect(stored.backendRef == "ref-ready")

        // Without the row it started from, the caller's whole copy is written, as before.
        var again = stored
        again.lastActivity = nil
        #expect(try store.update(again, expecting: [.ready], events: []))
        #expect(try store.get(id: read.id)?.lastActivity == nil)
    }

    @Test func changedLabelsAreRewritten() throws {
        let read = provisioning("sbx-00000000000000c1")
        try store.insert(read, event: createdEvent(read.id))
        var relabelled = madeReady(read)
        relabelled.labels = ["team": "b", "sandboxer.owner": "bob"]
        #expect(try store.update(relabelled, expecting: [.provisioning], events: [], from: read))
        #expect(try store.get(id: read.id) == relabelled)
        var filter = SandboxFilter()
        filter.labels = ["team": "a"]
        #expect(try store.list(filter).isEmpty)
        filter.labels = ["team": "b"]
        #expect(try store.list(filter).map(\.id) == [read.id])
        filter.labels = [:]
        filter.owner = "bob"
        #expect(try store.list(filter).map(\.id) == [read.id])
    }

    @Test func anUpdateThatChangesNothingStillChecksTheStateAndAppendsItsEvents() throws {
        let read = provisioning("sbx-00000000000000d1")
        try store.insert(read, event: createdEvent(read.id))
        let event = SandboxEvent(sandboxId: read.id, type: .ttlExtended, at: at(5), data: ["by": "test"])
        #expect(try store.update(read, expecting: [.provisioning], events: [event], from: read))
        #expect(try store.events(sandboxId: read.id, since: nil, limit: nil).map(\.type) == ["created", "ttl_extended"])
        #expect(try store.update(read, expecting: [.ready], events: [event], from: read) == false)
        #expect(try store.events(sandboxId: read.id, since: nil, limit: nil).count == 2)
        #expect(try store.get(id: read.id) == read)
    }

    @Test func assignedColumnsPicksTheDifferences() {
        let columns = "id, a, state, b"
        let values: [SQLValue] = [.text("x"), .integer(1), .text("ready"), .null]
        #expect(SandboxStore.assignedColumns(columns, values: values, unchangedFrom: nil).names == ["a", "state", "b"])
        let same = SandboxStore.assignedColumns(columns, values: values, unchangedFrom: values)
        #expect(same.names == ["state"])
        #expect(same.values == [.text("ready")])
        let changed = SandboxStore.assignedColumns(columns, values: values,
                                                   unchangedFrom: [.text("x"), .integer(2), .text("ready"), .text("old")])
        #expect(changed.names == ["a", "b"])
        #expect(changed.values == [.integer(1), .null])
        // A base of another shape is ignored: every column is written.
        #expect(SandboxStore.assignedColumns(columns, values: values, unchangedFrom: [.text("x")]).names.count == 3)
    }
}
