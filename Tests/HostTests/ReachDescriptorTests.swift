import Foundation
import PluginKit
import Testing
@testable import Basics
@testable import PluginProtocol
@testable import Core
@testable import Backends
@testable import API

/// The descriptor as a value: naming from the profile's reach, kinds, URLs, deadlines, JSON, and
/// the committed JSON Schema (docs/schemas/reach-v1.schema.json) against the OpenAPI component.
@Suite struct ReachDescriptorTests {
    static let ready = Date(timeIntervalSince1970: 1_700_000_000)

    func sandbox(expiresIn seconds: Double = 3600) -> Sandbox {
        Sandbox(id: "sbx-0123456789abcdef", profile: "ws", backend: "fake", state: .ready, ttlSeconds: Int64(seconds),
                maxTTLSeconds: 86400, idleReapSeconds: nil, createdAt: Self.ready, readyAt: Self.ready, updatedAt: Self.ready,
                expiresAt: Self.ready.addingTimeInterval(seconds), labels: [:], backendRef: "ref", reason: nil,
                idempotencyKey: nil, request: CreateIntent(storedJSON: "{}"), hostId: "h")
    }

    @Test func reachNamesKindsAndURLsComeFromTheProfile() {
        let reach = [ReachPort(name: "web", port: 8080, kind: .http), ReachPort(name: "secure", port: 8443, kind: .https),
                     ReachPort(name: "shell", port: 22, kind: .ssh)]
        let d = ReachDescriptor.build(sandbox: sandbox(), reach: reach, endpoints: [
            Endpoint(name: "direct-8080", kind: .tcp, targetPort: 8080, host: "10.231.0.2", port: 8080),
            Endpoint(name: "published-41000", kind: .tcp, targetPort: 8080, host: "127.0.0.1", port: 41000),
            Endpoint(name: "direct-8443", kind: .tcp, targetPort: 8443, host: "fd00::2", port: 8443),
            Endpoint(name: "direct-22", kind: .tcp, targetPort: 22, host: "10.231.0.2", port: 22),
            Endpoint(name: "other", kind: .tcp, targetPort: 9000, host: "10.231.0.2", port: 9000),
        ])
        let byName = Dictionary(uniqueKeysWithValues: d.endpoints.map { ($0.endpoint.name, $0.endpoint) })
        #expect(d.endpoints.map(\.endpoint.name) == ["web", "web-published-41000", "secure", "shell", "other"])
        #expect(byName["web"]?.kind == .http && byName["web"]?.url == "http://10.231.0.2:8080/" && byName["web"]?.tls == false)
        #expect(byName["web-published-41000"]?.url == "http://127.0.0.1:41000/")
        #expect(byName["secure"]?.kind == .https && byName["secure"]?.tls == true && byName["secure"]?.url == "https://[fd00::2]:8443/")
        #expect(byName["shell"]?.kind == .ssh && byName["shell"]?.url == nil)
        #expect(byName["other"]?.kind == .tcp)
    }

    @Test func aBackendsOwnKindAndURLWin() {
        let d = ReachDescriptor.build(sandbox: sandbox(), reach: [ReachPort(name: "web", port: 3000, kind: .http)], endpoints: [
            Endpoint(name: "e2b", kind: .https, targetPort: 3000, host: "3000-abc.e2b.app", port: 443, url: "https://3000-abc.e2b.app",
                     tls: true, auth: EndpointAuth(scheme: .header, name: "e2b-traffic-access-token", secretRef: "E2B_TRAFFIC")),
        ])
        #expect(d.endpoints[0].endpoint.name == "web")
        #expect(d.endpoints[0].endpoint.kind == .https)
        #expect(d.endpoints[0].endpoint.url == "https://3000-abc.e2b.app")
    }

    @Test func namesStayUniqueWhateverTheBackendSays() {
        let d = ReachDescriptor.build(sandbox: sandbox(), reach: [ReachPort(name: "a", port: 1, kind: .tcp)], endpoints: [
            Endpoint(name: "x", kind: .tcp, targetPort: 1, host: "h", port: 1),
            Endpoint(name: "a", kind: .tcp, targetPort: 2, host: "h", port: 2),
            Endpoint(name: "a", kind: .tcp, targetPort: 3, host: "h", port: 3),
        ])
        #expect(d.endpoints.map(\.endpoint.name) == ["a", "a-2", "a-3"])
    }

    @Test func anEndpointNeverOutlivesItsSandbox() {
        let s = sandbox(expiresIn: 3600)
        let early = RFC3339.format(Self.ready.addingTimeInterval(600))
        let late = RFC3339.format(Self.ready.addingTimeInterval(7200))
        let d = ReachDescriptor.build(sandbox: s, reach: [], endpoints: [
            Endpoint(name: "signed", kind: .https, targetPort: 1, host: "h", port: 443, tls: true, expiresAt: early),
            Endpoint(name: "long", kind: .https, targetPort: 2, host: "h", port: 443, tls: true, expiresAt: late),
            Endpoint(name: "plain", kind: .tcp, targetPort: 3, host: "h", port: 3),
        ])
        let deadline = RFC3339.format(s.expiresAt!)
        #expect(d.endpoints.map { $0.endpoint.expiresAt } == [early, deadline, deadline])
        #expect(d.jsonValue["expires_at"] == .string(deadline))
    }

    @Test func jsonLeavesOutWhatIsUnsetAndShowsASecretOnlyWhenRevealed() {
        var d = ReachDescriptor.build(sandbox: sandbox(), reach: [], endpoints: [
            Endpoint(name: "db", kind: .tcp, targetPort: 5432, host: "r5.modal.host", port: 41234,
                     auth: EndpointAuth(scheme: .bearer, secretRef: "MODAL_CONNECT")),
        ])
        var e = d.jsonValue["endpoints"]?.arrayValue?.first
        #expect(e?["url"] == nil && e?["via"] == nil && e?["probe"] == nil && e?["user"] == nil)
        #expect(e?["auth"] == .object(["scheme": "bearer", "secret_ref": "MODAL_CONNECT"]))
        d.endpoints[0].secret = "s3cr3t"
        d.endpoints[0].probe = ReachProbeResult(reachable: true, latencyMs: 1.23456)
        e = d.jsonValue["endpoints"]?.arrayValue?.first
        #expect(e?["auth"]?["secret"] == "s3cr3t")
        #expect(e?["probe"] == .object(["reachable": true, "latency_ms": .number(1.235)]))
        #expect(d.jsonValue["schema"] == "sandboxer.reach/v1")
    }

    // MARK: The schema

    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func committedSchema() throws -> JSONValue {
        let data = try Data(contentsOf: repo.appendingPathComponent("docs/schemas/reach-v1.schema.json"))
        return try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// Every shape the descriptor takes: all optional fields set, none set, revealed, probed, via.
    static func samples() -> [ReachDescriptor] {
        let s = ReachDescriptorTests().sandbox()
        var full = ReachDescriptor.build(sandbox: s, reach: [ReachPort(name: "web", port: 3000, kind: .http)], endpoints: [
            Endpoint(name: "web", kind: .https, targetPort: 3000, host: "3000-abc.e2b.app", port: 443, url: "https://3000-abc.e2b.app",
                     tls: true, auth: EndpointAuth(scheme: .header, name: "e2b-traffic-access-token", secretRef: "E2B"),
                     expiresAt: RFC3339.format(ready.addingTimeInterval(60))),
            Endpoint(name: "shell", kind: .ssh, targetPort: 22, host: "coder.internal", port: 22,
                     auth: EndpointAuth(scheme: .sshKey, secretRef: "CODER_KEY"),
                     via: EndpointVia(proxyCommand: ["coder", "ssh", "--stdio", "ws"], localForward: ["coder", "port-forward", "ws", "--tcp", "{local_port}:22"]),
                     user: "coder", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA"),
        ])
        full.endpoints[0].secret = "revealed"
        full.endpoints[0].probe = ReachProbeResult(reachable: true, latencyMs: 2.5, status: 401)
        full.endpoints[1].probe = ReachProbeResult(reachable: false, error: "refused.")
        let bare = ReachDescriptor.build(sandbox: s, reach: [], endpoints: [])
        return [full, bare]
    }

    @Test func producedDescriptorsValidateAgainstTheCommittedSchemaAndTheOpenAPIComponent() throws {
        let file = SchemaValidator(document: try Self.committedSchema())
        let openAPI = SchemaValidator(document: try OpenAPIDocument.json())
        let component: JSONValue = ["$ref": "#/components/schemas/ReachDescriptor"]
        let schema = try Self.committedSchema()
        for d in Self.samples() {
            let fileProblems = file.validate(d.jsonValue, schema)
            let openAPIProblems = openAPI.validate(d.jsonValue, component)
            #expect(fileProblems.isEmpty, "\(fileProblems)")
            #expect(openAPIProblems.isEmpty, "\(openAPIProblems)")
        }
    }

    @Test func theSchemaRefusesWhatBreaksIt() throws {
        let schema = try Self.committedSchema()
        let v = SchemaValidator(document: schema)
        let good = Self.samples()[0].jsonValue
        guard case .object(var root) = good, case .array(var endpoints) = root["endpoints"], case .object(var first) = endpoints[0] else {
            Issue.record("sample is not an object"); return
        }
        first.removeValue(forKey: "host")
        endpoints[0] = .object(first)
        root["endpoints"] = .array(endpoints)
        #expect(!v.validate(.object(root), schema).isEmpty)
        first["host"] = "h"
        first["kind"] = "udp"
        endpoints[0] = .object(first)
        root["endpoints"] = .array(endpoints)
        #expect(!v.validate(.object(root), schema).isEmpty)
        root["extra"] = 1
        #expect(!v.validate(.object(root), schema).isEmpty)
    }

    /// docs/schemas/reach-v1.schema.json and the OpenAPI component describe the same document.
    @Test func theCommittedSchemaIsTheOpenAPIComponent() throws {
        let file = try Self.committedSchema()
        let components = try #require(try OpenAPIDocument.json()["components"]?["schemas"])
        func fromOpenAPI(_ v: JSONValue) -> JSONValue {
            switch v {
            case .object(let o):
                var out: [String: JSONValue] = [:]
                for (k, x) in o {
                    if k == "$ref", let ref = x.stringValue { out[k] = .string(ref.replacingOccurrences(of: "#/components/schemas/", with: "#/$defs/")) }
                    else { out[k] = fromOpenAPI(x) }
                }
                return .object(out)
            case .array(let a): return .array(a.map(fromOpenAPI))
            default: return v
            }
        }
        func stripped(_ v: JSONValue, dropping keys: Set<String>) -> JSONValue {
            guard case .object(var o) = v else { return v }
            for k in keys { o.removeValue(forKey: k) }
            return .object(o)
        }
        let root = stripped(file, dropping: ["$schema", "title", "description", "$defs"])
        #expect(root == stripped(fromOpenAPI(try #require(components["ReachDescriptor"])), dropping: ["description"]))
        let defs = try #require(file["$defs"]?.objectValue)
        #expect(Set(defs.keys) == ["ReachEndpoint", "ReachAuth", "ReachVia", "ReachProbe"])
        for (name, def) in defs {
            #expect(def == fromOpenAPI(try #require(components[name])), "$defs.\(name) differs from components.schemas.\(name)")
        }
    }

    // MARK: The contract's bounds on a backend's answer

    @Test func endpointRulesRefuseWhatBreaksTheContract() {
        func problem(_ e: Endpoint) -> String? { EndpointRules.problem(in: EndpointsResponse(endpoints: [e])) }
        #expect(problem(Endpoint(name: "ok", kind: .tcp, targetPort: 1, host: "h", port: 65535)) == nil)
        #expect(problem(Endpoint(name: "p", kind: .tcp, targetPort: 0, host: "h", port: 1)) != nil)
        #expect(problem(Endpoint(name: "p", kind: .tcp, targetPort: 1, host: "h", port: 70000)) != nil)
        #expect(problem(Endpoint(name: "", kind: .tcp, targetPort: 1, host: "h", port: 1)) != nil)
        #expect(problem(Endpoint(name: "with space", kind: .tcp, targetPort: 1, host: "h", port: 1)) != nil)
        #expect(problem(Endpoint(name: "h", kind: .tcp, targetPort: 1, host: "", port: 1)) != nil)
        #expect(problem(Endpoint(name: "u", kind: .http, targetPort: 1, host: "h", port: 1, url: "ftp://h/")) != nil)
        #expect(problem(Endpoint(name: "t", kind: .tcp, targetPort: 1, host: "h", port: 1, expiresAt: "tomorrow")) != nil)
        #expect(problem(Endpoint(name: "v", kind: .tcp, targetPort: 1, host: "h", port: 1, via: EndpointVia(proxyCommand: []))) != nil)
        #expect(problem(Endpoint(name: "k", kind: .ssh, targetPort: 1, host: "h", port: 1, hostKey: "a\nb")) != nil)
        let twice = EndpointsResponse(endpoints: [Endpoint(name: "a", kind: .tcp, targetPort: 1, host: "h", port: 1),
                                                  Endpoint(name: "a", kind: .tcp, targetPort: 2, host: "h", port: 2)])
        #expect(EndpointRules.problem(in: twice) != nil)
        let many = EndpointsResponse(endpoints: (0...EndpointRules.maxEndpoints).map {
            Endpoint(name: "e\($0)", kind: .tcp, targetPort: 1, host: "h", port: 1)
        })
        #expect(EndpointRules.problem(in: many) != nil)
    }
}
