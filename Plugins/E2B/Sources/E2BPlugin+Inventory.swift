import Foundation
import PluginKit

extension E2BPlugin {
    /// Every running or paused sandbox labelled with this host's id (`GET /v2/sandboxes`, every
    /// page through `X-Next-Token`), with all its metadata as labels.
    public func inventory(_ request: InventoryRequest, call: PluginCall) throws(PluginError) -> InventoryResponse {
        let context = E2BContext(operation: Operation.inventory, subject: "host \(request.hostId)")
        let listed = try listSandboxes(filter: [(OwnershipLabel.host, request.hostId)], context: context, call: call)
        return InventoryResponse(resources: listed.compactMap { item in
            let labels = item.metadata ?? [:]
            // The filter ran on E2B's side; check it here too before calling anything ours.
            guard labels[OwnershipLabel.host] == request.hostId else { return nil }
            return InventoryItem(backendRef: item.sandboxID, sandboxId: labels[OwnershipLabel.sandbox], labels: labels,
                                 createdAtMs: E2BTime.milliseconds(item.startedAt))
        })
    }

    /// Most pages followed before giving up (100 sandboxes a page).
    static let maxPages = 1000

    /// `GET /v2/sandboxes?metadata=…&state=running,paused&limit=100`, all pages.
    func listSandboxes(filter: [(key: String, value: String)], context: E2BContext, call: PluginCall) throws(PluginError) -> [ListedSandbox] {
        var all: [ListedSandbox] = []
        var token: String? = nil
        var seenTokens = Set<String>()
        for _ in 0..<Self.maxPages {
            var query = ["metadata=" + QueryEncoding.metadataFilter(filter), "state=" + QueryEncoding.strict("running,paused"), "limit=100"]
            if let token { query.append("nextToken=" + QueryEncoding.strict(token)) }
            let response = try api.send(E2BAPI.Request(method: "GET", path: "/v2/sandboxes", query: query, idempotent: true),
                                        context: context, call: call)
            all += try api.decode([ListedSandbox].self, response, what: "a sandbox list", context: context)
            guard let next = response.header("X-Next-Token"), !next.isEmpty else { return all }
            // A cursor seen before would loop forever.
            guard seenTokens.insert(next).inserted else { throw E2BFailure.malformed("a page cursor that repeats", context: context) }
            token = next
        }
        throw context.fail(.internal, "the sandbox list had more than \(Self.maxPages) pages")
    }
}
