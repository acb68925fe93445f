import Foundation
import Testing
import PluginKit
@testable import Basics
@testable import HTTPServer
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Store
@testable import Backends
@testable import Lifecycle
@testable import API

/// The image routes and the asynchronous create (docs/images.md, "Over HTTP"), on a service whose
/// backend is the in-process fake and whose builder is the TestPlugin loaded through the ABI. Every
/// response is validated against the OpenAPI document.
@Suite struct ImageAPITests {
    let dir: String
    let service: SandboxService
    let x: Sender

    init() throws {
        let plugin = try PluginFixtures.testPluginPath()
        dir = NSTemporaryDirectory() + "sandboxer-images-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir + "/builder", withIntermediateDirectories: true)
        try "source \"null\" \"x\" {}\n".write(toFile: dir + "/web.pkr.hcl", atomically: true, encoding: .utf8)
        let text = """
            data_dir: \(dir)/data
            host_id: host-test
            backends:
              fake:
                plugin: /nonexistent/libfake.so
            builders:
              tb:
                plugin: \(plugin)
                config:
                  state_dir: \(dir)/builder
                  capabilities: [sandboxer.build/1]
            profiles:
              default:
                backend: fake
              web:
                backend: fake
                build:
                  builder: tb
                  template: web.pkr.hcl
                  vars: {marker: v1}
              later:
                backend: fake
                build:
                  builder: tb
                  template: web.pkr.hcl
                  vars: {marker: later}
            """
        let config = try ConfigLoader.parse(text, file: dir + "/c.yaml", environment: [:], baseDirectory: dir)
        let clock = ManualClock()
        let store = try SandboxStore(path: dir + "/sandboxer.db")
        let context = PluginHostContext(now: { clock.now() }, secret: { _ in nil }, log: { _, _, _ in })
        service = SandboxService(config: config, store: store,
                                 backends: BackendRegistry(config: config, context: context, preloaded: ["fake": FakeBackend()]),
                                 clock: clock, hostId: "host-test")
        x = try Sender(service: service)
    }

    /// Sends requests with the operator and consumer tokens of `APITests`, checking each response
    /// against the document.
    struct Sender {
        let api: SandboxAPI
        let validator: SandboxAPITests.Checker
        init(service: SandboxService) throws {
            func hash(_ t: String) -> String { SHA256.hex(SHA256.hash(Array(t.utf8))) }
            var settings = ServerSettings()
            settings.tokens = [.init(name: "ops", role: .operator, sha256: hash(APITests.operatorToken)),
                               .init(name: "a", role: .consumer, sha256: hash(APITests.consumerA))]
            api = try SandboxAPI(service: service, settings: settings)
            validator = try SandboxAPITests.Checker()
        }
        @discardableResult
        func send(_ method: String, _ target: String, body: String? = nil, token: String,
                  headers: [String: String] = [:]) -> (status: Int, json: JSONValue) {
            var h = HTTPHeaders()
            h.set("Authorization", "Bearer \(token)")
            for (k, v) in headers { h.set(k, v) }
            let request = HTTPRequest(method: method, target: target, headers: h, body: Data((body ?? "").utf8))
            let response = api.handle(request)
            let json = (try? JSONDecoder().decode(JSONValue.self, from: response.body)) ?? .null
            validator.check(request, response, json)
            return (response.status, json)
        }
    }

    func builds() -> Int {
        ((try? String(contentsOfFile: dir + "/builder/build.log", encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    @Test func buildListShowPruneAndDelete() throws {
        let built = x.send("POST", "/v1/images/build", body: #"{"profile":"web"}"#, token: APITests.operatorToken)
        #expect(built.status == 200)
        let id = try #require(built.json["id"]?.stringValue)
        #expect(built.json["state"]?.stringValue == "ready")
        #expect(x.send("POST", "/v1/images/build", body: #"{"profile":"web"}"#, token: APITests.operatorToken).status == 200)
        #expect(builds() == 1, "a cached image was built again")
        #expect(x.send("GET", "/v1/images", token: APITests.operatorToken).json["images"]?.arrayValue?.count == 1)
        #expect(x.send("GET", "/v1/images/\(id)", token: APITests.operatorToken).json["id"]?.stringValue == id)
        #expect(x.send("GET", "/v1/images/img-0000000000000000", token: APITests.operatorToken).status == 404)
        for (method, path) in [("GET", "/v1/images"), ("GET", "/v1/images/\(id)"), ("DELETE", "/v1/images/\(id)"),
                               ("POST", "/v1/images/prune"), ("POST", "/v1/images/build")] {
            #expect(x.send(method, path, body: #"{"profile":"web"}"#, token: APITests.consumerA).status == 403, "\(method) \(path)")
        }
        let plan = x.send("POST", "/v1/images/prune", token: APITests.operatorToken)
        #expect(plan.json["images"]?.arrayValue?.first?["reason"]?.stringValue == "in_use")
        #expect(x.send("POST", "/v1/images/build", body: #"{"profile":"default"}"#, token: APITests.operatorToken).status == 422)
        #expect(x.send("DELETE", "/v1/images/\(id)", token: APITests.operatorToken).status == 200)
        #expect(x.send("GET", "/v1/images", token: APITests.operatorToken).json["images"]?.arrayValue?.isEmpty == true)
    }

    @Test func aCreateWaitsForTheBuildOrAnswers202WhenAskedNotTo() throws {
        let waited = x.send("POST", "/v1/sandboxes", body: #"{"profile":"web"}"#, token: APITests.operatorToken)
        #expect(waited.status == 201)
        #expect(builds() == 1)

        let accepted = x.send("POST", "/v1/sandboxes", body: #"{"profile":"later"}"#, token: APITests.operatorToken,
                              headers: ["Prefer": "respond-async"])
        #expect(accepted.status == 202)
        let id = try #require(accepted.json["image"]?["id"]?.stringValue)
        #expect(accepted.json["build_id"]?.stringValue == ImageID.buildId(of: id))
        #expect(try service.list(SandboxFilter()).count == 1, "a 202 made a sandbox")
        // Joining the build the 202 started: the service's own wait on the image's row.
        let ready = try service.ensureImage(profile: "later", allowBuild: false)
        #expect(ready.id == id)
        #expect(builds() == 2)
        let created = x.send("POST", "/v1/sandboxes", body: #"{"profile":"later"}"#, token: APITests.operatorToken,
                             headers: ["Prefer": "respond-async"])
        #expect(created.status == 201, "a ready image still answered 202")
        #expect(builds() == 2)
    }
}
