import Testing
@testable import Basics
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Backends

/// A backend entry's host-side keys: `timeouts:` (per-operation call deadlines) and `max_response`.
@Suite struct BackendCallConfigTests {
    static func parse(_ backendLines: String) throws(ConfigError) -> BackendConfig? {
        let text = """
            backends:
              vm:
                plugin: /lib/vm.so
            \(backendLines)
            profiles:
              default: {backend: vm}
            """
        return try ConfigLoader.parse(text, file: "config.yaml", environment: ["HOME": "/home/op"], baseDirectory: "/etc").backends["vm"]
    }

    static func failure(_ backendLines: String) -> String {
        do {
            _ = try parse(backendLines)
            return "no error"
        } catch {
            return "\(error.code): \(error)"
        }
    }

    @Test func timeoutsAndMaxResponseAreRead() throws {
        let backend = try #require(try Self.parse("""
                timeouts: {default: 300s, create: 10m, exec: 1h, delete_snapshot: 2m}
                max_response: 64M
            """))
        #expect(backend.timeouts == ["default": TTLDuration(seconds: 300), "create": TTLDuration(seconds: 600),
                                     "exec": TTLDuration(seconds: 3600), "delete_snapshot": TTLDuration(seconds: 120)])
        #expect(backend.maxResponseBytes == 64 << 20)
        #expect(BackendDeadlines(backend).seconds == ["default": 300, "create": 600, "exec": 3600, "delete_snapshot": 120])
        // The plugin's own config does not see them.
        #expect(backend.config == .object([:]))
    }

    @Test func absentMeansTheHostsDefaults() throws {
        let backend = try #require(try Self.parse(""))
        #expect(backend.timeouts.isEmpty)
        #expect(backend.maxResponseBytes == nil)
    }

    @Test(arguments: [
        ("    timeouts: {creat: 10m}",
         "unknownKey: config.yaml:4:16: Unknown key \"creat\" in the timeouts of backend \"vm\" (did you mean \"create\"?); allowed keys are default, describe, create, status, destroy, inventory, exec, set_timeout, snapshot, restore, delete_snapshot, build."),
        ("    timeouts: {create: 10}",
         "invalidDuration: config.yaml:4:24: Invalid duration \"10\": expected a positive whole number followed by s, m, h or d (for example 30m, 4h, 1d)."),
        ("    timeouts: 5m",
         "invalidValue: config.yaml:4:15: Expected a mapping for \"timeouts\" in backend \"vm\", found the value \"5m\"."),
        ("    max_response: 100",
         "invalidValue: config.yaml:4:19: Invalid max_response \"100\" in backend \"vm\": expected a size from 1K to 1G, as bytes or with a suffix K, M or G (for example 64M)."),
        ("    max_response: 2G",
         "invalidValue: config.yaml:4:19: Invalid max_response \"2G\" in backend \"vm\": expected a size from 1K to 1G, as bytes or with a suffix K, M or G (for example 64M)."),
        ("    timout: {create: 1m}",
         "unknownKey: config.yaml:4:5: Unknown key \"timout\" in backend \"vm\" (did you mean \"timeouts\"?); allowed keys are plugin, timeouts, max_response, config, isolation."),
    ])
    func mistakesAreLocatedOneLineErrors(_ lines: String, _ expected: String) {
        #expect(Self.failure(lines) == expected)
    }
}
