import Foundation
import PluginKit
import Synchronization
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

/// A service on a temp store with profiles that warn before expiry, a manual clock and a fake backend.
struct WarningFixture {
    static let configText = """
    data_dir: DATA
    host_id: host-test
    backends:
      fake:
        plugin: /nonexistent/libfake.so
    profiles:
      warned:
        backend: fake
        ttl: {default: 1h, max: 3h, expiry_warning: 10m}
      plain:
        backend: fake
        ttl: {default: 1h, max: 4h}
      idlewarn:
        backend: fake
        ttl: {default: 1h, max: 4h, idle_reap: 20m, expiry_warning: 10m}
      snap:
        backend: fake
        on_expire: snapshot
        ttl: {default: 1h, max: 4h, expiry_warning: 5m}
    """

    let dir: String
    let clock = ManualClock()
    let backend = FakeBackend()
    let config: Config
    let service: SandboxService

    init() throws {
        dir = NSTemporaryDirectory() + "sandboxer-warn-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        config = try ConfigLoader.parse(Self.configText.replacingOccurrences(of: "DATA", with: dir),
                                        file: "test.yaml", environment: [:], baseDirectory: dir)
        service = try Self.makeService(dir: dir, config: config, clock: clock, backend: backend)
    }

    /// Another service (its own store connection) on the same file, clock and backend: a second process.
    func makeService() throws -> SandboxService {
        try Self.makeService(dir: dir, config: config, clock: clock, backend: backend)
    }

    static func makeService(dir: String, config: Config, clock: ManualClock, backend: FakeBackend) throws -> SandboxService {
        let context = PluginHostContext(now: { clock.now() }, secret: { _ in nil }, log: { _, _, _ in })
        return SandboxService(config: config, store: try SandboxStore(path: dir + "/sandboxer.db"),
                              backends: BackendRegistry(config: config, context: context, preloaded: ["fake": backend]),
                              clock: clock, hostId: "host-test")
    }

    func warnings(_ id: String) throws -> [SandboxEvent] {
        try service.events(sandboxId: id, since: nil, limit: nil).filter { $0.kind == .expiryWarning }
    }

    func data(_ event: SandboxEvent) throws -> [String: String] {
        try event.data.fields.mapValues { try #require($0.stringValue) }
    }
}

@Suite struct ExpiryWarningTests {
    @Test func warnsOnceForADeadline() throws {
        let f = try WarningFixture()
        let s = try f.service.create(CreateOptions(profile: "warned")).sandbox
        let expiresAt = try #require(s.expiresAt)
        #expect(s.warningDeadline == expiresAt.addingTimeInterval(-600))

        f.clock.set(expiresAt.addingTimeInterval(-601))
        _ = try f.service.expire(apply: true)
        #expect(try f.warnings(s.id).isEmpty)

        f.clock.set(expiresAt.addingTimeInterval(-600))
        _ = try f.service.expire(apply: true)
        let sent = try f.warnings(s.id)
        #expect(sent.count == 1)
        let data = try f.data(try #require(sent.first))
        #expect(data == ["expires_at": RFC3339.format(expiresAt), "in": "10m", "rule": "ttl"])
        #expect(sent.first?.at == f.clock.now())
        let row = try f.service.get(s.id)
        #expect(row.warnedExpiresAt == expiresAt)
        #expect(row.warningDeadline == nil)
        // The warning is not activity: the idle clock and updated_at stay where they were.
        #expect(row.updatedAt == s.updatedAt)
        #expect(row.state == .ready)

        f.clock.advance(60)
        _ = try f.service.expire(apply: true)
        #expect(try f.service.sendExpiryWarnings().isEmpty)
        #expect(try f.warnings(s.id).count == 1)
    }

    @Test func warnsAgainAfterExtendMovesTheDeadline() throws {
        let f = try WarningFixture()
        let s = try f.service.create(CreateOptions(profile: "warned")).sandbox
        let first = try #require(s.expiresAt)
        f.clock.set(first.addingTimeInterval(-300))
        #expect(try f.service.sendExpiryWarnings().count == 1)
        #expect(try f.data(f.warnings(s.id)[0])["in"] == "5m")

        let extended = try f.service.extendTTL(s.id, duration: "1h", by: "test").to
        #expect(try f.service.sendExpiryWarnings().isEmpty)  // the new deadline is an hour away
        f.clock.set(extended.addingTimeInterval(-600))
        #expect(try f.service.sendExpiryWarnings().count == 1)
        let second = try f.warnings(s.id)
        #expect(second.count == 2)
        #expect(try f.data(second[1]) == ["expires_at": RFC3339.format(extended), "in": "10m", "rule": "ttl"])

        // Extended to the cap, the deadline can no longer move: the warning says ttl_max.
        let capped = try f.service.extendTTL(s.id, duration: "1d", by: "test")
        #expect(capped.capped)
        f.clock.set(capped.to.addingTimeInterval(-60))
        #expect(try f.service.sendExpiryWarnings().count == 1)
        #expect(try f.data(f.warnings(s.id)[2])["rule"] == "ttl_max")
    }

    @Test func noWarningWithoutTheProfileSetting() throws {
        let f = try WarningFixture()
        let s = try f.service.create(CreateOptions(profile: "plain")).sandbox
        #expect(s.expiryWarningSeconds == nil)
        #expect(s.warningDeadline == nil)
        f.clock.set(try #require(s.expiresAt).addingTimeInterval(-1))
        _ = try f.service.expire(apply: true)
        #expect(try f.service.store.warningsDue(at: f.clock.now().addingTimeInterval(1e6), limit: nil).isEmpty)
        f.clock.advance(1)
        #expect(try f.service.expire(apply: true).map(\.outcome) == [.destroyed])
        #expect(try f.warnings(s.id).isEmpty)
    }

    @Test func aSandboxAlreadyDueExpiresInsteadOfBeingWarned() throws {
        let f = try WarningFixture()
        let late = try f.service.create(CreateOptions(profile: "warned")).sandbox
        let idle = try f.service.create(CreateOptions(profile: "idlewarn")).sandbox
        // The sweep did not run during the warning window: past the deadline, no warning goes out.
        f.clock.set(try #require(late.expiresAt))
        #expect(TTLRules.warning(try f.service.get(late.id), now: f.clock.now()) == nil)
        #expect(try f.service.sendExpiryWarnings().isEmpty)
        let items = try f.service.expire(apply: true)
        #expect(Set(items.map(\.sandbox.id)) == [late.id, idle.id])
        #expect(items.first { $0.sandbox.id == idle.id }?.rule == .idle)  // idle (20m) came before the warning (50m)
        #expect(try f.warnings(late.id).isEmpty)
        #expect(try f.warnings(idle.id).isEmpty)
    }

    @Test func theStoreRefusesAWarningForADueSandbox() throws {
        let f = try WarningFixture()
        let s = try f.service.create(CreateOptions(profile: "warned")).sandbox
        let expiresAt = try #require(s.expiresAt)
        let event = SandboxEvent(sandboxId: s.id, type: .expiryWarning, at: expiresAt)
        #expect(try !f.service.store.recordExpiryWarning(id: s.id, expiresAt: expiresAt, event: event, now: expiresAt))
        // A deadline that is no longer the row's is refused too (an extend raced the sweep).
        let early = expiresAt.addingTimeInterval(-300)
        #expect(try !f.service.store.recordExpiryWarning(id: s.id, expiresAt: expiresAt.addingTimeInterval(1), event: event, now: early))
        #expect(try f.service.store.recordExpiryWarning(id: s.id, expiresAt: expiresAt, event: event, now: early))
        #expect(try !f.service.store.recordExpiryWarning(id: s.id, expiresAt: expiresAt, event: event, now: early))
        #expect(try f.warnings(s.id).count == 1)
    }

    @Test func aDryRunSendsNoWarning() throws {
        let f = try WarningFixture()
        let s = try f.service.create(CreateOptions(profile: "warned")).sandbox
        f.clock.set(try #require(s.expiresAt).addingTimeInterval(-60))
        #expect(try f.service.expire(apply: false).isEmpty)
        #expect(try f.warnings(s.id).isEmpty)
        #expect(try f.service.get(s.id).warningDeadline != nil)
    }

    @Test func concurrentSweepsWarnOnce() throws {
        let f = try WarningFixture()
        var ids: [String] = []
        for _ in 0..<12 { ids.append(try f.service.create(CreateOptions(profile: "warned")).sandbox.id) }
        let latest = try ids.map { try #require(try f.service.get($0).expiresAt) }.max()!
        f.clock.set(latest.addingTimeInterval(-120))
        let services = try (0..<4).map { _ in try f.makeService() }
        let counts = Mutex<[Int]>([])
        let errors = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: services.count) { i in
            do {
                let sent = try services[i].sendExpiryWarnings().count
                counts.withLock { $0.append(sent) }
            } catch {
                errors.withLock { $0.append("\(error)") }
            }
        }
        #expect(errors.withLock { $0 }.isEmpty)
        #expect(counts.withLock { $0.reduce(0, +) } == ids.count)
        for id in ids { #expect(try f.warnings(id).count == 1, "\(id)") }
    }

    @Test func aStaleWholeRowWriteDoesNotBringASecondWarning() throws {
        let f = try WarningFixture()
        let s = try f.service.create(CreateOptions(profile: "warned")).sandbox
        let stale = try f.service.get(s.id)
        f.clock.set(try #require(s.expiresAt).addingTimeInterval(-300))
        #expect(try f.service.sendExpiryWarnings().count == 1)
        // A writer that read the row before the warning puts warned_expires_at (and warn_at) back.
        #expect(try f.service.store.update(stale, expecting: SandboxState.live, events: []))
        #expect(try f.service.store.warningsDue(at: f.clock.now(), limit: nil).map(\.id) == [s.id])
        #expect(try f.service.sendExpiryWarnings().isEmpty)
        #expect(try f.warnings(s.id).count == 1)
        #expect(try f.service.store.warningsDue(at: f.clock.now(), limit: nil).isEmpty)  // repaired
    }

    @Test func theWarningQueryUsesThePartialIndex() throws {
        let f = try WarningFixture()
        let plan = try f.service.store.queryPlan(SandboxStore.warningsDueClause).joined(separator: "\n")
        #expect(plan.contains("USING INDEX sandboxes_live_warn_at (warn_at<?)"), "\(plan)")
        #expect(!plan.contains("SCAN sandboxes"), "\(plan)")
    }

    @Test func compactDurations() {
        #expect(DurationText.compact(0) == "0s")
        #expect(DurationText.compact(-5) == "0s")
        #expect(DurationText.compact(45) == "45s")
        #expect(DurationText.compact(600) == "10m")
        #expect(DurationText.compact(11_520) == "3h12m")
        #expect(DurationText.compact(11_579) == "3h12m")
        #expect(DurationText.compact(3 * 86_400 + 3_600 * 5 + 7) == "3d5h")
        #expect(DurationText.compact(86_400 + 60) == "1d")
    }
}
