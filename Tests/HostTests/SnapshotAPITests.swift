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

/// The snapshot and recreate routes in process; every response is checked against docs/openapi.yaml.
@Suite struct SnapshotAPITests {
    typealias Fixture = APITests.Fixture

    @Test func snapshotRecreateAndCreateFromSnapshotOverHTTP() throws {
        let x = try Fixture(tokens: false)
        let id = try #require(x.send("POST", "/v1/sandboxes", body: #"{"labels":{"team":"a"}}"#).json["id"]?.stringValue)
        _ = x.send("POST", "/v1/sandboxes/\(id)/exec", body: #"{"argv":["write","kept"]}"#)

        let snap = x.send("POST", "/v1/sandboxes/\(id)/snapshots", body: #"{"name":"first"}"#)
        #expect(snap.status == 201)
        let snapId = try #require(snap.json["id"]?.stringValue)
        #expect(snap.json["state"] == "ready" && snap.json["name"] == "first" && snap.json["sandbox_id"]?.stringValue == id)
        #expect(x.send("GET", "/v1/sandboxes/\(id)/snapshots").json["snapshots"]?.arrayValue?.count == 1)
        #expect(x.send("GET", "/v1/snapshots").json["snapshots"]?.arrayValue?.count == 1)
        #expect(x.send("GET", "/v1/snapshots/first").json["id"]?.stringValue == snapId)

        let before = x.send("GET", "/v1/sandboxes/\(id)").json
        let recreated = x.send("POST", "/v1/sandboxes/\(id)/recreate", body: #"{"from_snapshot":"first"}"#)
        #expect(recreated.status == 200)
        #expect(recreated.json["expires_at"] == before["expires_at"] && recreated.json["ready_at"] == before["ready_at"])
        #expect(recreated.json["source_snapshot"]?.stringValue == snapId)
        #expect(recreated.json["previous_backend_ref"] == before["backend_ref"])

        let copy = x.send("POST", "/v1/sandboxes", body: "{\"from_snapshot\":\"\(snapId)\"}")
        #expect(copy.status == 201 && copy.json["source_snapshot"]?.stringValue == snapId)
        let copyId = try #require(copy.json["id"]?.stringValue)
        let ls = x.send("POST", "/v1/sandboxes/\(copyId)/exec", body: #"{"argv":["ls"]}"#)
        #expect(ls.json["stdout"] == "kept\n")

        #expect(x.send("DELETE", "/v1/snapshots/\(snapId)").json["state"] == "deleted")
        #expect(x.send("DELETE", "/v1/snapshots/\(snapId)").status == 200)  // idempotent
        #expect(x.send("GET", "/v1/snapshots").json["snapshots"]?.arrayValue?.isEmpty == true)
        #expect(x.send("GET", "/v1/snapshots?all=true").json["snapshots"]?.arrayValue?.count == 1)
        #expect(x.send("POST", "/v1/sandboxes", body: "{\"from_snapshot\":\"\(snapId)\"}").status == 409)
    }

    @Test func badSnapshotRequestsAreRefusedWithoutSideEffects() throws {
        let x = try Fixture(tokens: false)
        let id = try #require(x.send("POST", "/v1/sandboxes").json["id"]?.stringValue)
        #expect(x.send("POST", "/v1/sandboxes/\(id)/snapshots", body: #"{"name":"a b"}"#).status == 422)
        #expect(x.send("POST", "/v1/sandboxes/\(id)/snapshots", body: #"{"nme":"a"}"#).status == 422)
        #expect(x.send("POST", "/v1/sandboxes/\(id)/recreate", body: #"{"from_snapshot":"nope"}"#).status == 404)
        #expect(x.send("GET", "/v1/snapshots/snap-0123456789abcdef").status == 404)
        #expect(x.send("POST", "/v1/sandboxes/sbx-0123456789abcdef/snapshots").status == 404)
        #expect(x.send("GET", "/v1/snapshots").json["snapshots"]?.arrayValue?.isEmpty == true)
        #expect(x.send("GET", "/v1/sandboxes/\(id)").json["state"] == "ready")
    }

    @Test func consumersSeeAndTouchOnlyTheirOwnSnapshots() throws {
        let x = try Fixture(tokens: true)
        let a = APITests.consumerA, b = APITests.consumerB
        let id = try #require(x.send("POST", "/v1/sandboxes", token: a).json["id"]?.stringValue)
        let snapId = try #require(x.send("POST", "/v1/sandboxes/\(id)/snapshots", token: a).json["id"]?.stringValue)
        #expect(x.send("GET", "/v1/snapshots/\(snapId)", token: b).status == 404)
        #expect(x.send("DELETE", "/v1/snapshots/\(snapId)", token: b).status == 404)
        #expect(x.send("GET", "/v1/snapshots", token: b).json["snapshots"]?.arrayValue?.isEmpty == true)
        #expect(x.send("POST", "/v1/sandboxes", body: "{\"from_snapshot\":\"\(snapId)\"}", token: b).status == 404)
        #expect(x.send("POST", "/v1/sandboxes/\(id)/recreate", token: b).status == 404)
        #expect(x.send("GET", "/v1/snapshots", token: a).json["snapshots"]?.arrayValue?.count == 1)
        #expect(x.send("POST", "/v1/snapshots/prune", token: a).status == 403)
        #expect(x.send("POST", "/v1/snapshots/prune?apply=true", token: APITests.operatorToken).status == 200)
    }
}
