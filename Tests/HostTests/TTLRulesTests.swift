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

/// The TTL model's pure rules, each with explicit dates (no clock at all).
@Suite struct TTLRulesTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func sandbox(state: SandboxState = .ready, ttl: Int64 = 3600, max: Int64 = 4 * 3600, idle: Int64? = nil,
                 readyOffset: Double = 0, updatedOffset: Double = 0) -> Sandbox {
        let ready = t0.addingTimeInterval(readyOffset)
        return Sandbox(id: "sbx-0000000000000001", profile: "p", backend: "b", state: state, ttlSeconds: ttl,
                       maxTTLSeconds: max, idleReapSeconds: idle, createdAt: ready, readyAt: ready,
                       updatedAt: t0.addingTimeInterval(updatedOffset), expiresAt: ready.addingTimeInterval(Double(ttl)),
                       labels: [:], backendRef: "r", reason: nil, idempotencyKey: nil, request: CreateIntent(), hostId: "h")
    }

    @Test func grantTakesDefaultThenRequestAndCapsAtMax() {
        #expect(TTLRules.grant(requested: nil, defaultSeconds: 3600, maxSeconds: 7200) == (3600, false))
        #expect(TTLRules.grant(requested: 600, defaultSeconds: 3600, maxSeconds: 7200) == (600, false))
        #expect(TTLRules.grant(requested: 7200, defaultSeconds: 3600, maxSeconds: 7200) == (7200, false))
        #expect(TTLRules.grant(requested: 7201, defaultSeconds: 3600, maxSeconds: 7200) == (7200, true))
    }

    @Test func extendAddsToTheCurrentDeadline() throws {
        let s = sandbox()
        let ext = try TTLRules.extend(s, bySeconds: 1800, now: t0.addingTimeInterval(60))
        #expect(ext.from == t0.addingTimeInterval(3600))
        #expect(ext.to == t0.addingTimeInterval(5400))
        #expect(!ext.capped)
    }

    @Test func extendAfterTheDeadlineCountsFromNow() throws {
        let s = sandbox()
        let now = t0.addingTimeInterval(4000)  // past expires_at, not yet swept
        let ext = try TTLRules.extend(s, bySeconds: 600, now: now)
        #expect(ext.to == now.addingTimeInterval(600))
    }

    @Test func extendIsCappedAtReadyPlusMax() throws {
        let s = sandbox(max: 2 * 3600)
        let ext = try TTLRules.extend(s, bySeconds: 10 * 3600, now: t0)
        #expect(ext.to == t0.addingTimeInterval(7200))
        #expect(ext.capped)
    }

    @Test func extendPastTheMaxIsRefused() {
        let s = sandbox(max: 3600)
        #expect(throws: SandboxerError.self) { try TTLRules.extend(s, bySeconds: 60, now: t0.addingTimeInterval(3600)) }
    }

    @Test(arguments: [SandboxState.expired, .destroyed, .destroying, .failed, .provisioning])
    func extendRefusesDeadSandboxes(state: SandboxState) {
        let error = #expect(throws: SandboxerError.self) { try TTLRules.extend(sandbox(state: state), bySeconds: 60, now: t0) }
        #expect(error?.code == .conflict)
    }

    @Test func dueRuleNamesTTLAtTheDeadlineAndNotBefore() {
        let s = sandbox()
        #expect(TTLRules.dueRule(s, now: t0.addingTimeInterval(3599)) == nil)
        #expect(TTLRules.dueRule(s, now: t0.addingTimeInterval(3600))?.reason == .ttl)
    }

    @Test func dueRuleNamesTTLMaxWhenTheCapWasReached() {
        let s = sandbox(ttl: 3600, max: 3600)
        #expect(TTLRules.dueRule(s, now: t0.addingTimeInterval(3600))?.reason == .ttlMax)
    }

    @Test func dueRuleIdleCountsFromLastActivity() {
        let s = sandbox(ttl: 86400, max: 86400, idle: 600, updatedOffset: 100)
        #expect(TTLRules.dueRule(s, now: t0.addingTimeInterval(699)) == nil)
        let rule = TTLRules.dueRule(s, now: t0.addingTimeInterval(700))
        #expect(rule?.reason == .idle)
        #expect(rule?.dueAt == t0.addingTimeInterval(700))
    }

    @Test func dueRuleOnlyForLiveSandboxes() {
        #expect(TTLRules.dueRule(sandbox(state: .expired), now: t0.addingTimeInterval(99999)) == nil)
        #expect(TTLRules.dueRule(sandbox(state: .active), now: t0.addingTimeInterval(3600))?.reason == .ttl)
    }

    @Test func durationTextUsesTheLargestExactUnit() {
        #expect(DurationText.format(90 * 60) == "90m")
        #expect(DurationText.format(7200) == "2h")
        #expect(DurationText.format(86400) == "1d")
        #expect(DurationText.format(61) == "61s")
    }
}
