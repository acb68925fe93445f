import Foundation
import Testing
@testable import Core
@testable import Store

/// A command whose only writes are its start and end on a sandbox (`exec`) closes the store without
/// syncing the log; any other write still makes the close sync it (SQLiteConnection's deinit).
@Suite struct StoreActivitySyncTests {
    @Test func activityWritesAloneNeedNoSyncAtClose() throws {
        let dir = try StoreDirectory()
        do {
            let store = try dir.open()
            try store.insert(makeSandbox("sbx-0000000000000001"), event: SandboxEvent(sandboxId: "sbx-0000000000000001", type: .created, at: at(0)))
            #expect(store.connection.needsSyncAtClose)
        }
        let store = try dir.open()
        #expect(!store.connection.needsSyncAtClose)
        var s = try #require(try store.get(id: "sbx-0000000000000001"))
        s.state = .active
        s.lastActivity = "exec"
        s.updatedAt = at(10)
        #expect(try store.updateActivity(s, expecting: SandboxState.live))
        s.state = .ready
        s.updatedAt = at(11)
        #expect(try store.updateActivity(s, expecting: [.active]))
        #expect(!store.connection.needsSyncAtClose, "an exec's two activity writes would sync the log at close")
        // A write that is not activity: the close syncs again.
        s.labels = ["team": "a"]
        #expect(try store.update(s, expecting: [.ready], events: []))
        #expect(store.connection.needsSyncAtClose)
    }
}
