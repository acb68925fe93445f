import Foundation
import Glibc
import Testing

/// `reach`, `reach --probe` and `port-forward` through the built binary, on the TestPlugin whose
/// endpoints point at loopback services this test starts; and the bad inputs: one clear line, a
/// non-zero exit, no row, nothing left listening.
@Suite(.serialized) struct ReachEndToEndTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/Reach").path
    static let python = "/usr/bin/python3"
    static var hasPython: Bool { FileManager.default.isExecutableFile(atPath: python) }

    /// A CLI whose `fake` backend answers endpoints for: 8080 (http → `http`), 5432 (tcp → `echo`),
    /// 6000 (via proxy_command → `echo`), 7000 (via local_forward → `echo`), 9443 (header auth).
    static func runner(http: Int, echo: Int, capabilities: String = "") throws -> CLIRunner {
        var cli = try CLIRunner()
        try FileManager.default.createDirectory(atPath: cli.home + "/fake", withIntermediateDirectories: true)
        try cli.useConfig("""
            data_dir: @HOME@/data
            backends:
              fake:
                plugin: @PRODUCTS@/libSandboxerTestPlugin.so
                config:
                  state_dir: @HOME@/fake
            \(capabilities)
                  endpoints:
            \(endpoint("direct-8080", target: 8080, port: http))
            \(endpoint("direct-5432", target: 5432, port: echo))
            \(endpoint("proxied", target: 6000, port: echo))
                      via:
                        proxy_command: [\(python), \(fixtures)/relay.py, 127.0.0.1, "\(echo)"]
            \(endpoint("forwarded", target: 7000, port: echo))
                      via:
                        local_forward: [\(python), \(fixtures)/local_forward.py, "{local_port}", 127.0.0.1, "\(echo)"]
            \(endpoint("gated", target: 9443, port: echo, kind: "https", auth: "{scheme: header, name: x-gate, secret_ref: GATE}"))
            profiles:
              default:
                backend: fake
              ws:
                backend: fake
                network: bridge
                ttl: {default: 1h, max: 4h}
                reach:
                  web: {port: 8080, kind: http}
                  db: {port: 5432, kind: tcp}
            """)
        return cli
    }

    /// One endpoint of the backend config, in the block style the config's YAML subset wants.
    static func endpoint(_ name: String, target: Int, port: Int, kind: String = "tcp", auth: String = "{scheme: none}") -> String {
        """
                - name: \(name)
                  kind: \(kind)
                  target_port: \(target)
                  host: 127.0.0.1
                  port: \(port)
                  tls: \(kind == "https")
                  auth: \(auth)
        """
    }

    func create(_ cli: CLIRunner, profile: String = "ws") throws -> String {
        let created = try cli.run(["create", "--profile", profile, "--json"])
        try #require(created.status == 0, "create failed: \(created.stderr)")
        return try #require(try created.object()["id"] as? String)
    }

    @Test func reachPrintsTheDescriptorAndProbeReportsEachEndpoint() throws {
        let http = try LoopbackServer(.http), echo = try LoopbackServer(.echo)
        defer { http.stop(); echo.stop() }
        let cli = try Self.runner(http: http.port, echo: echo.port)
        let id = try create(cli)

        let reach = try cli.run(["reach", id, "--json"])
        #expect(reach.status == 0, "\(reach.stderr)")
        let d = try reach.object()
        #expect(d["schema"] as? String == "sandboxer.reach/v1")
        #expect(d["sandbox_id"] as? String == id)
        let endpoints = try #require(d["endpoints"] as? [[String: Any]])
        #expect(endpoints.compactMap { $0["name"] as? String } == ["web", "db"])
        #expect(endpoints.first?["url"] as? String == "http://127.0.0.1:\(http.port)/")
        #expect(endpoints.allSatisfy { $0["expires_at"] as? String == d["expires_at"] as? String })

        let probed = try cli.run(["reach", id, "--probe", "--json"])
        #expect(probed.status == 0, "\(probed.stderr)")
        let probes = try #require(try probed.object()["endpoints"] as? [[String: Any]]).compactMap { $0["probe"] as? [String: Any] }
        #expect(probes.count == 2)
        #expect(probes.allSatisfy { $0["reachable"] as? Bool == true && ($0["latency_ms"] as? Double).map { $0 >= 0 } == true })
        #expect(probes.first?["status"] as? Int == 200)

        let table = try cli.run(["reach", id, "--port", "8080", "--probe"])
        #expect(table.status == 0)
        #expect(table.stdout.contains("web") && table.stdout.contains("http://127.0.0.1:\(http.port)/") && !table.stdout.contains(" db "))

        http.stop()
        let down = try cli.run(["reach", id, "--probe"])
        #expect(down.status == 1)
        #expect(down.stderr.hasPrefix("sandboxer: endpoint web is unreachable:"), "\(down.stderr)")
        #expect(down.stderr.split(separator: "\n").count == 1 && down.stderr.hasSuffix(".\n") && !down.stderr.contains("..\n"))
    }

    @Test func portForwardCarriesBothWaysAndStopsCleanlyOnSIGTERM() throws {
        let http = try LoopbackServer(.http), echo = try LoopbackServer(.echo)
        defer { http.stop(); echo.stop() }
        let cli = try Self.runner(http: http.port, echo: echo.port)
        let id = try create(cli)
        let forward = try cli.start(["port-forward", id, "0:5432", "--json"])
        let ready = try #require(forward.readLine(), "port-forward printed no ready line")
        let line = try #require(try JSONSerialization.jsonObject(with: Data(ready.utf8)) as? [String: Any])
        let port = try #require(line["local_port"] as? Int)
        #expect(line["sandbox_id"] as? String == id && line["remote_port"] as? Int == 5432 && line["endpoint"] as? String == "db")

        #expect(try Loopback.exchange(port, "hello through the sandbox\n") == "hello through the sandbox\n")
        let big = String(repeating: "0123456789abcdef", count: 64 << 10)  // 1 MiB, both ways
        #expect(try Loopback.exchange(port, big) == big)
        #expect(echo.connections == 2)

        forward.signal(SIGTERM)
        let result = try forward.finish()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!Loopback.isListening(port), "port-forward left 127.0.0.1:\(port) listening")
    }

    @Test func portForwardStopsWhenTheSandboxEnds() throws {
        let http = try LoopbackServer(.http), echo = try LoopbackServer(.echo)
        defer { http.stop(); echo.stop() }
        let cli = try Self.runner(http: http.port, echo: echo.port)
        let id = try create(cli)
        let forward = try cli.start(["port-forward", id, "5432"])
        let ready = try #require(forward.readLine())
        #expect(ready.hasPrefix("Forwarding 127.0.0.1:") && ready.contains("to sandbox \(id) port 5432"))
        let port = try #require(Int(ready.dropFirst("Forwarding 127.0.0.1:".count).prefix { $0.isNumber }))
        // An open connection across the destroy is closed on both sides.
        let open = try #require(Loopback.connect(port))
        defer { close(open) }
        #expect(try cli.run(["destroy", id]).status == 0)
        let result = try forward.finish()
        #expect(result.status == 1)
        #expect(result.stderr == "sandboxer: Sandbox \(id) is now destroyed; port-forward stopped.\n")
        #expect(!Loopback.isListening(port))
        var byte: UInt8 = 0
        #expect(read(open, &byte, 1) <= 0, "the client side of an open connection was not closed")
    }

    @Test(.enabled(if: hasPython, "needs /usr/bin/python3 for the via commands"))
    func portForwardRunsAViaProxyCommandPerConnection() throws {
        let http = try LoopbackServer(.http), echo = try LoopbackServer(.echo)
        defer { http.stop(); echo.stop() }
        let cli = try Self.runner(http: http.port, echo: echo.port)
        let id = try create(cli)
        let forward = try cli.start(["port-forward", id, "0:6000", "--json"])
        let ready = try #require(forward.readLine())
        let port = try #require((try JSONSerialization.jsonObject(with: Data(ready.utf8)) as? [String: Any])?["local_port"] as? Int)
        #expect(try Loopback.exchange(port, "via a proxy command\n") == "via a proxy command\n")
        #expect(try Loopback.exchange(port, "and again\n") == "and again\n")
        forward.signal(SIGINT)
        #expect(try forward.finish().status == 0)
        #expect(!Loopback.isListening(port))
    }

    @Test(.enabled(if: hasPython, "needs /usr/bin/python3 for the via commands"))
    func portForwardSupervisesAViaLocalForward() throws {
        let http = try LoopbackServer(.http), echo = try LoopbackServer(.echo)
        defer { http.stop(); echo.stop() }
        let cli = try Self.runner(http: http.port, echo: echo.port)
        let id = try create(cli)
        let local = Loopback.freePort()
        let forward = try cli.start(["port-forward", id, "\(local):7000"])
        let ready = try #require(forward.readLine(), "no ready line")
        #expect(ready.hasPrefix("Forwarding 127.0.0.1:\(local) "))
        #expect(try Loopback.exchange(local, "through local_forward\n") == "through local_forward\n")
        forward.signal(SIGTERM)
        #expect(try forward.finish().status == 0)
        #expect(!Loopback.isListening(local), "the local_forward command was left running")
    }

    // MARK: Bad input: one clear line, non-zero exit, no row, nothing listening

    @Test func badInputIsOneLineAndLeavesNothing() throws {
        let http = try LoopbackServer(.http), echo = try LoopbackServer(.echo)
        defer { http.stop(); echo.stop() }
        let cli = try Self.runner(http: http.port, echo: echo.port)
        let id = try create(cli)
        func oneLine(_ r: CLIRunner.Result, status: Int32, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(r.status == status, sourceLocation: sourceLocation)
            #expect(r.stderr == "sandboxer: \(text)\n", sourceLocation: sourceLocation)
            #expect(r.stdout.isEmpty, sourceLocation: sourceLocation)
        }
        oneLine(try cli.run(["reach", id, "--port", "9999"]), status: 1,
                "Sandbox \(id) exposes no endpoint for port 9999 (backend fake answered for no ports).")
        oneLine(try cli.run(["reach", id, "--port", "0"]), status: 2,
                "The option '--port' takes a port number from 1 to 65535, got '0'. See 'sandboxer reach --help'.")

        let local = Loopback.freePort()
        oneLine(try cli.run(["port-forward", id, "\(local):9999"]), status: 1,
                "Sandbox \(id) exposes no endpoint for port 9999 (backend fake answered for no ports).")
        #expect(!Loopback.isListening(local))
        oneLine(try cli.run(["port-forward", id, "\(local):9443"]), status: 2,
                "Port 9443 of sandbox \(id) is reached with header (x-gate) authentication, which plain TCP forwarding cannot add; use the endpoint's url with it (sandboxer reach \(id) --port 9443 --reveal).")
        oneLine(try cli.run(["port-forward", id, "http"]), status: 2,
                "Expected [LOCAL:]REMOTE with ports (LOCAL 0 to 65535, REMOTE 1 to 65535), got 'http'. See 'sandboxer port-forward --help'.")

        #expect(try cli.run(["destroy", id]).status == 0)
        oneLine(try cli.run(["port-forward", id, "\(local):5432"]), status: 1,
                "Sandbox \(id) is destroyed; only ready or active sandboxes can be reached.")
        #expect(!Loopback.isListening(local))
        oneLine(try cli.run(["reach", id]), status: 1, "Sandbox \(id) is destroyed; only ready or active sandboxes can be reached.")
        #expect(echo.connections == 0)
    }

    @Test func aBackendWithoutReachRefusesReachAndReachProfiles() throws {
        let http = try LoopbackServer(.http), echo = try LoopbackServer(.echo)
        defer { http.stop(); echo.stop() }
        let cli = try Self.runner(http: http.port, echo: echo.port,
                                  capabilities: "      capabilities: [sandboxer.lifecycle/1, sandboxer.exec/1, sandboxer.inventory/1]")
        let created = try cli.run(["create", "--profile", "ws"])
        #expect(created.status == 2)
        #expect(created.stderr == "sandboxer: Profile 'ws' declares reach db (tcp 5432), web (http 8080), but its backend fake does not declare sandboxer.reach/1, so no sandbox made from it could be reached.\n")
        #expect(try cli.run(["list", "--json"]).array().isEmpty, "a refused create left a row")

        let id = try create(cli, profile: "default")
        let reach = try cli.run(["reach", id])
        #expect(reach.status == 3)  // the backend cannot serve it (docs: exit 3)
        #expect(reach.stderr == "sandboxer: Backend fake does not declare sandboxer.reach/1, so it cannot tell how to reach a sandbox's ports.\n")
        #expect(!FileManager.default.fileExists(atPath: cli.home + "/fake/endpoints.log"), "the plugin was called anyway")
    }

    @Test func aReachProfileWithoutANetworkFailsAtLoad() throws {
        var cli = try CLIRunner()
        try cli.useConfig("""
            backends:
              fake:
                plugin: @PRODUCTS@/libSandboxerTestPlugin.so
            profiles:
              default:
                backend: fake
                reach:
                  web: {port: 8080, kind: http}
            """)
        let r = try cli.run(["profiles"])
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("sandboxer: \(cli.home)/sandboxer.yaml:8:7: The profile \"default\" declares reach (web) but its network is none"))
        #expect(r.stderr.split(separator: "\n").count == 1)
    }
}
