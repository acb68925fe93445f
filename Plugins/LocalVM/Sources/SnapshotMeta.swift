import FoundationEssentials
import Glibc
import PluginKit

/// What `<data_dir>/snapshots/<snapshot_id>.json` records about one snapshot. A snapshot exists
/// exactly when this file does (it is published after its archive).
struct SnapshotMeta: Codable, Sendable, Equatable {
    var snapshotId: String
    /// The sandbox it was taken from (a restore may use this id again, or another).
    var sandboxId: String
    var hostId: String
    var profile: String
    /// The snapshot request's ownership labels.
    var labels: [String: String]
    /// The source sandbox's image as requested ("busybox" for none) and the lower layer it used:
    /// the archived upper layer only makes sense over that very lower layer.
    var image: String
    var lowerDir: String
    /// The id shift of the archived owners (host uid = uid_base + sandbox uid).
    var uidBase: UInt32
    /// Host clock (host.now()) when the snapshot was taken.
    var createdAtMs: Int64
    /// Size of the archive file in bytes.
    var sizeBytes: Int64
    /// The archive's file name next to this file, and its format.
    var archive: String
    var format: String

    enum CodingKeys: String, CodingKey {
        case snapshotId = "snapshot_id", sandboxId = "sandbox_id", hostId = "host_id", profile, labels, image
        case lowerDir = "lower_dir", uidBase = "uid_base", createdAtMs = "created_at_ms", sizeBytes = "size_bytes"
        case archive, format
    }

    /// The format of every archive this version writes: a tar of the upper dir (numeric owners,
    /// xattrs, ACLs), gzip-compressed.
    static let format = "tar+gzip"

    /// Decodes a meta file's bytes.
    static func decode(_ data: Data, path: String) throws(PluginError) -> SnapshotMeta {
        do {
            return try JSONDecoder().decode(SnapshotMeta.self, from: data)
        } catch {
            throw PluginError(.internal, "The snapshot metadata at \(path) is not valid JSON.")
        }
    }

    /// The encoded file content (sorted keys, so equal metadata gives equal bytes).
    func encoded() throws(PluginError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do { return try encoder.encode(self) } catch {
            throw PluginError(.internal, "The snapshot metadata could not be encoded: \(error).")
        }
    }
}
