import Foundation
import Glibc
import PluginKit
import Testing
@testable import Basics
@testable import HTTPServer
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Store
@testable import Backends
@testable import Lifecycle

/// Reachability through the real loader and the TestPlugin: the descriptor, ports, reveal, probes,
/// the capability check (no call when undeclared), and create-time checks that leave no row.
@Suite(.serialized) struct ReachServiceTests {
    /// A service on the TestPlugin, with `endpoints` as its answer and `secrets` as the host's.
    struct Fixture {
        let dir: String
        let clock = ManualClock(Date())
        let service: SandboxService

        static let profiles = """
            backends:
              fake:
                plugin: PLUGIN
            profiles:
              default:
                backend: fake
              ws:
                backend: fake
                network: bridge
                consumer: snuggle
                ttl: {default: 1h, max: 4h}
                reach:
                  web: {port: 8080, kind: http}
                  shell: {port: 22, kind: ssh}
            """

        init(endpoints: [JSONValue], capabilities: [String]? = nil, secrets: [String: String] = [:]) throws {
            dir = try PluginFixtures.makeTempDir()
            try FileManager.default.createDirectory(atPath: dir + "/fake", withIntermediateDirectories: true)
            var config = try ConfigLoader.parse(Self.profiles.replacingOccurrences(of: "PLUGIN", with: try PluginFixtures.testPluginPath()),
                                                file: "test.yaml", environment: ["HOME": dir], baseDirectory: dir)
            config.dataDir = dir + "/data"
            var backend: [String: JSONValue] = ["state_dir": .string(dir + "/fake"), "endpoints": .array(endpoints)]
            if let capabilities { backend["capabilities"] = .array(capabilities.map { .string($0) }) }
            config.backends["fake"]?.config = .object(backend)
            let store = try SandboxStore(path: dir + "/sandboxer.db")
            let clock = self.clock
            let context = PluginHostContext(now: { clock.now() }, secret: { secrets[$0] }, log: { _, _, _ in })
            service = SandboxService(config: config, store: store, backends: BackendRegistry(config: config, context: context),
                                     clock: clock, hostId: "host-test")
        }

        func create(_ profile: String = "ws") throws -> Sandbox {
            try service.create(CreateOptions(profile: profile)).sandbox
        }

        /// What the plugin was asked, one request per line (empty when it was never called).
        var endpointCalls: [String] {
            ((try? String(contentsOfFile: dir + "/fake/endpoints.log", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        func remove() { PluginFixtures.removeTree(dir) }
    }

    static func endpoint(_ name: String, target: Int, port: Int, kind: String = "tcp", extra: [String: JSONValue] = [:]) -> JSONValue {
        var e: [String: JSONValue] = ["name": .string(name), "kind": .string(kind), "target_port": .number(Double(target)),
                                      "host": "127.0.0.1", "port": .number(Double(port)), "tls": false, "auth": ["scheme": "none"]]
        for (k, v) in extra { e[k] = v }
        return .object(e)
    }

    /// A loopback HTTP server answering 200 to everything; returns it with its port.
    static func httpServer() throws -> (HTTPServer, Int) {
        var configuration = HTTPServerConfiguration()
        configuration.listen = .tcp(host: "127.0.0.1", port: 0)
        let server = HTTPServer(configuration: configuration, handler: { _ in HTTPResponse(status: 200, body: Data("ok".utf8)) })
        guard case .tcp(_, let port) = try server.start() else { throw PluginFixtures.Failure(description: "no tcp port") }
        return (server, port)
    }

    /// A port nothing listens on: bound, then closed.
    static func closedPort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            _ = bind(fd, $0, len); return getsockname(fd, $0, &len) } }
        close(fd)
        return Int(UInt16(bigEndian: a.sin_port))
    }

    @Test func theDescriptorNamesEndpointsAfterTheProfileAndProbesThem() throws {
        let (http, httpPort) = try Self.httpServer()
        defer { http.shutdown(); http.wait() }
        let dead = Self.closedPort()
        let f = try Fixture(endpoints: [
            Self.endpoint("direct-8080", target: 8080, port: httpPort),
            Self.endpoint("direct-22", target: 22, port: dead, extra: ["auth": ["scheme": "ssh_key", "secret_ref": "WS_KEY"], "user": "root"]),
        ])
        defer { f.remove() }
        let s = try f.create()
        let d = try f.service.endpoints(s.id)
        #expect(d.sandboxId == s.id && d.expiresAt == s.expiresAt)
        #expect(d.endpoints.map(\.endpoint.name) == ["web", "shell"])
        #expect(d.endpoints[0].endpoint.kind == .http && d.endpoints[0].endpoint.url == "http://127.0.0.1:\(httpPort)/")
        #expect(d.endpoints[1].endpoint.kind == .ssh && d.endpoints[1].secret == nil)
        #expect(d.endpoints.allSatisfy { $0.endpoint.expiresAt == RFC3339.format(s.expiresAt!) })
        // With no --port the host asked for the profile's reach ports.
        #expect(f.endpointCalls.count == 1 && f.endpointCalls[0].contains("\"ports\":[22,8080]"))

        let probed = ReachProbe.run(d, timeout: 5)
        #expect(probed.endpoints[0].probe?.reachable == true && probed.endpoints[0].probe?.status == 200)
        #expect(probed.endpoints[1].probe?.reachable == false)
        #expect(probed.endpoints[1].probe?.error?.contains("127.0.0.1:\(dead)") == true)
        let schema = try ReachDescriptorTests.committedSchema()
        #expect(SchemaValidator(document: schema).validate(probed.jsonValue, schema).isEmpty)
    }

    @Test func portsFilterAndAnUnknownPortIsNotFound() throws {
        let f = try Fixture(endpoints: [Self.endpoint("a", target: 8080, port: 1000), Self.endpoint("b", target: 22, port: 1001)])
        defer { f.remove() }
        let s = try f.create()
        #expect(try f.service.endpoints(s.id, ports: [22]).endpoints.map(\.endpoint.name) == ["shell"])
        #expect(throws: SandboxerError(.notFound, "Sandbox \(s.id) exposes no endpoint for port 9999 (backend fake answered for no ports).")) {
            try f.service.endpoints(s.id, ports: [9999])
        }
        #expect(throws: SandboxerError(.usage, "The port 0 is outside 1–65535.")) { try f.service.endpoints(s.id, ports: [0]) }
    }

    @Test func secretsAreReferencesUnlessRevealed() throws {
        let secret: JSONValue = ["scheme": "header", "name": "x-token", "secret_ref": "WS_TOKEN"]
        let f = try Fixture(endpoints: [Self.endpoint("w", target: 8080, port: 1000, kind: "http", extra: ["auth": secret])],
                            secrets: ["WS_TOKEN": "t0ps3cret"])
        defer { f.remove() }
        let s = try f.create()
        let plain = try f.service.endpoints(s.id)
        #expect(!plain.jsonValue.rendered().contains("t0ps3cret"))
        #expect(plain.endpoints[0].endpoint.auth.secretRef == "WS_TOKEN")
        let revealed = try f.service.endpoints(s.id, reveal: true)
        #expect(revealed.endpoints[0].secret == "t0ps3cret")
        #expect(revealed.jsonValue["endpoints"]?.arrayValue?.first?["auth"]?["secret"] == "t0ps3cret")
    }

    @Test func aSecretTheHostLacksIsOneClearError() throws {
        let auth: JSONValue = ["scheme": "bearer", "secret_ref": "MISSING"]
        let f = try Fixture(endpoints: [Self.endpoint("w", target: 8080, port: 1000, extra: ["auth": auth])])
        defer { f.remove() }
        let s = try f.create()
        #expect(throws: SandboxerError(.config, "The secret \"MISSING\" of endpoint \"web\" is not set on this host (SANDBOXER_SECRET_MISSING).")) {
            try f.service.endpoints(s.id, reveal: true)
        }
    }

    @Test func onlyReadyOrActiveSandboxesCanBeReached() throws {
        let f = try Fixture(endpoints: [Self.endpoint("a", target: 8080, port: 1000)])
        defer { f.remove() }
        let s = try f.create()
        _ = try f.service.destroy(s.id)
        #expect(throws: SandboxerError(.conflict, "Sandbox \(s.id) is destroyed; only ready or active sandboxes can be reached.")) {
            try f.service.endpoints(s.id)
        }
        #expect(throws: SandboxerError.self) { try f.service.endpoints("sbx-00000000000000ff") }
        #expect(f.endpointCalls.isEmpty)
    }

    @Test func aBackendWithoutTheCapabilityIsNeverAsked() throws {
        let f = try Fixture(endpoints: [Self.endpoint("a", target: 8080, port: 1000)],
                            capabilities: [Capability.lifecycle, Capability.exec, Capability.inventory, Capability.timeout])
        defer { f.remove() }
        let s = try f.create("default")
        #expect(throws: SandboxerError(.backend, "Backend fake does not declare sandboxer.reach/1, so it cannot tell how to reach a sandbox's ports.")) {
            try f.service.endpoints(s.id)
        }
        // Below the service too: the typed call refuses before invoking the plugin.
        let backend = try #require(try f.service.backends.backend(named: "fake") as? Backend)
        #expect(throws: BackendError.self) {
            try backend.endpoints(EndpointsRequest(sandboxId: s.id, backendRef: s.backendRef ?? ""), timeout: 5)
        }
        #expect(f.endpointCalls.isEmpty)
    }

    @Test func aReachProfileOnABackendWithoutTheCapabilityFailsAtCreateWithNoRow() throws {
        let f = try Fixture(endpoints: [], capabilities: [Capability.lifecycle, Capability.exec])
        defer { f.remove() }
        #expect(throws: SandboxerError(.invalidArgument, "Profile 'ws' declares reach shell (ssh 22), web (http 8080), but its backend fake does not declare sandboxer.reach/1, so no sandbox made from it could be reached.")) {
            try f.create("ws")
        }
        #expect(try f.service.list(SandboxFilter()).isEmpty)
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: f.dir + "/fake")) ?? []).isEmpty)
    }

    @Test func aPluginAnswerThatBreaksTheContractIsRefused() throws {
        let f = try Fixture(endpoints: [Self.endpoint("a", target: 8080, port: 0)])
        defer { f.remove() }
        let s = try f.create()
        do {
            _ = try f.service.endpoints(s.id)
            Issue.record("a port 0 endpoint was accepted")
        } catch {
            #expect(error.code == .backend)
            #expect(error.message.contains("breaks the contract") && error.message.contains("outside 1–65535"))
        }
    }

    @Test func aSandboxWithoutANetworkIsRefusedByTheHostWithoutAskingTheBackend() throws {
        let f = try Fixture(endpoints: [Self.endpoint("a", target: 8080, port: 1000)])
        defer { f.remove() }
        let s = try f.create("default")
        do {
            _ = try f.service.endpoints(s.id, ports: [8080])
            Issue.record("a network: none sandbox gave endpoints")
        } catch {
            // The host knows the profile's network: a 422, never a backend failure (a 502 to clients).
            #expect(error.code == .invalidArgument)
            #expect(error.message.hasSuffix("says network: none), so nothing in it can be reached."))
        }
    }

    @Test func consumersCreateOnlyFromProfilesOpenToThem() throws {
        let f = try Fixture(endpoints: [])
        defer { f.remove() }
        #expect(throws: SandboxerError(.notFound, "No profile named 'ws' is open to consumer 'glas-harness' (open to it: none).")) {
            try f.service.create(CreateOptions(profile: "ws", owner: "glas-harness", consumer: "glas-harness"))
        }
        #expect(throws: SandboxerError.self) {
            try f.service.create(CreateOptions(owner: "snuggle", consumer: "snuggle"))  // "default" has no consumer: operators only
        }
        #expect(try f.service.list(SandboxFilter()).isEmpty)
        #expect(try f.service.create(CreateOptions(profile: "ws", owner: "snuggle", consumer: "snuggle")).sandbox.profile == "ws")
        #expect(f.service.visibleProfiles(to: "snuggle").map(\.name) == ["ws"])
        #expect(f.service.visibleProfiles(to: nil).map(\.name) == ["default", "ws"])
    }
}
