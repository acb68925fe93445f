import Foundation
import PluginKit

/// The hub's create body (docs/openapi.yaml `CreateRequest`).
struct HubCreateBody: Encodable {
    var profile: String?
    var ttl: String?
    var labels: [String: String]
    var fromSnapshot: String?
    enum CodingKeys: String, CodingKey { case profile, ttl, labels, fromSnapshot = "from_snapshot" }
}

/// The parts of the hub's create/extend answer beyond `HubSandbox` that the plugin reports.
struct HubCapNote: Decodable {
    var ttlCapped: Bool?
    enum CodingKeys: String, CodingKey { case ttlCapped = "ttl_capped" }
}

extension FinHubPlugin {
    /// `create`: `POST /v1/sandboxes` from the mapped hub profile, labelled with our ids, with a TTL of
    /// our deadline plus grace, under an `Idempotency-Key` derived from our sandbox id (so a retry, or
    /// a create this host repeats after losing the answer, finds the same hub sandbox).
    public func create(_ request: CreateRequest, call: PluginCall) throws(PluginError) -> CreateResponse {
        try createOnHub(request, fromSnapshot: nil, call: call)
    }

    /// `restore`: a new hub sandbox created from the hub snapshot `snapshot_ref`.
    public func restore(_ request: RestoreRequest, call: PluginCall) throws(PluginError) -> CreateResponse {
        try createOnHub(request.create, fromSnapshot: request.snapshotRef, call: call)
    }

    func createOnHub(_ request: CreateRequest, fromSnapshot: String?, call: PluginCall) throws(PluginError) -> CreateResponse {
        let client = try client()
        let ttl = HubTTL.createSeconds(timeout: request.timeoutSeconds, grace: config.graceSeconds)
        let body = try HubClient.json(HubCreateBody(
            profile: config.hubProfile(for: request.profile), ttl: ttl.map { "\($0)s" },
            labels: HubLabel.owning(hostId: request.hostId, sandboxId: request.sandboxId, profile: request.profile),
            fromSnapshot: fromSnapshot))
        var key = String("finhub/\(request.hostId)/\(request.sandboxId)\(fromSnapshot.map { "/from/\($0)" } ?? "")".prefix(180))
        var answer = try client.send("POST", "/v1/sandboxes", body: body, headers: [("Idempotency-Key", key)],
                                     idempotent: true, call: call)
        var sandbox = try HubClient.decode(HubSandbox.self, answer, what: "create")
        if answer.status == 200, !sandbox.isLive {
            // A replay of an earlier create for this sandbox id whose hub sandbox has ended: this is a
            // later create of the same sandbox (a recreate), so it gets a key of its own.
            key += "/\(Int64(host.now().timeIntervalSince1970 * 1000))"
            answer = try client.send("POST", "/v1/sandboxes", body: body, headers: [("Idempotency-Key", key)],
                                     idempotent: true, call: call)
            sandbox = try HubClient.decode(HubSandbox.self, answer, what: "create")
        }
        guard sandbox.isLive else {
            throw PluginError(.internal, "The hub created sandbox \(sandbox.id) but reports it \(sandbox.state).")
        }
        if let note = try? JSONDecoder().decode(HubCapNote.self, from: answer.body), note.ttlCapped == true {
            host.log(.warning, "The hub's profile max cut the backstop TTL of sandbox \(request.sandboxId): the hub will end it at \(sandbox.expiresAt ?? "its cap"), possibly before this host's deadline.",
                     metadata: ["sandbox_id": request.sandboxId, "hub_sandbox_id": sandbox.id])
        }
        var info: [String: JSONValue] = ["hub_sandbox_id": .string(sandbox.id), "hub_url": .string(config.url)]
        if let profile = sandbox.profile { info["hub_profile"] = .string(profile) }
        if let expires = sandbox.expiresAt { info["hub_expires_at"] = .string(expires) }
        return CreateResponse(backendRef: sandbox.id, info: info)
    }

    /// `status`: ready/active (and provisioning) → running; ended on the hub → stopped; unknown → not_found.
    public func status(_ request: SandboxRef, call: PluginCall) throws(PluginError) -> StatusResponse {
        let answer = try client().send("GET", Self.sandboxPath(request.backendRef), idempotent: true, call: call)
        let sandbox = try HubClient.decode(HubSandbox.self, answer, what: "status")
        var info: [String: JSONValue] = ["hub_sandbox_id": .string(sandbox.id), "hub_state": .string(sandbox.state)]
        if let expires = sandbox.expiresAt { info["hub_expires_at"] = .string(expires) }
        return StatusResponse(state: sandbox.isLive ? "running" : "stopped", info: info)
    }

    /// `destroy`: `DELETE` (idempotent on the hub; 404 counts as done). When the host names no hub id
    /// (its create never got an answer, so the reference is our own sandbox id), the live hub
    /// sandboxes labelled with our sandbox id are destroyed instead.
    public func destroy(_ request: SandboxRef, call: PluginCall) throws(PluginError) {
        let client = try client()
        var refs = [request.backendRef]
        if request.backendRef == request.sandboxId {
            refs = try list(label: "\(HubLabel.sandbox)=\(request.sandboxId)", call: call).filter(\.isLive).map(\.id)
            guard !refs.isEmpty else {
                throw PluginError(.notFound, "The hub holds no live sandbox labelled \(HubLabel.sandbox)=\(request.sandboxId).")
            }
        }
        for ref in refs {
            do { _ = try client.send("DELETE", Self.sandboxPath(ref), idempotent: true, call: call) }
            catch where error.code == .notFound { continue }
        }
    }

    /// `inventory`: the hub's live sandboxes labelled with our host id, every page, with the
    /// `finhub.*` labels read back as the host's `sandboxer.*` ownership labels.
    public func inventory(_ request: InventoryRequest, call: PluginCall) throws(PluginError) -> InventoryResponse {
        let found = try list(label: "\(HubLabel.host)=\(request.hostId)", call: call).filter(\.isLive)
        return InventoryResponse(resources: found.map { sandbox in
            let labels = HubLabel.toHost(sandbox.labels)
            let created = sandbox.createdAt.flatMap(HubSandbox.rfc3339).map { Int64(($0.timeIntervalSince1970 * 1000).rounded()) }
            return InventoryItem(backendRef: sandbox.id, sandboxId: labels[OwnershipLabel.sandbox], labels: labels,
                                 createdAtMs: created)
        })
    }

    /// Every hub sandbox with `label` (`k=v`) the token may see: pages via `next_cursor`, at most 1000.
    func list(label: String, call: PluginCall) throws(PluginError) -> [HubSandbox] {
        let client = try client()
        var all: [HubSandbox] = []
        var cursor: String?
        for _ in 0..<1000 {
            var path = "/v1/sandboxes?limit=1000&label=" + HubClient.escape(label)
            if let cursor { path += "&cursor=" + HubClient.escape(cursor) }
            let page = try HubClient.decode(HubSandboxPage.self, client.send("GET", path, idempotent: true, call: call),
                                            what: "list")
            all += page.sandboxes
            guard let next = page.nextCursor, !next.isEmpty, next != cursor else { return all }
            cursor = next
        }
        throw PluginError(.internal, "The hub's sandbox list did not end after 1000 pages.")
    }

    /// `set_timeout`: moves the hub's deadline to at least now + `timeout_seconds` + grace. The hub's
    /// extend only adds, so the delta is computed from the hub's current `expires_at` against its own
    /// clock (its `Date` header); a shorter wanted deadline leaves the hub's unchanged (the hub cannot
    /// shorten, and the host's own expiry comes first anyway).
    public func setTimeout(_ request: SetTimeoutRequest, call: PluginCall) throws(PluginError) {
        let client = try client()
        let path = try Self.sandboxPath(request.backendRef)
        let current = try client.send("GET", path, idempotent: true, call: call)
        let sandbox = try HubClient.decode(HubSandbox.self, current, what: "status")
        guard sandbox.isLive else {
            throw PluginError(.conflict, "The hub sandbox \(sandbox.id) has ended (\(sandbox.state)); its deadline cannot move.")
        }
        guard let expires = sandbox.expiresDate else { return }
        let delta = HubTTL.extendSeconds(hubExpiresAt: expires, hubNow: current.date ?? host.now(),
                                         timeout: request.timeoutSeconds, grace: config.graceSeconds)
        guard delta > 0 else {
            host.log(.debug, "The hub's deadline for \(request.sandboxId) is already at or past the one wanted; the hub cannot shorten it.",
                     metadata: ["sandbox_id": request.sandboxId, "hub_expires_at": sandbox.expiresAt ?? ""])
            return
        }
        // Not retried: the hub's extend adds, so a retry after a lost answer would add twice.
        let answer = try client.send("PATCH", path + "/ttl", body: HubClient.json(["duration": "\(delta)s"]),
                                     idempotent: false, call: call)
        if let note = try? JSONDecoder().decode(HubCapNote.self, from: answer.body), note.ttlCapped == true {
            host.log(.warning, "The hub's profile max cut the extension of sandbox \(request.sandboxId)'s backstop; the hub may end it before this host's deadline.",
                     metadata: ["sandbox_id": request.sandboxId, "hub_sandbox_id": sandbox.id])
        }
    }
}
