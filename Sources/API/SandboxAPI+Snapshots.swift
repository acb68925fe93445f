import Foundation
import HTTPServer
import YAMLSubset
import Lifecycle
import Webhooks
import Store
import Config
import Core
import Backends
import Basics
import PluginProtocol

extension SandboxAPI {
    /// Snapshot and recreate routes. Consumers reach only snapshots of their own sandboxes.
    func snapshotRoute(_ handler: APIRoute.Handler, id: String, request: HTTPRequest, caller: Caller) throws(APIError) -> HTTPResponse {
        let owner = caller.isOperator ? nil : caller.name
        switch handler {
        case .createSnapshot:
            let body = try RequestBody(request.body, allowed: ["name"])
            let name = try body.string("name")
            _ = try visibleSandbox(id, caller: caller)
            let snap = try call { () throws(SandboxerError) in try service.snapshot(id, name: name) }
            metrics.increment("sandboxer_snapshots_total", labels: ["trigger": snap.trigger.rawValue])
            return json(201, snap.jsonValue)
        case .listSandboxSnapshots:
            _ = try visibleSandbox(id, caller: caller)
            let all = try flag(request, "all")
            let rows = try call { () throws(SandboxerError) in try service.snapshots(sandboxId: id, all: all) }
            return json(200, .object(["snapshots": .array(rows.map(\.jsonValue))]))
        case .listSnapshots:
            let all = try flag(request, "all")
            let rows = try call { () throws(SandboxerError) in try service.snapshots(owner: owner, all: all) }
            return json(200, .object(["snapshots": .array(rows.map(\.jsonValue))]))
        case .getSnapshot:
            return json(200, try visibleSnapshot(id, owner: owner).jsonValue)
        case .deleteSnapshot:
            let snap = try visibleSnapshot(id, owner: owner)
            let done = try call { () throws(SandboxerError) in try service.deleteSnapshot(snap) }
            return json(200, done.jsonValue)
        case .pruneSnapshots:
            let apply = try flag(request, "apply")
            let items = try call { () throws(SandboxerError) in try service.pruneSnapshots(apply: apply) }
            return json(200, PruneView.render(items, apply: apply, now: service.clock.now()))
        case .recreate:
            let body = try RequestBody(request.body, allowed: ["from_snapshot"])
            let from = try body.string("from_snapshot")
            _ = try visibleSandbox(id, caller: caller)
            let outcome = try call { () throws(SandboxerError) in try service.recreate(id, fromSnapshot: from, owner: owner) }
            var object = outcome.sandbox.jsonValue.objectValue ?? [:]
            object["previous_backend_ref"] = outcome.previousBackendRef.map { .string($0) } ?? .null
            return json(200, .object(object))
        default:
            throw APIError(500, "internal", "The route \(request.path) has no snapshot handler.")
        }
    }

    /// The snapshot `ref` (id or name) if the caller may see it; another consumer's is 404.
    func visibleSnapshot(_ ref: String, owner: String?) throws(APIError) -> Snapshot {
        try call { () throws(SandboxerError) in try service.resolveSnapshot(ref, owner: owner) }
    }
}
