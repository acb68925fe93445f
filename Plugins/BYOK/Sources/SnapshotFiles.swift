import Foundation
import Glibc
import PluginKit

/// Snapshots kept on the controller, content-addressed: `<data_dir>/byok/snapshots/<sha256>.tar.gz`,
/// with one marker per snapshot id in `<sha256>.refs/` so identical bytes are stored once and deleted
/// with their last snapshot. A snapshot's ref is `<snapshot id>/<sha256>`.
struct SnapshotFiles: Sendable {
    let dir: String

    init(dataDir: String) { dir = dataDir + "/byok/snapshots" }

    func path(_ hex: String) -> String { "\(dir)/\(hex).tar.gz" }

    /// The blob a ref names, checked to exist.
    func blob(ref: String) throws(PluginError) -> (path: String, sha256: String) {
        let (_, hex) = try parse(ref)
        guard LocalFiles.exists(path(hex)) else {
            throw PluginError(.notFound, "The byok snapshot \(ref) is not stored in this data dir.")
        }
        return (path(hex), hex)
    }

    func parse(_ ref: String) throws(PluginError) -> (id: String, sha256: String) {
        let parts = ref.split(separator: "/")
        guard parts.count == 2, BYOKHost.isSafeName(String(parts[0]), max: 128), parts[1].count == 64,
              parts[1].utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw PluginError(.notFound, "'\(String(ref.prefix(100)))' is not a byok snapshot reference.")
        }
        return (String(parts[0]), String(parts[1]))
    }

    /// Stores a received snapshot file (already verified) under its hash, marked as `snapshotId`'s.
    func adopt(_ tmp: String, sha256 hex: String, snapshotId: String) throws(PluginError) -> String {
        try LocalFiles.mkdirs("\(dir)/\(hex).refs", mode: 0o700)
        try LocalFiles.writeAtomically("\(dir)/\(hex).refs/\(snapshotId)", Data(), mode: 0o600)
        guard rename(tmp, path(hex)) == 0 else { throw LocalFiles.failure("store the snapshot", path(hex)) }
        return "\(snapshotId)/\(hex)"
    }

    /// Drops a snapshot's marker, and the blob with its last one.
    func delete(ref: String) throws(PluginError) {
        let (id, hex) = try parse(ref)
        let marker = "\(dir)/\(hex).refs/\(id)"
        guard LocalFiles.exists(marker) else {
            throw PluginError(.notFound, "The byok snapshot \(ref) is not stored (already deleted).")
        }
        unlink(marker)
        if rmdir("\(dir)/\(hex).refs") == 0 { unlink(path(hex)) }
    }
}
