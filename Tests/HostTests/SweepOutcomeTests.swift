import Foundation
import Testing
@testable import Basics
@testable import PluginProtocol
@testable import Core
@testable import Lifecycle

/// Sweep outcomes are typed, and render to exactly the JSON the fronts printed when they were strings.
@Suite struct SweepOutcomeTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)   // 2027-01-15T08:00:00Z
    static let sandbox = Sandbox(
        id: "sbx-00000000000000aa", profile: "default", backend: "fake", state: .destroyed, ttlSeconds: 3600,
        maxTTLSeconds: 7200, idleReapSeconds: nil, createdAt: t0, readyAt: t0, updatedAt: t0,
        expiresAt: t0.addingTimeInterval(3600), labels: [:], backendRef: "ref-1", reason: .ttl, idempotencyKey: nil,
        request: CreateIntent(), hostId: "host-test")
    static let message = "Backend 'fake' failed 'destroy' (unavailable): the backend is down."

    @Test(arguments: [
        (SweepOutcome.planned, "null"), (.destroyed, #""destroyed""#), (.skipped, #""skipped""#),
        (.error(message), "\"\(message)\""),
    ])
    func expiryItemsRenderAsBefore(outcome: SweepOutcome, json: String) {
        var item = ExpiryItem(sandbox: Self.sandbox, rule: .ttl, dueAt: Self.t0.addingTimeInterval(3600))
        item.outcome = outcome
        let apply = outcome != .planned
        #expect(ExpiryView.render([item], apply: apply, now: Self.t0.addingTimeInterval(3700)).rendered(pretty: false) == """
            {"apply":\(apply),"items":[{"backend":"fake","due_at":"2027-01-15T09:00:00Z","expires_at":"2027-01-15T09:00:00Z",\
            "id":"sbx-00000000000000aa","on_expire":"destroy","outcome":\(json),"profile":"default","rule":"ttl",\
            "snapshot_error":null,"snapshot_id":null,"state":"destroyed"}],"now":"2027-01-15T09:01:40Z"}

            """)
    }

    @Test func reapReportsRenderAsBefore() {
        var report = ReapReport()
        report.orphans = [
            ReapReport.Orphan(backend: "fake", backendRef: "ref-o1", sandboxId: "sbx-00000000000000bb", labels: [:], outcome: .destroyed),
            ReapReport.Orphan(backend: "fake", backendRef: "ref-o2", sandboxId: nil, labels: [:], outcome: .error(Self.message)),
        ]
        report.ghosts = [ReapReport.Ghost(sandbox: Self.sandbox, outcome: .markedFailed),
                         ReapReport.Ghost(sandbox: Self.sandbox, outcome: .skipped)]
        report.foreign = [ReapReport.Orphan(backend: "fake", backendRef: "ref-f", sandboxId: nil, labels: ["a": "b"])]
        #expect(ReapView.render(report, apply: true).rendered(pretty: false) == """
            {"apply":true,"errors":{},"foreign":[{"backend":"fake","backend_ref":"ref-f","labels":{"a":"b"},"outcome":null,"sandbox_id":null}],\
            "ghosts":[{"backend":"fake","id":"sbx-00000000000000aa","outcome":"failed","state":"destroyed"},\
            {"backend":"fake","id":"sbx-00000000000000aa","outcome":"skipped","state":"destroyed"}],"in_flight":[],\
            "orphans":[{"backend":"fake","backend_ref":"ref-o1","labels":{},"outcome":"destroyed","sandbox_id":"sbx-00000000000000bb"},\
            {"backend":"fake","backend_ref":"ref-o2","labels":{},"outcome":"\(Self.message)","sandbox_id":null}],"stuck":[],"unreachable":[]}

            """)
    }

    @Test func pruneItemsRenderAsBefore() throws {
        let snap = Snapshot(id: "snap-00000000000000cc", sandboxId: Self.sandbox.id, backend: "fake", profile: "default",
                            name: nil, state: .deleted, createdAt: Self.t0, updatedAt: Self.t0, trigger: .manual,
                            owner: nil, hostId: "host-test")
        for (outcome, json) in [(SweepOutcome.planned, JSONValue.null), (.deleted, "deleted"), (.error("gone"), "gone")] {
            let item = PruneItem(snapshot: snap, rule: .retentionKeep, outcome: outcome)
            let rendered = PruneView.render([item], apply: outcome != .planned, now: Self.t0)
            let first = try #require(rendered["items"]?.arrayValue?.first?.objectValue)
            #expect(Set(first.keys) == ["snapshot", "rule", "outcome"])
            #expect(first["outcome"] == json && first["rule"] == "retention_keep" && first["snapshot"] == snap.jsonValue)
        }
    }

    @Test func onlyAnErrorFailsTheCommand() {
        #expect([SweepOutcome.planned, .destroyed, .deleted, .markedFailed, .skipped].allSatisfy { !$0.isError })
        #expect(SweepOutcome.error("x").isError)
    }
}
