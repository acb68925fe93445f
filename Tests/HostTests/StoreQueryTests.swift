import Foundation
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

@Suite("SandboxStore list and due queries")
struct StoreQueryTests {
    let directory: StoreDirectory
    let store: SandboxStore

    init() throws {
        directory = try StoreDirectory()
        store = try directory.open()
    }

    private func ids(_ filter: SandboxFilter) throws -> [String] { try store.list(filter).map(\.id) }

    @Test func listFiltersEachAndCombined() throws {
        // Inserted out of creation order: list sorts by created_at, then id.
        let rows: [Sandbox] = [
            makeSandbox("sbx-3", state: .active, profile: "py", backend: "e2b", created: 3,
                        labels: ["sandboxer.host": "h1", "team": "red"]),
            makeSandbox("sbx-1", state: .ready, profile: "py", backend: "localvm", created: 1,
                        labels: ["sandboxer.host": "h1"]),
            makeSandbox("sbx-2", state: .destroyed, profile: "node", backend: "e2b", created: 2,
                        labels: ["sandboxer.host": "h2", "team": "red"]),
            makeSandbox("sbx-2b", state: .failed, profile: "node", backend: "modal", created: 2,
                        labels: ["ключ": "значение", "a.b": "c"]),
        ]
        for sandbox in rows { try store.insert(sandbox, event: createdEvent(sandbox.id)) }

        #expect(try ids(SandboxFilter()) == ["sbx-1", "sbx-2", "sbx-2b", "sbx-3"])
        #expect(try ids(SandboxFilter(states: SandboxState.live)) == ["sbx-1", "sbx-3"])
        #expect(try ids(SandboxFilter(states: [.destroyed])) == ["sbx-2"])
        #expect(try ids(SandboxFilter(states: [])) == [])
        #expect(try ids(SandboxFilter(backend: "e2b")) == ["sbx-2", "sbx-3"])
        #expect(try ids(SandboxFilter(profile: "node")) == ["sbx-2", "sbx-2b"])
        #expect(try ids(SandboxFilter(labels: ["sandboxer.host": "h1"])) == ["sbx-1", "sbx-3"])
        #expect(try ids(SandboxFilter(labels: ["sandboxer.host": "h1", "team": "red"])) == ["sbx-3"])
        #expect(try ids(SandboxFilter(labels: ["team": "red"])) == ["sbx-2", "sbx-3"])
        #expect(try ids(SandboxFilter(labels: ["ключ": "значение"])) == ["sbx-2b"])
        #expect(try ids(SandboxFilter(labels: ["a.b": "c"])) == ["sbx-2b"])
        #expect(try ids(SandboxFilter(labels: ["a": "c"])) == [])              // no path semantics
        #expect(try ids(SandboxFilter(labels: ["sandboxer.host": "H1"])) == [])  // exact values
        #expect(try ids(SandboxFilter(states: [.active, .destroyed], backend: "e2b", profile: "py",
                                      labels: ["team": "red"])) == ["sbx-3"])
        #expect(try ids(SandboxFilter(states: [.ready], backend: "e2b")) == [])
        #expect(try ids(SandboxFilter(limit: 2)) == ["sbx-1", "sbx-2"])
        #expect(try ids(SandboxFilter(limit: 0)) == [])
        #expect(try ids(SandboxFilter(backend: "e2b", limit: 1)) == ["sbx-2"])
    }

    @Test func dueMatchesExpiryAndIdleRulesAtTheBoundary() throws {
        let now = at(1000)
        let rows: [Sandbox] = [
            makeSandbox("sbx-expired-exactly", expires: 1000),                              // == now: due
            makeSandbox("sbx-expired-past", state: .active, expires: 10),                   // due (earliest)
            makeSandbox("sbx-expires-later", expires: 1000.001),                            // 1 ms later: not due
            makeSandbox("sbx-idle", updated: 400, expires: 5000, idleReap: 600),            // idle at 1000: due
            makeSandbox("sbx-idle-later", updated: 401, expires: 5000, idleReap: 600),      // idle at 1001
            makeSandbox("sbx-idle-only", updated: 0, expires: nil, idleReap: 500),          // idle at 500: due
            makeSandbox("sbx-both", updated: 100, expires: 700, idleReap: 100),             // idle 200, expiry 700
            makeSandbox("sbx-no-deadline", expires: nil),                                   // never due
            makeSandbox("sbx-dead", state: .destroyed, expires: 0, idleReap: 1),            // not live
            makeSandbox("sbx-expired-state", state: .expired, expires: 0),                  // not live
            makeSandbox("sbx-provisioning", state: .provisioning, expires: 0),              // not live
        ]
        for sandbox in rows { try store.insert(sandbox, event: createdEvent(sandbox.id)) }

        let due = try store.due(at: now, limit: nil).map(\.id)
        // Ordered by the earlier deadline: 10, 200 (idle of sbx-both), 500, 1000 (expiry), 1000 (idle); ties by id.
        #expect(due == ["sbx-expired-past", "sbx-both", "sbx-idle-only", "sbx-expired-exactly", "sbx-idle"])
        #expect(try store.due(at: now, limit: 2).map(\.id) == ["sbx-expired-past", "sbx-both"])
        #expect(try store.due(at: at(-1), limit: nil).isEmpty)
    }

    @Test func idleDeadlineFollowsUpdates() throws {
        try store.insert(makeSandbox("sbx-a", updated: 0, expires: nil, idleReap: 60), event: createdEvent("sbx-a"))
        #expect(try store.due(at: at(60), limit: nil).map(\.id) == ["sbx-a"])
        // Activity moves updated_at, and with it the stored idle deadline.
        var touched = try #require(try store.get(id: "sbx-a"))
        touched.state = .active
        touched.updatedAt = at(50)
        #expect(try store.update(touched, expecting: [.ready], events: []))
        #expect(try store.due(at: at(60), limit: nil).isEmpty)
        #expect(try store.due(at: at(110), limit: nil).map(\.id) == ["sbx-a"])
        // Turning idle reaping off clears it.
        touched.idleReapSeconds = nil
        #expect(try store.update(touched, expecting: [.active], events: []))
        #expect(try store.due(at: at(1_000_000), limit: nil).isEmpty)
    }

    @Test func dueUsesThePartialIndexes() throws {
        let plan = try store.queryPlan(SandboxStore.dueClause).joined(separator: "\n")
        #expect(plan.contains("USING INDEX sandboxes_live_expires_at (expires_at<?)"), "\(plan)")
        #expect(plan.contains("USING INDEX sandboxes_live_idle_at (idle_at<?)"), "\(plan)")
        #expect(!plan.contains("SCAN sandboxes"), "\(plan)")
    }

    @Test func hugeIdleReapSaturatesInsteadOfOverflowing() throws {
        try store.insert(makeSandbox("sbx-a", expires: nil, idleReap: .max), event: createdEvent("sbx-a"))
        #expect(try store.due(at: at(1e9), limit: nil).isEmpty)
        #expect(try store.get(id: "sbx-a")?.idleReapSeconds == .max)
    }
}
