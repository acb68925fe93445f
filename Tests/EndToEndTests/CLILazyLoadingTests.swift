import Foundation
import Testing

/// What a CLI command loads: only the backend it needs, and never libcurl at start.
@Suite struct CLILazyLoadingTests {
    /// The fake backend, plus a second backend whose plugin cannot load (the file does not exist):
    /// every command on the fake backend must work without ever trying to load the other one.
    func runnerWithABrokenSecondBackend() throws -> CLIRunner {
        var cli = try CLIRunner()
        try FileManager.default.createDirectory(atPath: cli.home + "/fake", withIntermediateDirectories: true)
        try cli.useConfig("""
            data_dir: @HOME@/data
            backends:
              fake:
                plugin: @PRODUCTS@/libSandboxerTestPlugin.so
                config:
                  state_dir: @HOME@/fake
              broken:
                plugin: @HOME@/no-such-plugin.so
            profiles:
              default:
                backend: fake
                ttl: {default: 1h, max: 4h}
              other:
                backend: broken
                ttl: {default: 1h, max: 4h}
            """)
        return cli
    }

    @Test func aCommandForOneBackendNeverLoadsAnother() throws {
        let cli = try runnerWithABrokenSecondBackend()
        let created = try cli.run(["create", "--json"])
        #expect(created.status == 0, "\(created.stderr)")
        let id = try #require(try created.object()["id"] as? String)
        for args in [["list"], ["show", id], ["exec", id, "--", "true"], ["extend-ttl", id, "--duration", "1h"], ["destroy", id]] {
            let r = try cli.run(args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
            #expect(!r.stderr.contains("no-such-plugin"), "\(args) touched the broken backend: \(r.stderr)")
        }
        // The broken backend is only loaded when asked for: then it fails, naming its file.
        let other = try cli.run(["create", "--profile", "other"])
        #expect(other.status != 0)
        #expect(other.stderr.contains("no-such-plugin.so"), "\(other.stderr)")
    }

    @Test func theExecutableDoesNotLinkLibcurl() throws {
        // LD_TRACE_LOADED_OBJECTS makes the dynamic loader list what it maps at start and exit (what
        // ldd prints), without running the program.
        let cli = try CLIRunner()
        let r = try cli.run(["version"], extraEnv: ["LD_TRACE_LOADED_OBJECTS": "1"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("libswiftCore"), "the loader listed nothing: \(r.stdout)")
        #expect(!r.stdout.contains("libcurl"), "\(r.stdout)")
    }
}
