import Dispatch
import FoundationEssentials
import Glibc
import Basics
import PluginKit

/// What `<data_dir>/sandboxes/<id>/meta.json` records about one sandbox.
struct SandboxMeta: Codable, Sendable, Equatable {
    var sandboxId: String
    var hostId: String
    var profile: String
    var labels: [String: String]
    /// Environment every exec starts with (the create request's `env`).
    var env: [String: String]
    /// Host clock (host.now()) at create.
    var createdAtMs: Int64
    /// Host pid of the sandbox init; 0 while it is being started.
    var initPid: Int32
    /// Field 22 of /proc/<pid>/stat when the init started, so a reused pid is not mistaken for it.
    var initStartTime: UInt64
    /// host.now() + timeout, when a timeout is set.
    var deadlineMs: Int64?
    /// The image as requested and the lower layer it resolved to.
    var image: String
    var lowerDir: String
    var uidBase: UInt32
    var cgroupParent: String
    /// "bridge" for a sandbox with a veth pair and a network lease; nil or "none" for loopback only.
    var network: String? = nil
    /// First host id of the sandbox's own range (its root's host uid); nil: `uid_base` (no pool).
    var hostUidBase: UInt32? = nil
    /// Device and inode of the root of the sandbox's control tmpfs (`/run/sandboxer`), which its init
    /// holds (CLocalVM/ctl.c): set_timeout writes there only when the init's fd is that directory.
    /// nil: a sandbox of an earlier version, whose control dir is the host path `ctl/`.
    var ctlDev: UInt64? = nil
    var ctlIno: UInt64? = nil

    enum CodingKeys: String, CodingKey {
        case sandboxId = "sandbox_id", hostId = "host_id", profile, labels, env
        case createdAtMs = "created_at_ms", initPid = "init_pid", initStartTime = "init_start_time"
        case deadlineMs = "deadline_ms", image, lowerDir = "lower_dir", uidBase = "uid_base"
        case cgroupParent = "cgroup_parent", network, hostUidBase = "host_uid_base"
        case ctlDev = "ctl_dev", ctlIno = "ctl_ino"
    }

    /// Reads a meta file; nil when it does not exist, an error when it is unreadable.
    static func load(_ path: String) throws(PluginError) -> SandboxMeta? {
        switch BoundedFile.read(path, limit: maxFileBytes, limitText: "4 MiB") {
        case .success(let bytes):
            do { return try SandboxMeta(json: Data(bytes)) } catch {
                throw PluginError(.internal, "The sandbox metadata at \(path) is not valid: \(error.description).")
            }
        case .failure(let failure) where failure.isMissing: return nil
        case .failure(let failure): throw PluginError(.internal, "The sandbox metadata at \(path) could not be read: \(failure.reason).")
        }
    }

    /// Writes the meta file atomically (temp file + rename).
    func save(_ path: String) throws(PluginError) {
        // `jsonData` (SandboxMeta+JSON.swift): JSONEncoder's bytes without its first use per process.
        try FileOps.writeAtomically(path, jsonData)
    }
}
