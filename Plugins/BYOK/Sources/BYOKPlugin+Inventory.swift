import Foundation
import PluginKit

/// One sandbox as a host's `inventory` lists it.
struct NodeSandbox: Sendable {
    var id: String
    var alive: Bool
    var labels: [String: String]
    var createdAtMs: Int64?
}

extension BYOKPlugin {
    /// The sandboxes of one host, or the error that kept us from asking.
    func hostInventory(_ h: BYOKHost, call: PluginCall) throws(PluginError) -> [NodeSandbox] {
        let answer = try node().verb(h, ["inventory"], call: call)
        guard let list = answer["sandboxes"]?.arrayValue else {
            throw PluginError(.internal, "The node helper on byok host \(h.name) answered inventory without 'sandboxes'.")
        }
        return list.prefix(100_000).compactMap { item -> NodeSandbox? in
            guard let id = item["id"]?.stringValue else { return nil }
            let labels = (item["labels"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
            return NodeSandbox(id: id, alive: item["alive"]?.boolValue ?? false, labels: labels,
                               createdAtMs: item["created_unix_ms"]?.numberValue.map { Int64($0) })
        }
    }

    /// Asks every host; a host that cannot be asked is listed as unreachable (its sandboxes are
    /// unknown, never gone).
    public func inventory(_ request: InventoryRequest, call: PluginCall) throws(PluginError) -> InventoryResponse {
        let answers = eachHost(config.hosts) { h in
            Result { () throws(PluginError) in try self.hostInventory(h, call: call) }
        }
        var items: [InventoryItem] = []
        var unreachable: [InventoryUnreachable] = []
        for (h, answer) in zip(config.hosts, answers) {
            switch answer {
            case .success(let list):
                for s in list {
                    items.append(InventoryItem(backendRef: "\(h.name)/\(s.id)", sandboxId: s.labels[OwnershipLabel.sandbox] ?? s.id,
                                               labels: s.labels, createdAtMs: s.createdAtMs))
                }
            case .failure(let error):
                unreachable.append(InventoryUnreachable(scope: h.name, backendRefPrefix: h.name + "/", message: error.message))
                host.log(.info, "byok: inventory of host \(h.name) is unknown: \(error.message)")
            }
        }
        return InventoryResponse(resources: items, unreachable: unreachable.isEmpty ? nil : unreachable)
    }

    /// running or stopped, from the host's inventory.
    public func status(_ request: SandboxRef, call: PluginCall) throws(PluginError) -> StatusResponse {
        let (h, id) = try locate(request.backendRef, sandboxId: request.sandboxId)
        guard let s = try hostInventory(h, call: call).first(where: { $0.id == id }) else {
            throw PluginError(.notFound, "No byok sandbox \(id) exists on host \(h.name).")
        }
        return StatusResponse(state: s.alive ? "running" : "stopped", info: ["host": .string(h.name)])
    }

    /// Destroys on the ref's host; a ref without a host (an interrupted create) is looked for on every host.
    public func destroy(_ request: SandboxRef, call: PluginCall) throws(PluginError) {
        if request.backendRef.contains("/") {
            let (h, id) = try locate(request.backendRef, sandboxId: request.sandboxId)
            let answer = try node().verb(h, ["destroy", "--id", id], call: call)
            if answer["existed"]?.boolValue == false {
                throw PluginError(.notFound, "No byok sandbox \(id) exists on host \(h.name).")
            }
            return
        }
        try Self.checkId(request.backendRef)
        let answers = eachHost(config.hosts) { h in
            Result { () throws(PluginError) in try self.node().verb(h, ["destroy", "--id", request.backendRef], call: call) }
        }
        var found = false
        var down: [String] = []
        for (h, answer) in zip(config.hosts, answers) {
            switch answer {
            case .success(let a): found = found || a["existed"]?.boolValue == true
            case .failure(let e): down.append("\(h.name): \(e.message)")
            }
        }
        if found { return }
        if !down.isEmpty {
            throw PluginError(.unavailable, "The byok sandbox \(request.backendRef) was not found on the reachable hosts, and these could not be asked: \(down.joined(separator: "; ")).")
        }
        throw PluginError(.notFound, "No byok sandbox \(request.backendRef) exists on any host.")
    }

    /// Moves the sandbox's own deadline (its init enforces it on the host's clock).
    public func setTimeout(_ request: SetTimeoutRequest, call: PluginCall) throws(PluginError) {
        let (h, id) = try locate(request.backendRef, sandboxId: request.sandboxId)
        guard request.timeoutSeconds > 0 else {
            throw PluginError(.invalidRequest, "timeout_seconds must be positive.")
        }
        _ = try node().verb(h, ["set-timeout", "--id", id, "--ttl-seconds", String(request.timeoutSeconds)], call: call)
    }
}
