import Foundation
import PluginKit

extension E2BPlugin {
    /// `POST /v2/sandboxes` from the profile's template (or the config's), labelled with the
    /// ownership labels as metadata, its timeout the host's remaining TTL plus grace (capped).
    public func create(_ request: CreateRequest, call: PluginCall) throws(PluginError) -> CreateResponse {
        try start(request, template: request.image ?? config.template, operation: Operation.create, call: call)
    }

    /// A sandbox from a snapshot: E2B boots a snapshot when its id is given as the template.
    public func restore(_ request: RestoreRequest, call: PluginCall) throws(PluginError) -> CreateResponse {
        try start(request.create, template: request.snapshotRef, operation: Operation.restore, call: call)
    }

    /// Creates the sandbox; every try of one call sends the same body and Idempotency-Key, so a
    /// retried create answers the sandbox the first try made instead of making a second one.
    func start(_ request: CreateRequest, template: String, operation: String, call: PluginCall) throws(PluginError) -> CreateResponse {
        let context = E2BContext.sandbox(operation, request.sandboxId)
        guard !template.isEmpty else { throw context.fail(.invalidRequest, "the template (the profile's image) is empty") }
        let timeout = cappedTimeout(request.timeoutSeconds)
        var metadata = request.labels
        metadata[OwnershipLabel.host] = request.hostId
        metadata[OwnershipLabel.sandbox] = request.sandboxId
        metadata[OwnershipLabel.profile] = request.profile
        let body = NewSandbox(templateID: template, timeout: timeout.seconds, metadata: metadata, envVars: request.env)
        var send = E2BAPI.Request(method: "POST", path: "/v2/sandboxes", body: E2BAPI.encode(body),
                                  headers: [("Idempotency-Key", Self.idempotencyKey(sandboxId: request.sandboxId))],
                                  idempotent: true)
        send.timeout = api.createTimeout
        let response = try api.send(send, context: context, call: call)
        let created = try api.decode(CreatedSandbox.self, response, what: "a created sandbox", context: context)
        guard Self.isUsableId(created.sandboxID) else {
            throw E2BFailure.malformed("a created sandbox", context: context)
        }
        envdTokens.withLock { $0[created.sandboxID] = EnvdAccess(token: created.envdAccessToken, domain: created.domain) }
        if call.isCancelled {
            // The host gave up on this create: do not leave a sandbox nobody will record.
            _ = try? api.send(E2BAPI.Request(method: "DELETE", path: "/sandboxes/" + E2BAPI.segment(created.sandboxID), idempotent: true),
                              context: context, call: .detached)
            throw context.fail(.unavailable, "the host cancelled the call; the sandbox E2B made was killed")
        }
        var info: [String: JSONValue] = [
            "e2b_sandbox_id": .string(created.sandboxID),
            "template": .string(created.templateID),
            "envd_version": .string(created.envdVersion),
            "timeout_seconds": .number(Double(timeout.seconds)),
            "created_at_ms": .number(Double(nowMs())),
            "domain": .string(created.domain ?? config.domain),
        ]
        if timeout.capped { info["timeout_capped_at_max"] = .bool(true) }
        host.log(.info, "E2B \(operation) of sandbox \(request.sandboxId): made \(created.sandboxID) from template \(template), timeout \(timeout.seconds) s.")
        return CreateResponse(backendRef: created.sandboxID, info: info)
    }

    /// The Idempotency-Key of one create call: the host's sandbox id (which the retries of one
    /// call share) plus a random suffix fixed for the call. The suffix keeps a later `recreate`
    /// under the same sandbox id from being answered with the instance it replaced.
    static func idempotencyKey(sandboxId: String) -> String {
        let base = sandboxId.lowercased().unicodeScalars.filter { ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9") || $0 == "-" }
        var rng = SystemRandomNumberGenerator()
        return String(String.UnicodeScalarView(base).prefix(200)) + "-" + String(format: "%08x", UInt32.random(in: 0...UInt32.max, using: &rng))
    }

    /// An id we can put in a URL path and a host name: letters, digits and '-', at most 128.
    static func isUsableId(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 128 && id.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d
        }
    }
}
