import Foundation
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
@testable import API

/// `GET /v1/sandboxes/{id}/endpoints` and consumer profiles over HTTP (in process), every answer
/// checked against docs/openapi.yaml.
@Suite struct ReachAPITests {
    static let operatorToken = "reach-op-token"
    static let snuggleToken = "reach-snuggle-token"
    static let otherToken = "reach-other-token"

    struct Fixture {
        let f: ReachServiceTests.Fixture
        let api: SandboxAPI
        let checker: SandboxAPITests.Checker

        init(endpoints: [JSONValue], secrets: [String: String] = [:]) throws {
            f = try ReachServiceTests.Fixture(endpoints: endpoints, secrets: secrets)
            var settings = ServerSettings()
            func hash(_ t: String) -> String { SHA256.hex(SHA256.hash(Array(t.utf8))) }
            settings.tokens = [.init(name: "ops", role: .operator, sha256: hash(ReachAPITests.operatorToken)),
                               .init(name: "snuggle", role: .consumer, sha256: hash(ReachAPITests.snuggleToken)),
                               .init(name: "other", role: .consumer, sha256: hash(ReachAPITests.otherToken))]
            api = try SandboxAPI(service: f.service, settings: settings)
            checker = try SandboxAPITests.Checker()
        }

        @discardableResult
        func send(_ method: String, _ target: String, body: String? = nil, token: String) -> (status: Int, json: JSONValue, response: HTTPResponse) {
            var h = HTTPHeaders()
            h.set("Authorization", "Bearer \(token)")
            let request = HTTPRequest(method: method, target: target, headers: h, body: Data((body ?? "").utf8))
            let response = api.handle(request)
            let json = (try? JSONDecoder().decode(JSONValue.self, from: response.body)) ?? .null
            checker.check(request, response, json)
            return (response.status, json, response)
        }
    }

    @Test func theOwnerReachesItsSandboxAndOthersSeeNothing() throws {
        let auth: JSONValue = ["scheme": "header", "name": "x-token", "secret_ref": "WS_TOKEN"]
        let x = try Fixture(endpoints: [ReachServiceTests.endpoint("d", target: 8080, port: ReachServiceTests.closedPort(), extra: ["auth": auth])],
                            secrets: ["WS_TOKEN": "s3cr3t-value"])
        defer { x.f.remove() }
        let created = x.send("POST", "/v1/sandboxes", body: #"{"profile":"ws"}"#, token: Self.snuggleToken)
        #expect(created.status == 201)
        let id = try #require(created.json["id"]?.stringValue)

        let mine = x.send("GET", "/v1/sandboxes/\(id)/endpoints", token: Self.snuggleToken)
        #expect(mine.status == 200)
        #expect(mine.json["schema"] == "sandboxer.reach/v1" && mine.json["sandbox_id"] == .string(id))
        #expect(mine.json["endpoints"]?.arrayValue?.first?["name"] == "web")
        #expect(!String(decoding: mine.response.body, as: UTF8.self).contains("s3cr3t-value"))
        #expect(mine.response.headers["Cache-Control"] == nil)

        let revealed = x.send("GET", "/v1/sandboxes/\(id)/endpoints?reveal=true", token: Self.snuggleToken)
        #expect(revealed.status == 200)
        #expect(revealed.json["endpoints"]?.arrayValue?.first?["auth"]?["secret"] == "s3cr3t-value")
        #expect(revealed.response.headers["Cache-Control"] == "no-store")
        #expect(x.send("GET", "/v1/sandboxes/\(id)/endpoints?reveal=true", token: Self.operatorToken).status == 200)

        // Another consumer learns nothing, not even that the sandbox exists.
        let theirs = x.send("GET", "/v1/sandboxes/\(id)/endpoints?reveal=true", token: Self.otherToken)
        #expect(theirs.status == 404)
        #expect(!String(decoding: theirs.response.body, as: UTF8.self).contains("s3cr3t-value"))

        let probed = x.send("GET", "/v1/sandboxes/\(id)/endpoints?port=8080&probe=true", token: Self.snuggleToken)
        #expect(probed.status == 200)
        #expect(probed.json["endpoints"]?.arrayValue?.first?["probe"]?["reachable"] == false)

        #expect(x.send("GET", "/v1/sandboxes/\(id)/endpoints?port=9999", token: Self.snuggleToken).status == 404)
        #expect(x.send("GET", "/v1/sandboxes/\(id)/endpoints?port=0", token: Self.snuggleToken).status == 400)
        #expect(x.send("GET", "/v1/sandboxes/\(id)/endpoints?port=http", token: Self.snuggleToken).status == 400)
        #expect(x.send("GET", "/v1/sandboxes/\(id)/endpoints?probe=maybe", token: Self.snuggleToken).status == 400)
        #expect(x.send("DELETE", "/v1/sandboxes/\(id)", token: Self.snuggleToken).status == 200)
        #expect(x.send("GET", "/v1/sandboxes/\(id)/endpoints", token: Self.snuggleToken).status == 409)
    }

    @Test func aConsumerListsAndCreatesFromItsOwnProfilesOnly() throws {
        let x = try Fixture(endpoints: [])
        defer { x.f.remove() }
        let names = { (token: String) in
            x.send("GET", "/v1/profiles", token: token).json["profiles"]?.arrayValue?.compactMap { $0["name"]?.stringValue }
        }
        #expect(names(Self.operatorToken) == ["default", "ws"])
        #expect(names(Self.snuggleToken) == ["ws"])
        #expect(names(Self.otherToken) == [])
        let refused = x.send("POST", "/v1/sandboxes", body: #"{"profile":"ws"}"#, token: Self.otherToken)
        #expect(refused.status == 404)
        #expect(refused.json["error"]?["message"] == "No profile named 'ws' is open to consumer 'other' (open to it: none).")
        #expect(x.send("POST", "/v1/sandboxes", body: "{}", token: Self.snuggleToken).status == 404)
        #expect(try x.f.service.list(SandboxFilter()).isEmpty)
        #expect(x.send("POST", "/v1/sandboxes", body: "{}", token: Self.operatorToken).status == 201)
        let profile = x.send("GET", "/v1/profiles", token: Self.snuggleToken).json["profiles"]?.arrayValue?.first
        #expect(profile?["reach"]?["web"] == .object(["port": 8080, "kind": "http"]))
        #expect(profile?["consumer"] == "snuggle")
    }
}
