import FoundationEssentials
import Basics
import Glibc
import PluginKit

/// Host id ranges, one per sandbox: 65536-wide slices from `uid_pool_base`, leased under
/// `<data_dir>/uids/` like the network pool's /30s. A lease is `uids/<sandbox id>`, a symlink whose
/// target is the slice number (earlier versions wrote a file holding it: still read); every change happens holding `uids/lock` (process-wide lock plus a POSIX record lock,
/// see SnapshotLock), so two creates never take the same slice. A lease whose sandbox directory is
/// gone is a leftover of a crash and is reclaimed by the next lease (reconcile); destroy frees its
/// sandbox's lease once no process of it is left.
struct UidPool: Sendable {
    let dir: String
    let lockPath: String
    let sandboxesDir: String
    /// First host id of slice 0.
    let base: UInt32
    /// How many slices there are (0: the pool is off and every sandbox uses `uid_base`).
    let slices: UInt32

    init(dataDir: String, base: UInt32, slices: UInt32) {
        dir = dataDir + "/uids"
        lockPath = dataDir + "/uids/lock"
        sandboxesDir = dataDir + "/sandboxes"
        self.base = base
        self.slices = slices
    }

    var enabled: Bool { slices > 0 }

    func path(_ sandboxId: String) -> String { dir + "/" + sandboxId }

    /// The first host id of slice `n`.
    func hostBase(_ slice: UInt32) -> UInt32 { base + slice * LocalVMConfig.idCount }

    /// Leases the lowest free slice for a sandbox (whose directory already exists); returns its
    /// first host id. A sandbox that already holds one gets it again.
    func lease(_ sandboxId: String) throws(PluginError) -> UInt32 {
        try FileOps.mkdirs(dir, mode: 0o700)
        return try SnapshotLock.shared.withLock(lockPath) { () throws(PluginError) -> UInt32 in
            var used = Set<UInt32>()
            for (id, slice) in leases() {
                if id == sandboxId { return hostBase(slice) }
                // Reconcile: the sandbox directory goes after its lease; a lease without one is a leftover.
                if !FileOps.exists(sandboxesDir + "/" + id) { _ = unlink(path(id)); continue }
                used.insert(slice)
            }
            guard let free = (0..<slices).first(where: { !used.contains($0) }) else {
                throw PluginError(.quota, "All \(slices) host id ranges of the localvm uid pool are leased; destroy a sandbox or raise 'uid_pool_slices'.")
            }
            // Visible to every process at once; not fsync'd: a lease only has to hold for the host's
            // boot (a host crash ends every sandbox that could hold a slice, and a lease lost with it
            // frees nothing in use), and the directory sync was 0.6-10 ms of every create on a
            // loaded disk (docs/backends/localvm.md "What is not synced").
            try writeRecord(path(sandboxId), slice: free)
            return hostBase(free)
        }
    }

    /// Frees a sandbox's slice (nothing when it has none).
    func release(_ sandboxId: String) throws(PluginError) {
        guard FileOps.exists(path(sandboxId)) else { return }
        try SnapshotLock.shared.withLock(lockPath) { () throws(PluginError) in
            if unlink(path(sandboxId)) != 0 && errno != ENOENT { throw FileOps.failure("unlink", path(sandboxId)) }
        }
    }

    /// Every lease: sandbox id → slice (unreadable or out-of-range files are skipped).
    func leases() -> [(String, UInt32)] {
        FileOps.list(dir).compactMap { name in
            guard name != "lock", !name.hasPrefix("."), !name.contains(".tmp-"), LocalVMConfig.isSafeName(name, maxLength: 64),
                  let slice = readRecord(name), slice < slices
            else { return nil }
            return (name, slice)
        }.sorted { $0.0 < $1.0 }
    }

    /// Writes a lease as a symlink to its slice number: a target this short lives in the inode
    /// itself, so the unlink at destroy frees no data block (the one-line file of earlier versions
    /// had one, and freeing it issued a synchronous discard on a file system mounted `discard`, in
    /// every destroy). A temporary renamed over the name, as `FileOps.writeAtomically` does.
    func writeRecord(_ path: String, slice: UInt32) throws(PluginError) {
        let tmp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        guard symlink("\(slice)", tmp) == 0 else { throw FileOps.failure("symlink", tmp) }
        if rename(tmp, path) != 0 { let e = errno; unlink(tmp); throw FileOps.failure("rename", path, e) }
    }

    /// The slice a lease records: the symlink's target, or the text of a lease file written by an
    /// earlier version; nil when it is neither or not a number. The symlink is never followed.
    func readRecord(_ name: String) -> UInt32? {
        var buffer = [CChar](repeating: 0, count: 16)
        let n = readlink(path(name), &buffer, buffer.count)
        if n >= 0 {
            return UInt32(String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        guard errno == EINVAL, let text = FileOps.readText(path(name)) else { return nil }
        return UInt32(text.trimmed())
    }
}
