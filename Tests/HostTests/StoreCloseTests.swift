import Foundation
import Testing
@testable import Store
@testable import Core

/// Closing a store leaves its write-ahead log in place (no checkpoint, no fsync of the database, no
/// unlink of -wal/-shm on every short CLI command), and nothing committed is lost by that.
@Suite struct StoreCloseTests {
    let dir: StoreDirectory
    init() throws { dir = try StoreDirectory() }

    @Test func closingKeepsTheLogAndTheNextOpenSeesEveryCommit() throws {
        do {
            let store = try dir.open()
            try store.insert(makeSandbox("sbx-a"), event: createdEvent("sbx-a", at: 1))
        }   // the last (and only) connection closes here
        #expect(FileManager.default.fileExists(atPath: dir.dbPath + "-wal"), "the log was checkpointed away on close")
        let log = try FileManager.default.attributesOfItem(atPath: dir.dbPath + "-wal")[.size] as? Int ?? 0
        #expect(log > 0, "the commit is not in the log")
        do {
            let store = try dir.open()
            #expect(try store.get(id: "sbx-a")?.id == "sbx-a")
            try store.insert(makeSandbox("sbx-b"), event: createdEvent("sbx-b", at: 2))
        }
        let reopened = try dir.open()
        #expect(try reopened.list(SandboxFilter()).map(\.id) == ["sbx-a", "sbx-b"])
        #expect(try reopened.events(sandboxId: nil, since: nil, limit: nil).count == 2)
    }
}
