import Foundation
import PluginKit

extension E2BPlugin {
    /// `POST /sandboxes/{id}/snapshots` named after the host's snapshot id, so a retried call
    /// replaces the same snapshot instead of making another. E2B pauses the sandbox for the
    /// capture and resumes it. E2B snapshots carry no metadata: the host's store is their record.
    public func snapshot(_ request: SnapshotRequest, call: PluginCall) throws(PluginError) -> SnapshotResponse {
        let context = E2BContext.sandbox(Operation.snapshot, request.sandboxId)
        guard Self.isUsableId(request.backendRef) else { throw context.fail(.notFound, "it has no E2B sandbox id") }
        let name = request.snapshotId.lowercased()
        guard Self.isSnapshotName(name) else {
            throw context.fail(.invalidRequest, "the snapshot id '\(request.snapshotId.prefix(64))' cannot be an E2B snapshot name")
        }
        var send = E2BAPI.Request(method: "POST", path: "/sandboxes/\(E2BAPI.segment(request.backendRef))/snapshots",
                                  body: E2BAPI.encode(SnapshotBody(name: name)), idempotent: true)
        send.timeout = api.createTimeout
        let response = try api.send(send, context: context, call: call)
        let info = try api.decode(SnapshotInfo.self, response, what: "a snapshot", context: context)
        guard !info.snapshotID.isEmpty, info.snapshotID.utf8.count <= 512 else { throw E2BFailure.malformed("a snapshot", context: context) }
        var extra: [String: JSONValue] = ["e2b_snapshot_id": .string(info.snapshotID)]
        if let names = info.names { extra["names"] = .array(names.map { .string($0) }) }
        // E2B does not report a snapshot's size.
        return SnapshotResponse(snapshotRef: info.snapshotID, sizeBytes: 0, info: extra)
    }

    /// `DELETE /templates/{snapshotID}` (a snapshot is a template); 404 is `not_found` (already gone).
    public func deleteSnapshot(_ request: DeleteSnapshotRequest, call: PluginCall) throws(PluginError) {
        let context = E2BContext(operation: Operation.deleteSnapshot, subject: "snapshot \(request.snapshotId)")
        guard !request.snapshotRef.isEmpty else { throw context.fail(.invalidRequest, "the snapshot reference is empty") }
        _ = try api.send(E2BAPI.Request(method: "DELETE", path: "/templates/" + E2BAPI.segment(request.snapshotRef), idempotent: true),
                         context: context, call: call)
    }

    /// E2B's snapshot names: lowercase letters, digits, '-' and '_', starting with a letter or digit, at most 128.
    static func isSnapshotName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 128, (first >= 0x30 && first <= 0x39) || (first >= 0x61 && first <= 0x7a) else { return false }
        return name.utf8.allSatisfy { c in (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x5f }
    }
}
