import Foundation
import PluginKit

extension E2BPlugin {
    /// `GET /sandboxes/{id}`: running or paused (reported as stopped); `not_found` once gone.
    public func status(_ request: SandboxRef, call: PluginCall) throws(PluginError) -> StatusResponse {
        let context = E2BContext.sandbox(Operation.status, request.sandboxId)
        let detail = try fetchDetail(request.backendRef, context: context, call: call)
        var info: [String: JSONValue] = ["e2b_state": .string(detail.state), "template": .string(detail.templateID)]
        if let end = E2BTime.milliseconds(detail.endAt) { info["e2b_deadline_ms"] = .number(Double(end)) }
        if let start = E2BTime.milliseconds(detail.startedAt) { info["started_at_ms"] = .number(Double(start)) }
        return StatusResponse(state: detail.state == "running" ? "running" : "stopped", info: info)
    }

    /// `DELETE /sandboxes/{id}`; a 404 is `not_found`, which the host counts as done. A ref that is
    /// the host's own id (a create that failed before learning E2B's) destroys what carries that label.
    public func destroy(_ request: SandboxRef, call: PluginCall) throws(PluginError) {
        let context = E2BContext.sandbox(Operation.destroy, request.sandboxId)
        if Self.isHostSandboxId(request.backendRef) {
            let found = try listSandboxes(filter: [(OwnershipLabel.sandbox, request.backendRef)], context: context, call: call)
                .filter { $0.metadata?[OwnershipLabel.sandbox] == request.backendRef }
            guard !found.isEmpty else { throw context.fail(.notFound, "E2B holds no sandbox labelled with it") }
            for item in found { try kill(item.sandboxID, context: context, call: call, allowMissing: true) }
            return
        }
        try kill(request.backendRef, context: context, call: call, allowMissing: false)
    }

    /// Kills one E2B sandbox; with `allowMissing`, a 404 is success.
    func kill(_ id: String, context: E2BContext, call: PluginCall, allowMissing: Bool) throws(PluginError) {
        guard Self.isUsableId(id) else { throw context.fail(.notFound, "'\(id.prefix(64))' is not an E2B sandbox id") }
        do {
            _ = try api.send(E2BAPI.Request(method: "DELETE", path: "/sandboxes/" + E2BAPI.segment(id), idempotent: true),
                             context: context, call: call)
        } catch where allowMissing && error.code == .notFound {
            // Already gone.
        }
        _ = envdTokens.withLock { $0.removeValue(forKey: id) }
    }

    /// `POST /sandboxes/{id}/timeout`: E2B overwrites the deadline with now + timeout, so this is
    /// always the whole remaining time, never a delta (capped at the plan's maximum).
    public func setTimeout(_ request: SetTimeoutRequest, call: PluginCall) throws(PluginError) {
        let context = E2BContext.sandbox(Operation.setTimeout, request.sandboxId)
        guard request.timeoutSeconds >= 0 else { throw context.fail(.invalidRequest, "timeout_seconds must not be negative") }
        guard Self.isUsableId(request.backendRef) else { throw context.fail(.notFound, "it has no E2B sandbox id") }
        let seconds = min(request.timeoutSeconds, config.maxTimeoutSeconds)
        _ = try api.send(E2BAPI.Request(method: "POST", path: "/sandboxes/\(E2BAPI.segment(request.backendRef))/timeout",
                                        body: E2BAPI.encode(TimeoutBody(timeout: seconds)), idempotent: true),
                         context: context, call: call)
        if seconds < request.timeoutSeconds {
            host.log(.info, "E2B set_timeout of sandbox \(request.sandboxId): \(request.timeoutSeconds) s is above max_timeout; E2B's deadline is \(seconds) s from now.")
        }
    }

    /// `GET /sandboxes/{id}`, remembering its envd token.
    func fetchDetail(_ id: String, context: E2BContext, call: PluginCall) throws(PluginError) -> SandboxDetail {
        guard Self.isUsableId(id) else { throw context.fail(.notFound, "it has no E2B sandbox id") }
        let response = try api.send(E2BAPI.Request(method: "GET", path: "/sandboxes/" + E2BAPI.segment(id), idempotent: true),
                                    context: context, call: call)
        let detail = try api.decode(SandboxDetail.self, response, what: "a sandbox's details", context: context)
        if let token = detail.envdAccessToken {
            envdTokens.withLock { $0[id] = EnvdAccess(token: token, domain: detail.domain) }
        }
        return detail
    }
}
