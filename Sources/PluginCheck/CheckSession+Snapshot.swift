import FoundationEssentials
import Glibc
import Core
import Backends
import PluginProtocol

// `sandboxer.snapshot/1`: a snapshot leaves its sandbox running, restores into a new sandbox, and
// goes only by delete_snapshot, idempotently.
extension CheckSession {
    func snapshotRules(_ sandbox: SandboxRef) {
        guard declares(Capability.snapshot) else {
            for rule in ["snapshot.take", "snapshot.restore", "snapshot.delete"] {
                record(.skip, rule, "\(Capability.snapshot) is not declared")
            }
            return
        }
        let request = SnapshotRequest(sandboxId: sandbox.sandboxId, backendRef: sandbox.backendRef, snapshotId: ids.snapshotId,
                                      labels: ids.labels(sandbox.sandboxId))
        let taken: SnapshotResponse
        switch call(Operation.snapshot, request, as: SnapshotResponse.self, timeout: timeout(for: Operation.snapshot)) {
        case .failure(let error):
            record(.fail, "snapshot.take", "snapshot failed: \(Self.describe(error))")
            record(.skip, "snapshot.restore", "no snapshot (snapshot.take failed)")
            record(.skip, "snapshot.delete", "no snapshot (snapshot.take failed)")
            return
        case .success(let response):
            taken = response
        }
        let delete = DeleteSnapshotRequest(snapshotId: ids.snapshotId, snapshotRef: taken.snapshotRef)
        leftoverSnapshots.append(delete)
        let after = call(Operation.status, sandbox, as: StatusResponse.self)
        if case .success(let s) = after, s.state == "running" {
            record(.pass, "snapshot.take", "took \(taken.snapshotRef) (\(taken.sizeBytes) bytes); the sandbox keeps running")
        } else {
            record(.fail, "snapshot.take", "after the snapshot, status answered \(Self.codeName(after))\(Self.stateSuffix(after)); a snapshot MUST leave the sandbox running")
        }

        let restore = RestoreRequest(create: ids.create(ids.restoredId), snapshotRef: taken.snapshotRef)
        switch call(Operation.restore, restore, as: CreateResponse.self, timeout: timeout(for: Operation.restore)) {
        case .failure(let error):
            record(.fail, "snapshot.restore", "restore into \(ids.restoredId) failed: \(Self.describe(error))")
        case .success(let restored):
            let ref = SandboxRef(sandboxId: ids.restoredId, backendRef: restored.backendRef)
            leftovers.append(ref)
            let status = call(Operation.status, ref, as: StatusResponse.self)
            let destroyed = call(Operation.destroy, ref, as: EmptyResponse.self, timeout: timeout(for: Operation.destroy))
            if case .success = destroyed { leftovers.removeAll { $0 == ref } }
            if case .success(let s) = status, s.state == "running", case .success = destroyed {
                record(.pass, "snapshot.restore", "restored \(restored.backendRef) for \(ids.restoredId): running, then destroyed")
            } else {
                record(.fail, "snapshot.restore", "the restored sandbox \(restored.backendRef): status answered \(Self.codeName(status))\(Self.stateSuffix(status)), destroy answered \(Self.codeName(destroyed)); it MUST be a sandbox as create makes")
            }
        }

        let first = call(Operation.deleteSnapshot, delete, as: EmptyResponse.self, timeout: timeout(for: Operation.deleteSnapshot))
        let second = call(Operation.deleteSnapshot, delete, as: EmptyResponse.self, timeout: timeout(for: Operation.deleteSnapshot))
        if case .success = first, Self.isDone(second) {
            leftoverSnapshots.removeAll { $0 == delete }
            record(.pass, "snapshot.delete", "delete_snapshot answers ok, and \(Self.codeName(second)) the second time")
        } else {
            record(.fail, "snapshot.delete", "delete_snapshot answered \(Self.codeName(first)), then \(Self.codeName(second)); it MUST delete, and be idempotent (not_found or ok)")
        }
    }
}
