import Foundation
import Glibc
import PluginKit

extension BYOKPlugin {
    /// Most bytes one snapshot may have.
    static let maxSnapshotBytes: Int64 = 4 << 30

    /// Streams the sandbox's upper dir (a gzip'd tar) back into our data dir, verifies its sha256
    /// and stores it content-addressed; a restore pushes it to whichever host is chosen.
    public func snapshot(_ request: SnapshotRequest, call: PluginCall) throws(PluginError) -> SnapshotResponse {
        let (h, id) = try locate(request.backendRef, sandboxId: request.sandboxId)
        try Self.checkId(request.snapshotId)
        let store = SnapshotFiles(dataDir: config.dataDir)
        try LocalFiles.mkdirs(store.dir, mode: 0o700)
        let tmp = "\(store.dir)/incoming-\(request.snapshotId)-\(getpid())"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw LocalFiles.failure("create", tmp) }
        var written: Int64 = 0
        var failed = false
        let status: [String: JSONValue]
        do {
            status = try framed(h, ["snapshot", "--id", id], input: Data(), deadline: Date().addingTimeInterval(3600), call: call) { frame in
                guard frame.type == Frame.stdout, !failed else { return }
                written += Int64(frame.payload.count)
                if written > Self.maxSnapshotBytes { failed = true; return }
                let ok = frame.payload.withUnsafeBytes { raw -> Bool in
                    var off = 0
                    while off < raw.count {
                        let n = write(fd, raw.baseAddress! + off, raw.count - off)
                        if n < 0 { if errno == EINTR { continue }; return false }
                        off += n
                    }
                    return true
                }
                if !ok { failed = true }
            }
        } catch {
            close(fd); unlink(tmp)
            throw error
        }
        close(fd)
        guard !failed else {
            unlink(tmp)
            throw PluginError(.internal, "The snapshot of \(request.sandboxId) could not be stored (write failed or larger than \(Self.maxSnapshotBytes >> 30) GiB).")
        }
        let hex = try LocalFiles.sha256(tmp)
        guard status["sha256"]?.stringValue == hex, status["size_bytes"]?.numberValue.map({ Int64($0) }) == written else {
            unlink(tmp)
            throw PluginError(.unavailable, "The snapshot of \(request.sandboxId) arrived damaged from byok host \(h.name) (size or sha256 differ); try again.")
        }
        let ref = try store.adopt(tmp, sha256: hex, snapshotId: request.snapshotId)
        return SnapshotResponse(snapshotRef: ref, sizeBytes: written, info: ["host": .string(h.name), "sha256": .string(hex)])
    }

    /// Deletes the snapshot from our data dir (hosts keep a copy of a blob only until `gc`).
    public func deleteSnapshot(_ request: DeleteSnapshotRequest, call: PluginCall) throws(PluginError) {
        try SnapshotFiles(dataDir: config.dataDir).delete(ref: request.snapshotRef)
    }
}
