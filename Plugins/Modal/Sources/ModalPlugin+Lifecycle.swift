import Foundation
import PluginKit

extension ModalPlugin {
    /// `status`: a poll of `SandboxWait` (timeout 0). A sandbox Modal ended (its timeout, idle
    /// timeout, a crash) is `stopped`; one Modal does not know is `not_found`.
    public func status(_ request: SandboxRef, call: PluginCall) throws(PluginError) -> StatusResponse {
        let ref = try Self.sandboxID(request.backendRef)
        let answer: SandboxWaitResponse = try rpc().api("SandboxWait", SandboxIDRequest(sandboxID: ref, timeout: 0),
                                                        idempotent: true, call: call)
        guard answer.result.isFinal else { return StatusResponse(state: "running", info: ["modal_sandbox_id": .string(ref)]) }
        var info: [String: JSONValue] = ["modal_sandbox_id": .string(ref), "result": .string(answer.result.statusName),
                                         "exit_code": .number(Double(answer.result.exitcode))]
        if !answer.result.exception.isEmpty { info["message"] = .string(ModalError.clip(answer.result.exception)) }
        return StatusResponse(state: "stopped", info: info)
    }

    /// `destroy`: terminates the sandbox; one that already ended counts as done. When the host
    /// names no Modal id (its create never got an answer), the sandboxes tagged with the host's
    /// sandbox id are terminated instead.
    public func destroy(_ request: SandboxRef, call: PluginCall) throws(PluginError) {
        guard request.backendRef.hasPrefix("sb-") else {
            let tags = [SandboxTag(name: OwnershipLabel.sandbox, value: request.sandboxId)]
            let found = try listSandboxes(tags: tags, call: call)
            guard !found.isEmpty else {
                throw PluginError(.notFound, "Modal holds no sandbox tagged \(OwnershipLabel.sandbox)=\(request.sandboxId).")
            }
            for sandbox in found { try terminate(sandbox.id, call: call) }
            return
        }
        try terminate(request.backendRef, call: call)
    }

    /// `SandboxTerminate`, retried (terminating twice is harmless); forgets the sandbox's task.
    func terminate(_ sandboxID: String, call: PluginCall) throws(PluginError) {
        let _: SandboxTerminateResponse = try rpc().api("SandboxTerminate", SandboxIDRequest(sandboxID: sandboxID),
                                                        idempotent: true, call: call)
        cache.withLock { $0.forget(sandbox: sandboxID) }
    }

    /// `inventory`: every running sandbox of our app tagged with the host's id, every page.
    public func inventory(_ request: InventoryRequest, call: PluginCall) throws(PluginError) -> InventoryResponse {
        let found = try listSandboxes(tags: [SandboxTag(name: OwnershipLabel.host, value: request.hostId)], call: call)
        return InventoryResponse(resources: found.map { sandbox in
            let labels = Dictionary(sandbox.tags.map { ($0.name, $0.value) }, uniquingKeysWith: { _, last in last })
            return InventoryItem(backendRef: sandbox.id, sandboxId: labels[OwnershipLabel.sandbox], labels: labels,
                                 createdAtMs: sandbox.createdAt > 0 ? Int64((sandbox.createdAt * 1000).rounded()) : nil)
        })
    }

    /// Running sandboxes of the app with all of `tags`: `SandboxList` pages (newest first) walked
    /// back with `before_timestamp` until an empty page; at most 1000 pages.
    func listSandboxes(tags: [SandboxTag], call: PluginCall) throws(PluginError) -> [SandboxInfo] {
        let rpc = try rpc()
        let appID = try appID(call: call)
        var all: [SandboxInfo] = []
        var seen = Set<String>()
        var before: Double = 0
        for _ in 0..<1000 {
            let page: SandboxListResponse = try rpc.api(
                "SandboxList", SandboxListRequest(appID: appID, beforeTimestamp: before, environmentName: config.environment ?? "",
                                                  tags: tags),
                idempotent: true, call: call)
            let fresh = page.sandboxes.filter { !seen.contains($0.id) }
            guard !fresh.isEmpty, let oldest = page.sandboxes.map(\.createdAt).min(), oldest > 0 else { return all }
            for sandbox in fresh { seen.insert(sandbox.id); all.append(sandbox) }
            // A server that does not move back in time would page forever: stop instead.
            guard before == 0 || oldest < before else { return all }
            before = oldest
        }
        throw PluginError(.internal, "Modal's sandbox list did not end after 1000 pages.")
    }

    /// A backend reference that names a Modal sandbox.
    static func sandboxID(_ ref: String) throws(PluginError) -> String {
        guard ref.hasPrefix("sb-"), ref.count <= 64, ref.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
            throw PluginError(.notFound, "'\(ModalError.clip(ref, limit: 80))' is not a Modal sandbox id, so Modal holds no such sandbox.")
        }
        return ref
    }
}
