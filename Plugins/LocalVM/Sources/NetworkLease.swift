import Foundation
import Glibc
import PluginKit

/// Everything the network of one bridged sandbox holds on the host, recorded in
/// `<data_dir>/network/leases/<sandbox_id>.json` before any of it is made and removed only after
/// all of it is gone: the lease is the anchor that destroy, inventory and reconcile work from.
struct NetworkLease: Codable, Sendable, Equatable {
    /// A published port as bound: the host port is the real one, also when 0 was asked for.
    struct Published: Codable, Sendable, Equatable {
        var targetPort: Int
        var hostAddress: String
        var hostPort: Int
        enum CodingKeys: String, CodingKey { case targetPort = "target_port", hostAddress = "host_address", hostPort = "host_port" }
    }

    var sandboxId: String
    /// The create request's labels (host, sandbox, profile), so a lease alone proves ownership.
    var labels: [String: String]
    /// Host clock at lease time.
    var createdAtMs: Int64
    /// Index of the sandbox's /30 in the pool.
    var slot: Int
    /// The /30 itself, its two addresses and the host-side link.
    var subnet: String
    var hostAddress: String
    var sandboxAddress: String
    var link: String
    var egress: String
    var allowSandboxes: Bool
    var published: [Published]
    /// The port forwarder (pid and /proc start time), once it runs.
    var forwarderPid: Int32?
    var forwarderStartTime: UInt64?

    enum CodingKeys: String, CodingKey {
        case sandboxId = "sandbox_id", labels, createdAtMs = "created_at_ms", slot, subnet
        case hostAddress = "host_address", sandboxAddress = "sandbox_address", link, egress
        case allowSandboxes = "allow_sandboxes", published, forwarderPid = "forwarder_pid"
        case forwarderStartTime = "forwarder_start_time"
    }
}

/// The leases of one backend instance, under `<data_dir>/network/`. Every change happens holding
/// `network/lock` (a process-wide lock plus a POSIX record lock, like a snapshot's), so two creates
/// in this process or in another one over the same data dir never take the same /30.
struct LeaseStore: Sendable {
    let dir: String
    let lockPath: String

    init(dataDir: String) {
        dir = dataDir + "/network/leases"
        lockPath = dataDir + "/network/lock"
    }

    func path(_ sandboxId: String) -> String { dir + "/" + sandboxId + ".json" }

    /// Runs body holding the network lock (the directories are made first).
    func withLock<T>(_ body: () throws(PluginError) -> T) throws(PluginError) -> T {
        try FileOps.mkdirs(dir, mode: 0o700)
        // SnapshotLock is a lock on a named file, whatever it guards; see its notes on flock.
        return try SnapshotLock.shared.withLock(lockPath, body)
    }

    func exists(_ sandboxId: String) -> Bool { FileOps.exists(path(sandboxId)) }

    /// The lease of a sandbox; nil when it has none, an error when the file is damaged.
    func load(_ sandboxId: String) throws(PluginError) -> NetworkLease? {
        let p = path(sandboxId)
        guard let data = FileManager.default.contents(atPath: p) else { return nil }
        guard data.count <= 64 << 10, let lease = try? JSONDecoder().decode(NetworkLease.self, from: data) else {
            throw PluginError(.internal, "The network lease at \(p) is not valid JSON.")
        }
        return lease
    }

    /// Writes a lease atomically and durably (the /30 must not be handed out twice after a crash).
    func save(_ lease: NetworkLease) throws(PluginError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(lease) else {
            throw PluginError(.internal, "The network lease of \(lease.sandboxId) could not be encoded.")
        }
        try FileOps.writeAtomically(path(lease.sandboxId), data, mode: 0o600)
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }

    func remove(_ sandboxId: String) throws(PluginError) {
        if unlink(path(sandboxId)) != 0 && errno != ENOENT { throw FileOps.failure("unlink", path(sandboxId)) }
    }

    /// Sandbox ids that hold a lease.
    func ids() -> [String] {
        FileOps.list(dir).compactMap { name in
            guard name.hasSuffix(".json"), !name.hasPrefix(".") else { return nil }
            let id = String(name.dropLast(5))
            return LocalVMConfig.isSafeName(id, maxLength: 64) ? id : nil
        }.sorted()
    }

    /// Every readable lease (a damaged file is skipped here and reported by `load`).
    func all() -> [NetworkLease] { ids().compactMap { try? load($0) } }
}
