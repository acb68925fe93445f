import Foundation
import PluginKit
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

/// `Explanation` as a pure function of a sandbox, its events, its profile and now: one test per case.
@Suite struct ExplainTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let id = "sbx-00000000000000e1"

    static func t(_ seconds: Double) -> Date { t0.addingTimeInterval(seconds) }
    static func time(_ seconds: Double) -> String { RFC3339.format(t(seconds)) }

    /// A ready sandbox made at t0 with a 4h ttl and a 1d max, unless told otherwise.
    static func sandbox(state: SandboxState = .ready, ttl: Int64 = 4 * 3600, max: Int64 = 86_400, idle: Int64? = nil,
                        updated: Double = 0, expires: Double? = 4 * 3600, reason: TerminationReason? = nil,
                        warning: Int64? = nil, warned: Double? = nil, requested: Int64 = 4 * 3600, capped: Bool = false) -> Sandbox {
        Sandbox(id: id, profile: "default", backend: "fake", state: state, ttlSeconds: ttl, maxTTLSeconds: max,
                idleReapSeconds: idle, createdAt: t0, readyAt: state == .provisioning ? nil : t0, updatedAt: t(updated),
                expiresAt: state == .provisioning ? nil : expires.map(t), labels: [:], backendRef: "ref", reason: reason,
                idempotencyKey: nil,
                request: CreateIntent(ttlSeconds: ttl, requestedTTLSeconds: requested, capped: capped),
                hostId: "host-test", expiryWarningSeconds: warning, warnedExpiresAt: warned.map(t),
                lastActivity: state == .provisioning ? nil : "ready")
    }

    static func event(_ seq: Int64, _ type: SandboxEventType, at seconds: Double, _ data: EventData = [:]) -> SandboxEvent {
        SandboxEvent(seq: seq, sandboxId: id, type: type, at: t(seconds), data: data)
    }

    static let lived = [event(1, .created, at: 0), event(2, .ready, at: 0)]
    static let profile = Profile(name: "default", backend: "fake")

    static func explain(_ s: Sandbox, _ events: [SandboxEvent] = lived, profile: Profile? = profile, now: Double) -> Explanation {
        Explanation(sandbox: s, events: events, profile: profile, now: t(now))
    }

    @Test func aliveByTTL() {
        let e = Self.explain(Self.sandbox(), now: 48 * 60)
        #expect(e.summary == "\(Self.id) is ready and will be destroyed at \(Self.time(4 * 3600)) (in 3h12m) by rule ttl: "
                + "its 4h ttl ends then; it can be extended up to \(Self.time(86_400)) (max 1d).")
        #expect(e.next == .init(rule: .ttl, at: Self.t(4 * 3600), due: false))
        #expect(e.cap == .init(maxSeconds: 86_400, latestDeadline: Self.t(86_400), reached: false))
        #expect(e.ttl.requestedSeconds == Int64(4 * 3600))
        #expect(!e.ttl.cappedAtCreate)
        #expect(e.ending == nil)
        #expect(e.onExpire == .destroy)
        let json = ExplainView.render(e)
        #expect(json["ttl"]?["remaining_seconds"] == .number(Double(4 * 3600 - 48 * 60)))
        #expect(json["next"]?["action"] == "destroy")
        #expect(json["summary"]?.stringValue == e.summary)
    }

    @Test func aliveByTTLMaxWhenTheDeadlineIsTheCap() {
        let s = Self.sandbox(ttl: 86_400, expires: 86_400, requested: 2 * 86_400, capped: true)
        let extended = Self.lived + [Self.event(3, .ttlExtended, at: 60, ["by": "cli:root"])]
        let e = Self.explain(s, extended, now: 86_400 - 90)
        #expect(e.summary == "\(Self.id) is ready and will be destroyed at \(Self.time(86_400)) (in 1m30s) by rule ttl_max: "
                + "it reaches its maximum lifetime of 1d then and cannot be extended.")
        #expect(e.next?.rule == .ttlMax)
        #expect(e.cap.reached)
        #expect(e.ttl.cappedAtCreate)
        #expect(e.ttl.requestedSeconds == Int64(2 * 86_400))
        #expect(e.ttl.extensions == 1)
    }

    @Test func idleComesFirst() {
        var s = Self.sandbox(idle: 30 * 60, updated: 3600)
        s.lastActivity = "exec"
        let e = Self.explain(s, now: 3600 + 600)
        #expect(e.next == .init(rule: .idle, at: Self.t(3600 + 1800), due: false))
        #expect(e.summary == "\(Self.id) is ready and will be destroyed at \(Self.time(3600 + 1800)) (in 20m) by rule idle: "
                + "it has been idle since \(Self.time(3600)) (last activity: exec) and its idle_reap is 30m; "
                + "activity moves this later; otherwise its ttl ends at \(Self.time(4 * 3600)).")
        #expect(e.idle.deadline == Self.t(5400))
        #expect(e.idle.lastActivity == "exec")
        // A tie names the TTL rule, as the sweep does.
        let tie = Self.explain(Self.sandbox(idle: 4 * 3600), now: 0)
        #expect(tie.next?.rule == .ttl)
    }

    @Test func alreadyDue() {
        let e = Self.explain(Self.sandbox(state: .active), now: 4 * 3600 + 75)
        #expect(e.next == .init(rule: .ttl, at: Self.t(4 * 3600), due: true))
        #expect(e.summary == "\(Self.id) is active but has been due since \(Self.time(4 * 3600)) (1m15s ago) by rule ttl: "
                + "the next expiry sweep will destroy it.")
        #expect(ExplainView.render(e)["ttl"]?["remaining_seconds"] == .number(0))
    }

    @Test func onExpireSnapshotAndAMissingProfile() {
        var snap = Self.profile
        snap.onExpire = .snapshot
        let e = Self.explain(Self.sandbox(), profile: snap, now: 0)
        #expect(e.summary.contains("is ready and will be snapshotted and destroyed at"))
        #expect(ExplainView.render(e)["next"]?["action"] == "snapshot_then_destroy")
        let gone = Self.explain(Self.sandbox(), profile: nil, now: 0)
        #expect(!gone.profileExists)
        #expect(gone.onExpire == nil)
        #expect(ExplainView.render(gone)["profile"]?["on_expire"] == .null)
        #expect(ExplainView.text(gone).contains("default (no longer configured; the sweep destroys)"))
    }

    @Test func expiryWarningFacts() {
        let pending = Self.explain(Self.sandbox(warning: 600), now: 0)
        #expect(pending.warning == .init(beforeSeconds: 600, at: Self.t(4 * 3600 - 600), sent: false, lastEvent: nil))
        let warnedEvent = Self.event(3, .expiryWarning, at: 4 * 3600 - 600,
                                     ["expires_at": .string(Self.time(4 * 3600)), "in": "10m", "rule": "ttl"])
        let sent = Self.explain(Self.sandbox(warning: 600, warned: 4 * 3600), Self.lived + [warnedEvent], now: 4 * 3600 - 300)
        #expect(sent.warning.sent)
        #expect(sent.warning.lastEvent == warnedEvent)
        #expect(ExplainView.text(sent).contains("warning     10m before expiry: \(Self.time(4 * 3600 - 600)) (sent at \(Self.time(4 * 3600 - 600)))"))
        // After an extension the old warning does not count for the new deadline.
        let moved = Self.explain(Self.sandbox(ttl: 5 * 3600, expires: 5 * 3600, warning: 600, warned: 4 * 3600),
                                 Self.lived + [warnedEvent], now: 4 * 3600)
        #expect(!moved.warning.sent)
        #expect(moved.warning.at == Self.t(5 * 3600 - 600))
        #expect(Self.explain(Self.sandbox(), now: 0).warning.beforeSeconds == nil)
    }

    @Test func provisioning() {
        let e = Self.explain(Self.sandbox(state: .provisioning, ttl: 3600), [Self.event(1, .created, at: 0)], now: 3)
        #expect(e.summary == "\(Self.id) is provisioning since \(Self.time(0)); its 1h ttl starts when the backend answers "
                + "(expires_at = ready_at + 1h, at most ready_at + 1d).")
        #expect(e.next == nil)
        #expect(e.ending == nil)
        #expect(e.cap.latestDeadline == nil)
    }

    @Test func expiredAndWaitingForTheDestroy() {
        let events = Self.lived + [Self.event(3, .expired, at: 4 * 3600 + 10, ["reason": "ttl"])]
        let e = Self.explain(Self.sandbox(state: .expired, updated: 4 * 3600 + 10, reason: .ttl), events, now: 4 * 3600 + 20)
        #expect(e.summary == "\(Self.id) expired at \(Self.time(4 * 3600 + 10)) by rule ttl and is waiting to be destroyed: "
                + "the next expiry sweep finishes it.")
        #expect(e.ending?.event?.seq == 3)
        #expect(e.ending?.finalEvent == nil)
        #expect(e.next == nil)
    }

    @Test(arguments: [
        (TerminationReason.ttl, "expired", "by rule ttl: its 4h ttl ended at \(ExplainTests.time(4 * 3600))"),
        (.ttlMax, "expired", "by rule ttl_max: it reached its maximum lifetime of 1d at \(ExplainTests.time(4 * 3600))"),
        (.idle, "expired", "by rule idle: it was idle for longer than its idle_reap of 30m"),
        (.manual, "destroying", "on request (reason manual)"),
    ])
    func destroyedWithEachReason(reason: TerminationReason, recordedBy: String, because: String) {
        var events = Self.lived
        if recordedBy == "expired" { events.append(Self.event(3, .expired, at: 100, ["reason": .string(reason.rawValue)])) }
        events.append(Self.event(4, .destroying, at: 101, ["reason": .string(reason.rawValue)]))
        events.append(Self.event(5, .destroyed, at: 102, ["reason": .string(reason.rawValue)]))
        let s = Self.sandbox(state: .destroyed, idle: 1800, updated: 102, reason: reason)
        let e = Self.explain(s, events, now: 500)
        #expect(e.summary == "\(Self.id) was destroyed at \(Self.time(102)) \(because).")
        #expect(e.ending?.reason == reason)
        #expect(e.ending?.at == Self.t(102))
        #expect(e.ending?.event?.type == recordedBy)
        #expect(e.ending?.finalEvent?.seq == 5)
        #expect(e.next == nil)
        let json = ExplainView.render(e)
        #expect(json["ended"]?["reason"]?.stringValue == reason.rawValue)
        #expect(json["ended"]?["event"]?["type"]?.stringValue == recordedBy)
    }

    @Test func destroyingNow() {
        let events = Self.lived + [Self.event(3, .destroying, at: 50, ["reason": "manual"])]
        let e = Self.explain(Self.sandbox(state: .destroying, updated: 50, reason: .manual), events, now: 51)
        #expect(e.summary == "\(Self.id) is being destroyed since \(Self.time(50)) (on request (reason manual)).")
        #expect(e.ending?.event?.seq == 3)
    }

    @Test func failedCreate() {
        let events = [Self.event(1, .created, at: 0),
                      Self.event(2, .failed, at: 7, ["reason": "failed", "message": "The backend refused: quota exceeded."])]
        var s = Self.sandbox(state: .provisioning, updated: 7)
        s.state = .failed
        s.reason = .failed
        let e = Self.explain(s, events, now: 60)
        #expect(e.summary == "\(Self.id) failed at \(Self.time(7)) (reason failed): The backend refused: quota exceeded.")
        #expect(e.ending?.message == "The backend refused: quota exceeded.")
        #expect(e.ending?.event?.seq == 2)
    }

    @Test func failedBecauseTheBackendResourceVanished() {
        let events = Self.lived + [Self.event(3, .failed, at: 900, ["reason": "backend_vanished"])]
        let e = Self.explain(Self.sandbox(state: .failed, updated: 900, reason: .backendVanished), events, now: 1000)
        #expect(e.summary == "\(Self.id) was marked failed at \(Self.time(900)) (reason backend_vanished): "
                + "its backend resource vanished (reap-stale found it gone).")
        #expect(e.ending?.reason == .backendVanished)
    }

    @Test func humanTextStartsWithTheSummary() {
        let e = Self.explain(Self.sandbox(idle: 1800), now: 60)
        let lines = ExplainView.text(e).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == Substring(e.summary))
        #expect(lines[1] == "")
        #expect(lines[2] == "state       ready")
        #expect(lines.contains("idle_reap   30m: idle deadline \(Self.time(1800))"))
        #expect(lines.contains("next        rule idle at \(Self.time(1800)): destroy"))
    }
}

/// `explain` and event reasons through the service, on a real store.
@Suite struct ExplainServiceTests {
    @Test func explainReadsTheRowAndItsEvents() throws {
        let f = try ServiceFixture()
        let s = try f.service.create(CreateOptions(profile: "idle")).sandbox
        f.clock.advance(120)
        _ = try f.service.exec(s.id, argv: ["true"])
        let e = try f.service.explain(s.id)
        #expect(e.sandbox.lastActivity == "exec")
        #expect(e.next?.rule == .idle)
        #expect(e.next?.at == f.clock.now().addingTimeInterval(600))
        #expect(e.ttl.requestedSeconds == 86_400)
        _ = try f.service.destroy(s.id)
        let ended = try f.service.explain(s.id)
        #expect(ended.ending?.reason == .manual)
        #expect(ended.ending?.event?.type == "destroying")
        #expect(ended.ending?.finalEvent?.type == "destroyed")
        #expect(throws: SandboxerError.self) { try f.service.explain("sbx-0000000000000000") }
    }

    /// Every event that ends something names its reason, on every path that writes one.
    @Test func everyEndingEventCarriesAReason() throws {
        let f = try ServiceFixture()
        let manual = try f.service.create(CreateOptions(profile: "default")).sandbox
        _ = try f.service.destroy(manual.id)
        let byTTL = try f.service.create(CreateOptions(profile: "default", ttl: "30m")).sandbox
        let byMax = try f.service.create(CreateOptions(profile: "default", ttl: "1h")).sandbox
        _ = try f.service.extendTTL(byMax.id, duration: "1d", by: "test")   // to the cap: 4h
        let byIdle = try f.service.create(CreateOptions(profile: "idle")).sandbox
        f.backend.fail("create", with: .quota)
        #expect(throws: SandboxerError.self) { try f.service.create(CreateOptions(profile: "default")) }
        let failed = try #require(try f.service.list(SandboxFilter(states: [.failed])).first)
        // A ghost: the store's sandbox is gone on the backend.
        let ghost = try f.service.create(CreateOptions(profile: "default", ttl: "4h")).sandbox
        f.backend.resources.withLock { _ = $0.removeValue(forKey: "ref-" + ghost.id) }
        // An orphan: a resource with our labels and no row.
        f.backend.resources.withLock {
            $0["ref-orphan"] = .init(labels: [OwnershipLabel.host: "host-test", OwnershipLabel.sandbox: "sbx-00000000000000ff"])
        }
        _ = try f.service.reapStale(apply: true)
        // A destroy interrupted half-way, finished by reconcile.
        let halfway = try f.service.create(CreateOptions(profile: "default", ttl: "4h")).sandbox
        var destroying = try f.service.get(halfway.id)
        destroying.state = .destroying
        destroying.reason = .manual
        destroying.request.owner = ProcessIdentity(pid: 2_147_483_000, startTime: 1)  // its destroyer is gone
        #expect(try f.service.store.update(destroying, expecting: SandboxState.live, events: [
            SandboxEvent(sandboxId: halfway.id, type: .destroying, at: f.clock.now(), data: ["reason": "manual"]),
        ]))
        f.clock.advance(30)
        _ = try f.service.reconcileInterrupted()
        // Sweeps: ttl at 30m, idle at 10m, ttl_max at 4h.
        f.clock.advance(4 * 3600)
        _ = try f.service.expire(apply: true)

        let expected: [String: TerminationReason] = [
            manual.id: .manual, byTTL.id: .ttl, byMax.id: .ttlMax, byIdle.id: .idle, failed.id: .failed,
            ghost.id: .backendVanished, halfway.id: .manual, "sbx-00000000000000ff": .orphan,
        ]
        let events = try f.service.events(sandboxId: nil, since: nil, limit: nil)
        let ending = events.filter { ["expired", "destroying", "destroyed", "failed", "orphan_reaped"].contains($0.type) }
        #expect(Set(ending.map(\.sandboxId)) == Set(expected.keys))
        for event in ending {
            #expect(event.data.string("reason") == expected[event.sandboxId]?.rawValue, "\(event.type) of \(event.sandboxId): \(event.data)")
        }
        for id in [manual.id, byTTL.id, byMax.id, byIdle.id, halfway.id] {
            #expect(ending.contains { $0.sandboxId == id && $0.type == "destroyed" }, "\(id) has a destroyed event")
            let e = try f.service.explain(id)
            #expect(e.ending?.reason == expected[id])
            #expect(e.ending?.event != nil)
            #expect(e.ending?.finalEvent?.type == "destroyed")
        }
        for id in [failed.id, ghost.id] {
            #expect(try f.service.explain(id).ending?.finalEvent?.type == "failed")
        }
    }
}
