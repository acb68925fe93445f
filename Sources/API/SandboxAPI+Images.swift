import FoundationEssentials
import Glibc
import HTTPServer
import Lifecycle
import Store
import Config
import Core
import Basics
import PluginProtocol

/// The images cache's routes (operator only; docs/http-api.md, "Images"), and the asynchronous
/// create of a profile whose image is not built yet (`Prefer: respond-async`).
extension SandboxAPI {
    /// `POST /v1/images/build` `{"profile"}` (`?force=true` rebuilds): waits for the build (or the
    /// cache) and answers the ready image.
    func buildImage(_ c: RouteContext) throws(APIError) -> HTTPResponse {
        let body = try RequestBody(c.request.body, allowed: ["profile"])
        guard let profile = try body.string("profile", required: true) else {
            throw APIError.unprocessable("The field 'profile' must name a profile with a build.")
        }
        let force = try flag(c.request, "force")
        let image = try call { () throws(SandboxerError) in try service.ensureImage(profile: profile, force: force) }
        return json(200, image.jsonValue)
    }

    /// `GET /v1/images`: every image, newest first.
    func listImages(_ c: RouteContext) throws(APIError) -> HTTPResponse {
        let rows = try call { () throws(SandboxerError) in try service.images() }
        return json(200, .object(["images": .array(rows.map(\.jsonValue))]))
    }

    func showImage(_ c: RouteContext, _ image: Image) -> HTTPResponse { json(200, image.jsonValue) }

    /// `DELETE /v1/images/{id}` (`?force=true`): removes the image and its files (409 while a live
    /// process builds it, and 409 `image_in_use` while live sandboxes booted it, unless forced).
    func deleteImage(_ c: RouteContext, _ image: Image) throws(APIError) -> HTTPResponse {
        let force = try flag(c.request, "force")
        let removed = try call { () throws(SandboxerError) in try service.removeImage(image.id, force: force) }
        return json(200, removed.jsonValue)
    }

    /// `POST /v1/images/prune?apply=true&max_bytes=N`: the plan, or what was removed.
    func pruneImages(_ c: RouteContext) throws(APIError) -> HTTPResponse {
        let apply = try flag(c.request, "apply")
        var budget: Int64?
        if let text = c.request.query["max_bytes"]?.last {
            guard let bytes = ResourceSpec.parseMemory(text) else {
                throw APIError.unprocessable("The query parameter 'max_bytes' must be a size such as 20G.")
            }
            budget = bytes
        }
        let decisions = try call { () throws(SandboxerError) in try service.pruneImages(apply: apply, maxBytes: budget) }
        return json(200, .object(["apply": .bool(apply), "images": .array(decisions.map { d in
            .object(["id": .string(d.image.id), "profile": .string(d.image.profile), "state": .string(d.image.state.rawValue),
                     "size_bytes": .number(Double(d.image.sizeBytes)), "remove": .bool(d.remove), "reason": .string(d.reason),
                     "pins": .number(Double(d.pins))])
        })]))
    }

    /// For `POST /v1/sandboxes` with `Prefer: respond-async`: when the profile's image is not ready,
    /// starts (or finds) its build and answers 202 with the image row; nil when the create can go on.
    func asyncBuildResponse(_ request: HTTPRequest, profile: String?) throws(APIError) -> HTTPResponse? {
        guard request.headers.values("Prefer").contains(where: { $0.lowercased().contains("respond-async") }),
              let name = profile ?? (service.config.profiles["default"] != nil ? "default" : nil),
              service.config.profiles[name]?.build != nil else { return nil }
        guard let image = try call({ () throws(SandboxerError) in try service.startImageBuild(profile: name) }) else { return nil }
        var response = json(202, .object(["image": image.jsonValue, "build_id": .string(ImageID.buildId(of: image.id)),
                                          "message": .string("The image of profile '\(name)' is building; poll GET /v1/images/\(image.id) and create again once it is ready.")]))
        response.headers.set("Location", "/v1/images/\(image.id)")
        response.headers.set("Retry-After", "5")
        return response
    }
}
