import Foundation
import Testing
@testable import PluginProtocol
@testable import Core
@testable import Config

/// docs/examples/*.yaml load as they are committed, and say what their consumers need.
@Suite struct ExampleProfilesTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/examples").path

    static func load(_ name: String) throws -> Config {
        try ConfigLoader.load(explicitPath: examples + "/" + name, environment: ["HOME": "/home/op"], executableDirectory: "/nonexistent")
    }

    @Test func theTestHarnessIsShortLivedExecOnlyAndReapedWhenIdle() throws {
        let config = try Self.load("glas-harness.yaml")
        let p = try #require(config.profiles["glas-harness"])
        #expect(p.consumer == "glas-harness" && p.isOpen(to: "glas-harness") && !p.isOpen(to: "snuggle"))
        #expect(p.network == "none" && p.reach.isEmpty && p.networkOptions == nil)
        #expect(p.ttl.defaultTTL.seconds == 20 * 60 && p.ttl.max.seconds == 2 * 3600 && p.ttl.idleReap?.seconds == 10 * 60)
        #expect(p.onExpire == .destroy)
        #expect(config.backends["localvm"]?.plugin == Self.examples + "/libSandboxerLocalVM.so")
    }

    @Test func theWorkspaceIsReachableLongLivedAndSnapshottedOnExpiry() throws {
        let config = try Self.load("snuggle.yaml")
        let p = try #require(config.profiles["snuggle"])
        #expect(p.consumer == "snuggle" && p.network == "bridge")
        #expect(p.reach == [ReachPort(name: "shell", port: 22, kind: .ssh), ReachPort(name: "web", port: 8080, kind: .http)])
        #expect(p.ttl.defaultTTL.seconds == 8 * 3600 && p.ttl.max.seconds == 7 * 86400 && p.ttl.idleReap?.seconds == 2 * 3600)
        #expect(p.onExpire == .snapshot && p.snapshots.keep == 3)
        let preview = try #require(config.profiles["snuggle-preview"])
        #expect(preview.extends == "snuggle" && preview.reach == p.reach && preview.consumer == "snuggle")
        #expect(preview.ttl.max.seconds == 4 * 3600 && preview.ttl.idleReap == p.ttl.idleReap && preview.onExpire == .destroy)
        #expect(preview.labels == ["consumer": "snuggle", "purpose": "preview"])
    }
}
