import Foundation
import PluginKit

extension ModalPlugin {
    /// `snapshot`: Modal's filesystem snapshot (`SandboxSnapshotFs`), an image id that outlives the
    /// sandbox. Modal does not pause the sandbox's processes while it copies, and images carry no
    /// tags, so the ownership labels stay in the host's store only (docs/backends/modal.md).
    public func snapshot(_ request: SnapshotRequest, call: PluginCall) throws(PluginError) -> SnapshotResponse {
        let sandboxID = try Self.sandboxID(request.backendRef)
        // Not retried: each call makes a new image. A lost answer leaves an unreferenced image.
        let answer: SandboxSnapshotFsResponse = try rpc().api(
            "SandboxSnapshotFs", SandboxIDRequest(sandboxID: sandboxID, timeout: 55), idempotent: false,
            timeout: max(config.callTimeout, 70), call: call)
        guard answer.result.status == GenericResult.success, Self.isImageID(answer.imageID) else {
            let why = answer.result.exception.isEmpty ? answer.result.statusName : ModalError.clip(answer.result.exception)
            throw PluginError(.internal, "Modal could not snapshot sandbox \(sandboxID): \(why).")
        }
        return SnapshotResponse(snapshotRef: answer.imageID, sizeBytes: 0,
                                info: ["image_id": .string(answer.imageID), "modal_sandbox_id": .string(sandboxID)])
    }

    /// `delete_snapshot`: Modal's API has no call that deletes an image, so this only forgets it
    /// (answers OK and logs that Modal keeps the image; Modal collects unused images itself).
    public func deleteSnapshot(_ request: DeleteSnapshotRequest, call: PluginCall) throws(PluginError) {
        guard Self.isImageID(request.snapshotRef) else {
            throw PluginError(.notFound, "'\(ModalError.clip(request.snapshotRef, limit: 80))' is not a Modal image id.")
        }
        host.log(.info, "Modal has no call to delete image \(request.snapshotRef); snapshot \(request.snapshotId) is forgotten, the image stays on Modal.",
                 metadata: ["snapshot_id": request.snapshotId, "image_id": request.snapshotRef])
    }
}
