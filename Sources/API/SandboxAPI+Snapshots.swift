import FoundationEssentials
import Glibc
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

/// Snapshot and recreate routes. The router has authorized the sandbox or snapshot each one takes;
/// consumers list only snapshots of their own sandboxes.
extension SandboxAPI {
    func createSnapshot(_ c: RouteContext, _ sandbox: Sandbox) throws(APIError) -> HTTPResponse {
        let body = try RequestBody(c.request.body, allowed: ["name"])
        let name = try body.string("name")
        let snap = try call { () throws(SandboxerError) in try service.snapshot(sandbox.id, name: name) }
        metrics.increment("sandboxer_snapshots_total", labels: ["trigger": snap.trigger.rawValue])
        return json(201, snap.jsonValue)
    }

    func showSnapshot(_ c: RouteContext, _ snapshot: Snapshot) -> HTTPResponse { json(200, snapshot.jsonValue) }

    /// `GET /v1/snapshots`: the caller's snapshots (all of them for the operator), one page.
    func listSnapshots(_ c: RouteContext) throws(APIError) -> HTTPResponse { try listSnapshots(c, of: nil) }

    /// `GET /v1/snapshots` and `GET /v1/sandboxes/{id}/snapshots`: one page, newest first, filtered
    /// and paged by the store; without `all=true`, only snapshots not deleted or failed.
    func listSnapshots(_ c: RouteContext, of sandbox: Sandbox?) throws(APIError) -> HTTPResponse {
        let all = try flag(c.request, "all")
        let limit = try pageLimit(c.request)
        let filter = SnapshotFilter(sandboxId: sandbox?.id, states: all ? nil : [.creating, .ready, .deleting],
                                    owner: c.owner, after: try cursor(c.request))
        let page = try call { () throws(SandboxerError) in
            try service.storeCall { () throws(StoreError) in try service.store.page(filter, limit: limit) }
        }
        return json(200, .object(["snapshots": .array(page.rows.map(\.jsonValue)),
                                  "next_cursor": page.next.map { .string($0.token) } ?? .null]))
    }

    func deleteSnapshot(_ c: RouteContext, _ snapshot: Snapshot) throws(APIError) -> HTTPResponse {
        let done = try call { () throws(SandboxerError) in try service.deleteSnapshot(snapshot) }
        return json(200, done.jsonValue)
    }

    func pruneSnapshots(_ c: RouteContext) throws(APIError) -> HTTPResponse {
        let apply = try flag(c.request, "apply")
        let items = try call { () throws(SandboxerError) in try service.pruneSnapshots(apply: apply) }
        return json(200, PruneView.render(items, apply: apply, now: service.clock.now()))
    }

    func recreate(_ c: RouteContext, _ sandbox: Sandbox) throws(APIError) -> HTTPResponse {
        let body = try RequestBody(c.request.body, allowed: ["from_snapshot"])
        let from = try body.string("from_snapshot")
        let outcome = try call { () throws(SandboxerError) in
            try service.recreate(sandbox.id, fromSnapshot: from, owner: c.owner)
        }
        var object = outcome.sandbox.jsonValue.objectValue ?? [:]
        object["previous_backend_ref"] = outcome.previousBackendRef.map { .string($0) } ?? .null
        return json(200, .object(object))
    }
}
