import Foundation
import PluginKit
import Testing
@testable import FinHub

/// The pure parts of the fin-hub plugin: config, the TTL rule, labels, error mapping.
@Suite struct FinHubUnitTests {
    static func config(_ extra: [String: JSONValue] = [:]) throws(PluginError) -> FinHubConfig {
        var object: [String: JSONValue] = ["url": "http://127.0.0.1:8080/", "token_secret": "hub-token"]
        for (key, value) in extra { object[key] = value }
        return try FinHubConfig(json: .object(object))
    }

    @Test func configDefaultsAndProfileMap() throws {
        let plain = try Self.config()
        #expect(plain.url == "http://127.0.0.1:8080")
        #expect(plain.graceSeconds == 300)
        #expect(plain.hubProfile(for: "anything") == nil)
        let mapped = try Self.config(["profile": ["dev": "small"], "grace": "0s"])
        #expect(mapped.hubProfile(for: "dev") == "small")
        #expect(mapped.hubProfile(for: "other") == nil)
        #expect(mapped.graceSeconds == 0)
        let single = try Self.config(["profile": "shared", "grace": "2m"])
        #expect(single.hubProfile(for: "dev") == "shared")
        #expect(single.graceSeconds == 120)
    }

    @Test func configRefusesPlaintextOffLoopbackAndBadValues() {
        for url in ["http://10.0.0.1:8080", "http://hub.example.org", "ftp://127.0.0.1", "127.0.0.1:8080"] {
            #expect(throws: PluginError.self, "url \(url)") {
                _ = try FinHubConfig(json: ["url": .string(url), "token_secret": "t"])
            }
        }
        #expect((try? FinHubConfig(json: ["url": "https://hub.example.org", "token_secret": "t"])) != nil)
        #expect((try? FinHubConfig(json: ["url": "http://[::1]:9/", "token_secret": "t"])) != nil)
        #expect(throws: PluginError.self) { _ = try Self.config(["grace": "5 m"]) }
        #expect(throws: PluginError.self) { _ = try Self.config(["grace": "05m"]) }
        #expect(throws: PluginError.self) { _ = try Self.config(["profile": 3]) }
        #expect(throws: PluginError.self) { _ = try Self.config(["tokn_secret": "x"]) }
        #expect(throws: PluginError.self) { _ = try FinHubConfig(json: ["url": "http://127.0.0.1:1"]) }
    }

    @Test func createTTLIsOurDeadlinePlusGrace() {
        #expect(HubTTL.createSeconds(timeout: 660, grace: 300) == 960)
        #expect(HubTTL.createSeconds(timeout: nil, grace: 300) == nil)
        #expect(HubTTL.createSeconds(timeout: 0, grace: 0) == 1)
    }

    @Test func extendAddsOnlyTheMissingTimeOnTheHubsClock() {
        let hubNow = Date(timeIntervalSince1970: 1_000_000)
        // Hub deadline 10 minutes out; we want 1h + 5m from the hub's now: add 55 minutes.
        #expect(HubTTL.extendSeconds(hubExpiresAt: hubNow.addingTimeInterval(600), hubNow: hubNow, timeout: 3600, grace: 300) == 3300)
        // Already later than wanted: nothing to add (the hub cannot shorten).
        #expect(HubTTL.extendSeconds(hubExpiresAt: hubNow.addingTimeInterval(7200), hubNow: hubNow, timeout: 60, grace: 0) == 0)
        // Past but not yet swept: the hub extends from now, so the delta is the whole wanted span.
        #expect(HubTTL.extendSeconds(hubExpiresAt: hubNow.addingTimeInterval(-50), hubNow: hubNow, timeout: 100, grace: 20) == 120)
        // Fractions round up: never short of the wanted deadline.
        #expect(HubTTL.extendSeconds(hubExpiresAt: hubNow.addingTimeInterval(0.5), hubNow: hubNow, timeout: 10, grace: 0) == 10)
    }

    @Test func labelsMapBothWaysAndDropTheHubsOwn() {
        let hub = HubLabel.owning(hostId: "h1", sandboxId: "sbx-1", profile: "dev")
        #expect(hub == ["finhub.host": "h1", "finhub.sandbox": "sbx-1", "finhub.profile": "dev"])
        var seen = hub
        seen["sandboxer.host"] = "the-hub"
        seen["team"] = "a"
        #expect(HubLabel.toHost(seen) == ["sandboxer.host": "h1", "sandboxer.sandbox": "sbx-1", "sandboxer.profile": "dev", "team": "a"])
        #expect(HubLabel.toHost(["sandboxer.host": "h1"]) == [:])
    }

    @Test func hubErrorsMapToABICodesAndNameOnlyTheSecret() {
        let body = Data(#"{"error":{"code":"x","message":"No such sandbox.\nsecond line"}}"#.utf8)
        let cases: [(Int, PluginError.Code)] = [(404, .notFound), (409, .conflict), (401, .invalidRequest), (403, .invalidRequest),
                                                (429, .quota), (422, .invalidRequest), (500, .unavailable), (503, .unavailable),
                                                (418, .internal)]
        for (status, code) in cases {
            let error = HubError.map(status: status, body: body, method: "GET", path: "/v1/sandboxes/sbx-1?x=1", tokenSecret: "hub-token")
            #expect(error.code == code, "status \(status)")
            #expect(!error.message.contains("\n"))
            #expect(!error.message.contains("?x=1"))
        }
        let refused = HubError.map(status: 401, body: Data(), method: "GET", path: "/v1/sandboxes", tokenSecret: "hub-token")
        #expect(refused.message.contains("'hub-token'"))
    }

    @Test func durationsFollowTheHostsGrammar() {
        #expect(FinHubConfig.durationSeconds("30s") == 30)
        #expect(FinHubConfig.durationSeconds("1d") == 86_400)
        #expect(FinHubConfig.durationSeconds("0s") == 0)
        for bad in ["", "s", "1", "1h30m", "-1s", "1.5h", "1H", "007s"] { #expect(FinHubConfig.durationSeconds(bad) == nil, "\(bad)") }
    }
}
