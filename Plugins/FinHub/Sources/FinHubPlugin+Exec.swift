import Foundation
import PluginKit

/// The hub's exec body and answer (docs/openapi.yaml `ExecRequest`, `ExecResult`).
struct HubExecBody: Encodable {
    var argv: [String]
    var stdin: String?
    var timeout: String?
    var env: [String: String]?
}

struct HubExecResult: Decodable {
    var exitCode: Int32
    var stdout: String
    var stderr: String
    var timedOut: Bool
    enum CodingKeys: String, CodingKey { case exitCode = "exit_code", stdout, stderr, timedOut = "timed_out" }
}

/// The parts of the hub's `Snapshot` JSON the plugin reads.
struct HubSnapshot: Decodable {
    var id: String
    var state: String
    var sizeBytes: Int64?
    enum CodingKeys: String, CodingKey { case id, state, sizeBytes = "size_bytes" }
}

extension FinHubPlugin {
    /// `exec`: `POST /v1/sandboxes/{id}/exec`. Never retried: a command may have run before an answer
    /// was lost. The hub's API carries stdin and output as text, so stdin must be UTF-8.
    public func exec(_ request: ExecRequest, call: PluginCall) throws(PluginError) -> ExecResponse {
        var stdin: String?
        if let b64 = request.stdinB64, !b64.isEmpty {
            guard let bytes = Data(base64Encoded: b64), let text = String(data: bytes, encoding: .utf8) else {
                throw PluginError(.invalidRequest, "The fin-hub backend passes stdin to the hub as text: it must be UTF-8.")
            }
            stdin = text
        }
        let body = try HubClient.json(HubExecBody(argv: request.argv, stdin: stdin,
                                                  timeout: request.timeoutSeconds.map { "\(max(1, $0))s" },
                                                  env: request.env.isEmpty ? nil : request.env))
        // The HTTP call may take as long as the command, plus the usual margin.
        let limit = config.callTimeout + Double(request.timeoutSeconds ?? 3600)
        let answer = try client().send("POST", Self.sandboxPath(request.backendRef) + "/exec", body: body,
                                       idempotent: false, timeout: limit, call: call)
        let result = try HubClient.decode(HubExecResult.self, answer, what: "exec")
        return ExecResponse(exitCode: result.exitCode, stdout: Data(result.stdout.utf8), stderr: Data(result.stderr.utf8),
                            timedOut: result.timedOut)
    }

    /// `snapshot`: `POST /v1/sandboxes/{id}/snapshots`, named `finhub-<our snapshot id>` so it can be
    /// found on the hub (the hub refuses names that look like its own ids). Not retried (each call
    /// makes a snapshot).
    public func snapshot(_ request: SnapshotRequest, call: PluginCall) throws(PluginError) -> SnapshotResponse {
        let body = try HubClient.json(["name": "finhub-" + request.snapshotId])
        let answer = try client().send("POST", Self.sandboxPath(request.backendRef) + "/snapshots", body: body,
                                       idempotent: false, timeout: max(config.callTimeout, 300), call: call)
        let snap = try HubClient.decode(HubSnapshot.self, answer, what: "snapshot")
        guard snap.state == "ready" else {
            throw PluginError(.internal, "The hub's snapshot \(snap.id) of sandbox \(request.backendRef) is \(snap.state), not ready.")
        }
        return SnapshotResponse(snapshotRef: snap.id, sizeBytes: snap.sizeBytes ?? 0, info: ["hub_snapshot_id": .string(snap.id)])
    }

    /// `delete_snapshot`: `DELETE /v1/snapshots/{ref}` (idempotent on the hub; 404 means already gone).
    public func deleteSnapshot(_ request: DeleteSnapshotRequest, call: PluginCall) throws(PluginError) {
        let ref = request.snapshotRef
        guard !ref.isEmpty, ref.utf8.count <= 128, !ref.contains("/") else {
            throw PluginError(.notFound, "'\(HubError.clip(String(ref.prefix(80))))' is not a hub snapshot id.")
        }
        _ = try client().send("DELETE", "/v1/snapshots/" + HubClient.escape(ref), idempotent: true, call: call)
    }

    /// `endpoints` (`sandboxer.reach/1`): the hub's reach descriptor for the sandbox, its endpoints
    /// passed through as the hub gave them (the host checks them like any plugin's). Secrets stay on
    /// the hub: it is never asked to reveal them.
    func endpoints(json: Data, call: PluginCall) throws(PluginError) -> Data {
        let request: EndpointsRequest
        do { request = try JSONDecoder().decode(EndpointsRequest.self, from: json.isEmpty ? Data("{}".utf8) : json) }
        catch { throw PluginError(.invalidRequest, "The 'endpoints' request is not valid JSON for this operation.") }
        var path = try Self.sandboxPath(request.backendRef) + "/endpoints"
        if !request.ports.isEmpty { path += "?" + request.ports.map { "port=\($0)" }.joined(separator: "&") }
        let answer = try client().send("GET", path, idempotent: true, call: call)
        let descriptor = try HubClient.decode(JSONValue.self, answer, what: "endpoints")
        guard descriptor["schema"]?.stringValue == "sandboxer.reach/v1", let endpoints = descriptor["endpoints"]?.arrayValue else {
            throw PluginError(.internal, "The hub's reach descriptor for \(request.backendRef) is not sandboxer.reach/v1.")
        }
        // The hub's probe results are its view, not ours: the host probes itself when asked.
        let cleaned: [JSONValue] = endpoints.map { endpoint in
            guard var object = endpoint.objectValue else { return endpoint }
            object.removeValue(forKey: "probe")
            return .object(object)
        }
        return try Self.encode(["endpoints": JSONValue.array(cleaned)])
    }
}
