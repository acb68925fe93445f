import Foundation
import Testing
@testable import Core
@testable import Store

/// The log is checkpointed on a thread of its own when a command is about to wait on its backend
/// (`checkpointAside`), and inline only at the backstop; both leave every row in place.
@Suite("SandboxStore log checkpoints aside")
struct StoreCheckpointAsideTests {
    let directory: StoreDirectory
    let store: SandboxStore

    init() throws {
        directory = try StoreDirectory()
        store = try directory.open()
        try store.locked { () throws(StoreError) in try store.findWALIndex() }
    }

    /// The log's frames by the WAL index (what every connection's commits and checkpoints update).
    var logFrames: Int { store.connection.logFrames()?.total ?? -1 }

    /// Inserts sandboxes until the log holds at least `frames` frames; returns their ids.
    func grow(to frames: Int, prefix: String) throws -> [String] {
        var ids: [String] = []
        while logFrames < frames && ids.count < 5_000 {
            let id = "sbx-\(prefix)\(String(format: "%012x", ids.count))"
            try store.insert(makeSandbox(id, labels: ["n": "\(ids.count)"]), event: createdEvent(id))
            ids.append(id)
        }
        return ids
    }

    func insertOne(_ id: String) throws {
        try store.insert(makeSandbox(id), event: createdEvent(id))
    }

    @Test func aLongLogIsCheckpointedAsideAndTheNextCommitStartsItOver() throws {
        let ids = try grow(to: SandboxStore.asideCheckpointFrames, prefix: "a1")
        let before = logFrames
        #expect(before < SandboxStore.backstopCheckpointFrames)
        store.checkpointAside()
        store.waitForCheckpoint()
        // The WAL index says every frame is in the database file now.
        #expect(store.connection.walIndex != nil)
        #expect(store.connection.logFrames()?.uncheckpointed == 0)
        // Everything was copied into the database file: the next writer starts the log over.
        try insertOne("sbx-a2ffffffffffff")
        #expect(logFrames < before / 2, "the log held \(logFrames) frames after the checkpoint, \(before) before")
        for id in ids + ["sbx-a2ffffffffffff"] { #expect(try store.get(id: id) != nil) }
        // And from a fresh connection, which reads the database file and what is left of the log.
        let fresh = try directory.open()
        #expect(try fresh.list(SandboxFilter()).count == ids.count + 1)
    }

    @Test func aShortLogIsLeftAlone() throws {
        try insertOne("sbx-b10000000000001")
        let before = logFrames
        #expect(before > 0 && before < SandboxStore.asideCheckpointFrames)
        store.checkpointAside()
        store.waitForCheckpoint()
        try insertOne("sbx-b10000000000002")
        #expect(logFrames > before, "no checkpoint: the log only grows")
    }

    @Test func theBackstopCheckpointsInline() throws {
        // No aside checkpoint at all: the commit that brings the log to the backstop checkpoints it,
        // and the log starts over right after.
        var peak = 0
        var index = 0
        while index < 2_000 {
            let id = "sbx-c1\(String(format: "%012x", index))"
            try insertOne(id)
            index += 1
            if logFrames < peak { break }
            peak = logFrames
        }
        #expect(peak >= SandboxStore.backstopCheckpointFrames - 40 && index < 2_000,
                "the log reached \(peak) frames without an inline checkpoint")
        #expect(try store.list(SandboxFilter()).count == index)
    }

    @Test func writesDuringTheCheckpointAreKept() throws {
        let ids = try grow(to: SandboxStore.asideCheckpointFrames, prefix: "d1")
        store.checkpointAside()
        var more: [String] = []
        for index in 0..<30 {
            let id = "sbx-d2\(String(format: "%012x", index))"
            try insertOne(id)
            more.append(id)
        }
        store.waitForCheckpoint()
        let fresh = try directory.open()
        #expect(Set(try fresh.list(SandboxFilter()).map(\.id)) == Set(ids + more))
        let check = try fresh.connection.rows("PRAGMA integrity_check", [], doing: "test") { $0.text(0) }
        #expect(check == ["ok"])
    }
}
