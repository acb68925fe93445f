import FoundationEssentials
import Glibc
import PluginKit

/// The snapshots of one data dir: `<data_dir>/snapshots/<id>/` holding `archive.tar.gz` and
/// `meta.json`. A snapshot exists exactly when its `meta.json` does.
///
/// Crash safety: a snapshot is built in a staging directory `.tmp-<pid>.<start>.<rand>-<id>`
/// (never read as a snapshot), its files fsynced, then renamed to `<id>` in one step (a rename
/// onto an existing snapshot fails, so an id is never overwritten) and the parent fsynced.
/// A staging directory whose writer process (pid and start time) is no longer running is the
/// leftover of a crash and is removed by the next snapshot or snapshot delete. No `flock` is used: the exec helper is
/// forked without exec and would keep a copy of a locked descriptor for as long as its command runs.
struct SnapshotStore: Sendable {
    /// `<data_dir>/snapshots`
    let dir: String

    init(dataDir: String) { dir = dataDir + "/snapshots" }

    /// Prefix of every staging directory (and of nothing else).
    static let stagingPrefix = ".tmp-"
    static let archiveName = "archive.tar.gz"
    static let metaName = "meta.json"

    func snapshotDir(_ id: String) -> String { dir + "/" + id }
    func archivePath(_ id: String) -> String { snapshotDir(id) + "/" + Self.archiveName }
    func metaPath(_ id: String) -> String { snapshotDir(id) + "/" + Self.metaName }

    /// Checks that a snapshot id or reference is usable as a file name.
    static func check(_ id: String, field: String) throws(PluginError) {
        guard LocalVMConfig.isSafeName(id, maxLength: 100), id.first != "." else {
            throw PluginError(.invalidRequest, "The \(field) '\(id)' is not usable by localvm: use 1 to 100 letters, digits, '.', '_' or '-', not starting with '.'.")
        }
    }

    /// True when anything is stored under the id (a snapshot, or the remains of a deleted one).
    func exists(_ id: String) -> Bool { FileOps.exists(snapshotDir(id)) }

    /// The snapshot's metadata; not_found when the snapshot does not exist.
    func load(_ id: String) throws(PluginError) -> SnapshotMeta {
        let path = metaPath(id)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PluginError(.notFound, "No localvm snapshot \(id) exists on this host.")
        }
        return try SnapshotMeta.decode(data, path: path)
    }

    /// Opens the snapshot's archive for reading (O_CLOEXEC); not_found when it is gone.
    /// The caller closes it. Holding it open keeps the bytes even if the snapshot is deleted meanwhile.
    func openArchive(_ id: String) throws(PluginError) -> Int32 {
        let path = archivePath(id)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { throw PluginError(.notFound, "The archive of localvm snapshot \(id) is missing (\(path)).") }
            throw FileOps.failure("open", path)
        }
        return fd
    }

    /// Removes a snapshot: its metadata first (so it stops being a snapshot), then the rest.
    /// not_found when nothing was stored under the id.
    func delete(_ id: String) throws(PluginError) {
        let path = snapshotDir(id)
        guard FileOps.exists(path) else { throw PluginError(.notFound, "No localvm snapshot \(id) exists on this host.") }
        if unlink(metaPath(id)) != 0 && errno != ENOENT { throw FileOps.failure("unlink", metaPath(id)) }
        try FileOps.removeTree(path)
        syncDirectory()
    }

    /// Creates the snapshots directory when needed and removes the leftovers of crashed writers.
    func prepare() throws(PluginError) {
        try FileOps.mkdirs(dir, mode: 0o700)
        removeLeftovers()
    }

    /// Removes staging directories of writers that are no longer running, and snapshot
    /// directories without metadata (a delete cut short).
    func removeLeftovers() {
        for name in FileOps.list(dir) {
            let path = dir + "/" + name
            if name.hasPrefix(Self.stagingPrefix) {
                if let writer = Self.writer(ofStaging: name), writer.isRunning { continue }
                try? FileOps.removeTree(path)
            } else if !name.hasPrefix("."), FileOps.isDirectory(path), !FileOps.exists(path + "/" + Self.metaName) {
                try? FileOps.removeTree(path)
            }
        }
    }

    /// The process that owns a staging directory, from its name; nil when the name is not ours.
    static func writer(ofStaging name: String) -> ProcessIdentity? {
        let tag = name.dropFirst(stagingPrefix.count).prefix { $0 != "-" }
        let parts = tag.split(separator: ".")
        guard parts.count == 3, let pid = Int32(parts[0]), let start = UInt64(parts[1]) else { return nil }
        return ProcessIdentity(pid: pid, startTime: start)
    }

    /// This process, as named in its staging directories.
    static let me: ProcessIdentity = ProcessIdentity.current(getpid()) ?? ProcessIdentity(pid: getpid(), startTime: 0)

    /// A new, empty staging directory for the snapshot `id`.
    func makeStaging(_ id: String) throws(PluginError) -> Staging {
        let me = Self.me
        let path = dir + "/" + Self.stagingPrefix + "\(me.pid).\(me.startTime).\(UInt32.random(in: 0 ... .max))-" + id
        if Glibc.mkdir(path, 0o700) != 0 { throw FileOps.failure("mkdir", path) }
        return Staging(path: path)
    }

    /// Gives a complete staging directory its final name, which must not exist yet (conflict
    /// otherwise), durably: the files inside were fsynced by the caller.
    func commit(_ staging: Staging, as id: String) throws(PluginError) {
        Self.sync(staging.path)
        if rename(staging.path, snapshotDir(id)) != 0 {
            let e = errno
            if e == EEXIST || e == ENOTEMPTY || e == EISDIR {
                throw PluginError(.conflict, "A localvm snapshot with id \(id) already exists.")
            }
            throw FileOps.failure("rename", snapshotDir(id), e)
        }
        syncDirectory()
    }

    /// fsync of the snapshots directory, so renames survive a power loss.
    func syncDirectory() { Self.sync(dir) }

    static func sync(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}

/// A staging directory in the snapshots directory; `discard()` removes it (a no-op once committed).
struct Staging: Sendable {
    let path: String

    /// Creates (O_EXCL) a file in the staging directory, mode 0600: it holds the sandbox's files.
    func create(_ name: String) throws(PluginError) -> Int32 {
        let file = path + "/" + name
        let fd = open(file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 { throw FileOps.failure("open", file) }
        return fd
    }

    func discard() { try? FileOps.removeTree(path) }
}
