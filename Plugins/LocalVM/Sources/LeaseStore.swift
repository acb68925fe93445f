import FoundationEssentials
import Glibc
import PluginKit

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
        return try SnapshotLock.shared.withLock(lockPath) { () throws(PluginError) -> T in
            removeAbandonedTemporaries()
            return try body()
        }
    }

    /// Removes the temporary files of lease writes that never reached their rename. Every write here
    /// happens holding the network lock (`save` is only called inside `withLock`, in this process or
    /// another), so a temporary seen while holding it belongs to a writer killed between its write
    /// and its rename (found by the load test's kill of serve: `sbx-….json.tmp-<pid>-<n>` left).
    func removeAbandonedTemporaries() {
        for name in FileOps.list(dir) where name.contains(".json.tmp-") { unlink(dir + "/" + name) }
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

    /// Writes a lease atomically (a temporary renamed over it). Not fsync'd: a /30 only has to stay
    /// unique for the host's boot — its holder (a sandbox's net namespace, veth and filter rules)
    /// does not outlive a host crash, so a lease lost with one frees nothing in use, and a process
    /// crash loses nothing from the page cache (docs/backends/localvm.md "What is not synced").
    func save(_ lease: NetworkLease) throws(PluginError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(lease) else {
            throw PluginError(.internal, "The network lease of \(lease.sandboxId) could not be encoded.")
        }
        try FileOps.writeAtomically(path(lease.sandboxId), data, mode: 0o600)
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
