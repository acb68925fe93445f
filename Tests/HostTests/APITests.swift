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

/// The HTTP API's handler in process (no sockets): routing, auth, consumer isolation, strict bodies,
/// and every response checked against docs/openapi.yaml.
@Suite struct APITests {
    static let operatorToken = "op-secret-token"
    static let consumerA = "consumer-a-token"
    static let consumerB = "consumer-b-token"

    struct Fixture {
        let f: ServiceFixture
        let api: SandboxAPI
        let validator: SandboxAPITests.Checker

        init(tokens: Bool) throws {
            f = try ServiceFixture()
            var settings = ServerSettings()
            if tokens {
                func hash(_ t: String) -> String { SHA256.hex(SHA256.hash(Array(t.utf8))) }
                settings.tokens = [.init(name: "ops", role: .operator, sha256: hash(APITests.operatorToken)),
                                   .init(name: "a", role: .consumer, sha256: hash(APITests.consumerA)),
                                   .init(name: "b", role: .consumer, sha256: hash(APITests.consumerB))]
            }
            api = try SandboxAPI(service: f.service, settings: settings)
            validator = try SandboxAPITests.Checker()
        }

        /// Sends one request and checks the response against the document.
        @discardableResult
        func send(_ method: String, _ target: String, body: String? = nil, token: String? = nil,
                  headers: [String: String] = [:]) -> (status: Int, json: JSONValue) {
            var h = HTTPHeaders()
            if let token { h.set("Authorization", "Bearer \(token)") }
            for (k, v) in headers { h.set(k, v) }
            let request = HTTPRequest(method: method, target: target, headers: h, body: Data((body ?? "").utf8))
            let response = api.handle(request)
            let json = (try? JSONDecoder().decode(JSONValue.self, from: response.body)) ?? .null
            validator.check(request, response, json)
            return (response.status, json)
        }
    }

    @Test func everyRouteIsDocumentedAndEveryDocumentedRouteExists() throws {
        let doc = try OpenAPIDocument.json()
        let documented = Set((doc["paths"]?.objectValue ?? [:]).flatMap { path, item in
            (item.objectValue ?? [:]).keys.filter { ["get", "post", "put", "patch", "delete"].contains($0) }.map { "\($0.uppercased()) \(path)" }
        })
        let routed = Set(APIRoute.all.map { "\($0.method) \($0.pattern)" })
        #expect(routed == documented)
    }

    @Test func theValidatorCatchesDrift() throws {
        let v = SchemaValidator(document: try OpenAPIDocument.json())
        let schema = try #require(v.responseSchema(path: "/v1/sandboxes/{id}", method: "GET", status: 200))
        #expect(!v.validate(["id": "x"], schema).isEmpty)  // required fields missing
        let error = try #require(v.responseSchema(path: "/v1/sandboxes/{id}", method: "GET", status: 404))
        #expect(v.validate(["error": ["code": "c", "message": "m"]], error).isEmpty)
        #expect(!v.validate(["error": ["code": "c", "message": "m"], "extra": 1], error).isEmpty)
        #expect(!v.validate(["error": ["code": 1, "message": "m"]], error).isEmpty)
        #expect(v.responseSchema(path: "/v1/sandboxes/{id}", method: "GET", status: 418) == nil)
    }

    @Test func committedDocumentMatchesTheServedOne() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let committed = try String(contentsOf: repo.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8)
        #expect(committed == OpenAPIDocument.yaml, "the embedded document is not docs/openapi.yaml: rebuild")
    }

    @Test func walkthroughWithoutTokens() throws {
        let x = try Fixture(tokens: false)
        #expect(x.send("GET", "/healthz").status == 200)
        let created = x.send("POST", "/v1/sandboxes", body: #"{"ttl":"2h","labels":{"team":"infra"}}"#)
        #expect(created.status == 201)
        let id = try #require(created.json["id"]?.stringValue)
        #expect(x.send("GET", "/v1/sandboxes/\(id)").json["state"] == "ready")
        let exec = x.send("POST", "/v1/sandboxes/\(id)/exec", body: #"{"argv":["echo","hi"]}"#)
        #expect(exec.json["stdout"] == "ran echo hi\n")
        let ext = x.send("PATCH", "/v1/sandboxes/\(id)/ttl", body: #"{"duration":"1h"}"#)
        #expect(ext.json["ttl"] == "3h")
        #expect(x.send("POST", "/v1/sandboxes/expire?apply=false").json["items"] == .array([]))
        #expect(x.send("GET", "/v1/sandboxes?label=team=infra").json["sandboxes"]?.arrayValue?.count == 1)
        #expect(x.send("DELETE", "/v1/sandboxes/\(id)").json["state"] == "destroyed")
        let refused = x.send("PATCH", "/v1/sandboxes/\(id)/ttl", body: #"{"duration":"1h"}"#)
        #expect(refused.status == 409)
        let events = x.send("GET", "/v1/events?sandbox=\(id)").json["events"]?.arrayValue?.compactMap { $0["type"]?.stringValue }
        #expect(events == ["created", "ready", "ttl_extended", "destroying", "destroyed"])
        x.send("GET", "/v1/backends"); x.send("GET", "/v1/profiles"); x.send("POST", "/v1/reap-stale")
        x.send("GET", "/metrics"); x.send("GET", "/openapi.json")
    }

    @Test func badInputGetsTheRightStatusAndWritesNoRow() throws {
        let x = try Fixture(tokens: false)
        let cases: [(String, String, String?, Int)] = [
            ("POST", "/v1/sandboxes", "{not json", 400),
            ("POST", "/v1/sandboxes", "[1,2]", 422),
            ("POST", "/v1/sandboxes", #"{"ttl": 5}"#, 422),
            ("POST", "/v1/sandboxes", #"{"profile":"default","extra":1}"#, 422),
            ("POST", "/v1/sandboxes", #"{"ttl":"1.5h"}"#, 422),
            ("POST", "/v1/sandboxes", #"{"profile":"nope"}"#, 404),
            ("POST", "/v1/sandboxes", #"{"labels":{"sandboxer.owner":"x"}}"#, 422),
            ("POST", "/v1/sandboxes", #"{"labels":{"a":1}}"#, 422),
            ("GET", "/v1/sandboxes/..%2F..%2Fetc", nil, 404),
            ("GET", "/v1/sandboxes/sbx-0000000000000000", nil, 404),
            ("GET", "/v1/sandboxes?limit=0", nil, 400),
            ("GET", "/v1/sandboxes?state=zombie", nil, 400),
            ("POST", "/v1/sandboxes/expire?apply=maybe", nil, 400),
            ("PUT", "/v1/sandboxes", nil, 405),
            ("GET", "/v2/nothing", nil, 404),
        ]
        for (method, target, body, status) in cases {
            #expect(x.send(method, target, body: body).status == status, "\(method) \(target) \(body ?? "")")
        }
        #expect(try x.f.service.list(SandboxFilter()).isEmpty)
    }

    @Test func tokensAndConsumerIsolation() throws {
        let x = try Fixture(tokens: true)
        #expect(x.send("GET", "/healthz").status == 200)
        #expect(x.send("GET", "/v1/sandboxes").status == 401)
        #expect(x.send("GET", "/v1/sandboxes", token: "wrong").status == 401)
        let a = x.send("POST", "/v1/sandboxes", body: "{}", token: Self.consumerA)
        #expect(a.status == 201)
        let id = try #require(a.json["id"]?.stringValue)
        #expect(a.json["labels"]?["sandboxer.owner"] == "a")
        for (method, target, body) in [("GET", "/v1/sandboxes/\(id)", nil), ("DELETE", "/v1/sandboxes/\(id)", nil),
                                       ("POST", "/v1/sandboxes/\(id)/exec", #"{"argv":["true"]}"#),
                                       ("PATCH", "/v1/sandboxes/\(id)/ttl", #"{"duration":"1h"}"#),
                                       ("GET", "/v1/events?sandbox=\(id)", nil)] as [(String, String, String?)] {
            #expect(x.send(method, target, body: body, token: Self.consumerB).status == 404, "\(method) \(target)")
        }
        #expect(x.send("GET", "/v1/sandboxes", token: Self.consumerB).json["sandboxes"] == .array([]))
        #expect(x.send("GET", "/v1/events", token: Self.consumerB).json["events"] == .array([]))
        #expect(x.send("GET", "/v1/sandboxes", token: Self.consumerA).json["sandboxes"]?.arrayValue?.count == 1)
        for target in ["/v1/sandboxes/expire", "/v1/reap-stale"] {
            #expect(x.send("POST", target, token: Self.consumerA).status == 403)
        }
        #expect(x.send("GET", "/metrics", token: Self.consumerA).status == 403)
        #expect(x.send("GET", "/v1/sandboxes/\(id)", token: Self.operatorToken).status == 200)
        #expect(x.send("DELETE", "/v1/sandboxes/\(id)", token: Self.operatorToken).json["state"] == "destroyed")
    }

    @Test func idempotencyKeyIsPerOwner() throws {
        let x = try Fixture(tokens: true)
        let first = x.send("POST", "/v1/sandboxes", body: "{}", token: Self.consumerA, headers: ["Idempotency-Key": "k"])
        let retry = x.send("POST", "/v1/sandboxes", body: "{}", token: Self.consumerA, headers: ["Idempotency-Key": "k"])
        let other = x.send("POST", "/v1/sandboxes", body: "{}", token: Self.consumerB, headers: ["Idempotency-Key": "k"])
        #expect(first.status == 201)
        #expect(retry.status == 200)
        #expect(retry.json["id"] == first.json["id"])
        #expect(other.status == 201)
        #expect(other.json["id"] != first.json["id"])
    }

    @Test func serverSettingsParse() throws {
        let hash = String(repeating: "a", count: 64)
        let config = try ConfigLoader.parse("""
        backends:
          b:
            plugin: /x/lib.so
        profiles:
          default:
            backend: b
        server:
          listen: unix:/run/sandboxer.sock
          sweep_interval: 1m
          tokens:
            - name: ci
              role: consumer
              sha256: \(hash)
        """, file: "c.yaml", environment: ["HOME": "/root"], baseDirectory: "/")
        #expect(config.server.listen == "unix:/run/sandboxer.sock")
        #expect(config.server.sweepInterval.seconds == 60)
        #expect(config.server.tokens == [.init(name: "ci", role: .consumer, sha256: hash)])
        #expect(throws: ConfigError.self) {
            try ConfigLoader.parse("backends:\n  b:\n    plugin: /x\nprofiles:\n  default:\n    backend: b\nserver:\n  tokens:\n    - name: ci\n      role: admin\n      sha256: \(hash)\n",
                                   file: "c.yaml", environment: ["HOME": "/root"], baseDirectory: "/")
        }
    }
}

enum SandboxAPITests {
    /// Checks each response against the OpenAPI document: the status is documented and the body fits.
    struct Checker {
        let validator: SchemaValidator
        init() throws { validator = SchemaValidator(document: try OpenAPIDocument.json()) }

        func check(_ request: HTTPRequest, _ response: HTTPResponse, _ json: JSONValue) {
            guard case .success(let (route, _)) = APIRoute.resolve(method: request.method, path: request.path) else {
                #expect(response.status == 404 || response.status == 405)
                #expect(json["error"]?["code"] != nil)
                return
            }
            guard let schema = validator.responseSchema(path: route.pattern, method: route.method, status: response.status) else {
                Issue.record("\(request.method) \(route.pattern) answered \(response.status), which the document does not list")
                return
            }
            if route.pattern == "/metrics" && response.status == 200 { return }
            let problems = validator.validate(json, schema)
            #expect(problems.isEmpty, "\(request.method) \(request.target) → \(response.status): \(problems)")
        }
    }
}

@Suite struct StrictJSONTests {
    @Test(arguments: [#"{}"#, #"[]"#, #"{"a":[1,-2.5e3,true,false,null,"x\n\u00e9"]}"#, " {\"a\" : {\"b\": []} } "])
    func accepts(_ text: String) throws {
        try StrictJSON.check(Array(text.utf8))
    }

    @Test(arguments: [#"{"a":1,}"#, #"[1,]"#, #"{"a":1,"a":2}"#, #"{"a":01}"#, #"{a:1}"#, #"{"a":1} x"#, "", #"{"a":"\x"}"#,
                      #"[1 2]"#, #"{"a":tru}"#, #"{"a":1."#, String(repeating: "[", count: 100) + String(repeating: "]", count: 100)])
    func refuses(_ text: String) {
        #expect(throws: StrictJSON.Problem.self) { try StrictJSON.check(Array(text.utf8)) }
    }
}
