import Foundation
import Testing
@testable import Core
@testable import Lifecycle

/// `DELETE /v1/images/{id}` of an image a live sandbox booted: 409 `image_in_use` naming the sandbox,
/// unless `?force=true`; `GET /v1/images` and the prune plan show the pin count (docs/images.md,
/// "Pinning"). Every response is validated against the OpenAPI document (ImageAPITests' sender).
@Suite struct ImagePinAPITests {
    let op = APITests.operatorToken

    @Test func deletingAPinnedImageIsRefusedWith409UnlessForced() throws {
        let t = try ImageAPITests()
        let created = t.x.send("POST", "/v1/sandboxes", body: #"{"profile":"web"}"#, token: op)
        #expect(created.status == 201)
        let sandbox = try #require(created.json["id"]?.stringValue)
        let listed = try #require(t.x.send("GET", "/v1/images", token: op).json["images"]?.arrayValue)
        let id = try #require(listed.first?["id"]?.stringValue)
        #expect(listed.first?["pins"]?.numberValue == 1)
        #expect(t.x.send("GET", "/v1/images/\(id)", token: op).json["pins"]?.numberValue == 1)

        let refused = t.x.send("DELETE", "/v1/images/\(id)", token: op)
        #expect(refused.status == 409)
        #expect(refused.json["error"]?["code"]?.stringValue == "image_in_use")
        let message = refused.json["error"]?["message"]?.stringValue ?? ""
        #expect(message.contains("in use by 1 live sandbox (\(sandbox))"), "\(message)")
        #expect(message.contains("force=true"), "\(message)")
        #expect(t.x.send("GET", "/v1/images/\(id)", token: op).status == 200, "a refused delete removed the image")
        #expect(t.x.send("DELETE", "/v1/images/\(id)?force=maybe", token: op).status == 400)

        let plan = t.x.send("POST", "/v1/images/prune?apply=true", token: op)
        let decision = plan.json["images"]?.arrayValue?.first { $0["id"]?.stringValue == id }
        #expect(decision?["remove"]?.boolValue == false)
        #expect(decision?["pins"]?.numberValue == 1)

        let forced = t.x.send("DELETE", "/v1/images/\(id)?force=true", token: op)
        #expect(forced.status == 200)
        #expect(forced.json["pins"]?.numberValue == 1, "the answer does not say a sandbox was using it")
        #expect(t.x.send("GET", "/v1/images/\(id)", token: op).status == 404)
        // The sandbox lives on; its row still names the removed image.
        #expect(try t.service.get(sandbox).imageId == id)
    }

    @Test func destroyingTheSandboxUnpinsTheImage() throws {
        let t = try ImageAPITests()
        let created = t.x.send("POST", "/v1/sandboxes", body: #"{"profile":"web"}"#, token: op)
        let sandbox = try #require(created.json["id"]?.stringValue)
        let id = try #require(t.x.send("GET", "/v1/images", token: op).json["images"]?.arrayValue?.first?["id"]?.stringValue)
        #expect(t.x.send("DELETE", "/v1/sandboxes/\(sandbox)", token: op).status == 200)
        #expect(t.x.send("GET", "/v1/images/\(id)", token: op).json["pins"]?.numberValue == 0)
        #expect(t.x.send("DELETE", "/v1/images/\(id)", token: op).status == 200)
    }

    @Test func aSandboxShowsTheImageItPinsUntilItEnds() throws {
        let t = try ImageAPITests()
        let created = t.x.send("POST", "/v1/sandboxes", body: #"{"profile":"web"}"#, token: op)
        let sandbox = try #require(created.json["id"]?.stringValue)
        let id = try #require(t.x.send("GET", "/v1/images", token: op).json["images"]?.arrayValue?.first?["id"]?.stringValue)
        #expect(created.json["image_id"]?.stringValue == id)
        #expect(t.x.send("GET", "/v1/sandboxes/\(sandbox)", token: op).json["image_id"]?.stringValue == id)
        let destroyed = t.x.send("DELETE", "/v1/sandboxes/\(sandbox)", token: op)
        #expect(destroyed.status == 200)
        #expect(destroyed.json["image_id"]?.stringValue == nil)
        #expect(t.x.send("GET", "/v1/sandboxes/\(sandbox)", token: op).json["image_id"] == .null)
    }
}
