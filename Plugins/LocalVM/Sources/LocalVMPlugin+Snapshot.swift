import Dispatch
import FoundationEssentials
import Glibc
import PluginKit

/// Capability `sandboxer.snapshot/1`: a snapshot is a gzip-compressed tar of the sandbox's overlay
/// upper dir, captured while the sandbox's processes are frozen; restore is create with that upper
/// dir unpacked before the init starts. The base image (lower layer) is never copied.
extension LocalVMPlugin {
    /// Where this instance keeps snapshots: `<data_dir>/snapshots`.
    var snapshots: SnapshotStore { SnapshotStore(dataDir: config.dataDir) }

    /// Captures the sandbox's writable layer consistently (frozen while tar copies it) and leaves
    /// the sandbox running. The snapshot id is its reference.
    public func snapshot(_ request: SnapshotRequest, call: PluginCall) throws(PluginError) -> SnapshotResponse {
        let paths = try layout(request.sandboxId)
        let id = request.snapshotId
        try SnapshotStore.check(id, field: "snapshot_id")
        let meta = try loadMeta(paths)
        let store = snapshots
        if store.exists(id) {
            throw PluginError(.conflict, "A localvm snapshot with id \(id) already exists.")
        }
        try store.prepare()
        let staging = try store.makeStaging(id)
        defer { staging.discard() }
        let plain = try staging.create("upper.tar")
        defer { close(plain) }
        let packed = try staging.create(SnapshotStore.archiveName)
        defer { close(packed) }
        // Frozen only for the copy; compression runs with the sandbox going again.
        let frozenMs = try whileFrozen(paths, meta) { () throws(PluginError) in
            try SnapshotArchive.capture(upper: paths.upper, to: plain)
        }
        let upperBytes = Self.fileSize(plain)
        try SnapshotArchive.compress(plain, to: packed)
        guard fsync(packed) == 0 else { throw FileOps.failure("fsync", staging.path + "/" + SnapshotStore.archiveName) }
        _ = unlink(staging.path + "/upper.tar")
        let snap = SnapshotMeta(
            snapshotId: id, sandboxId: request.sandboxId, hostId: meta.hostId, profile: meta.profile,
            labels: request.labels, image: Self.imageName(meta.image) ?? "busybox", lowerDir: meta.lowerDir,
            uidBase: meta.uidBase, createdAtMs: nowMs(), sizeBytes: Self.fileSize(packed),
            archive: SnapshotStore.archiveName, format: SnapshotMeta.format)
        let json = try staging.create(SnapshotStore.metaName)
        defer { close(json) }
        try Self.writeAll(json, try snap.encoded(), path: staging.path + "/" + SnapshotStore.metaName)
        guard fsync(json) == 0 else { throw FileOps.failure("fsync", staging.path + "/" + SnapshotStore.metaName) }
        try store.commit(staging, as: id)
        host.log(.info, "localvm snapshot \(id) of sandbox \(request.sandboxId) taken",
                 metadata: ["size_bytes": "\(snap.sizeBytes)", "frozen_ms": "\(frozenMs)"])
        return SnapshotResponse(snapshotRef: id, sizeBytes: snap.sizeBytes, info: [
            "path": .string(store.archivePath(id)),
            "format": .string(snap.format),
            "frozen_ms": .number(Double(frozenMs)),
            "upper_tar_bytes": .number(Double(upperBytes)),
            "source_sandbox_id": .string(request.sandboxId),
            "lower_dir": .string(snap.lowerDir),
            "created_at_ms": .number(Double(snap.createdAtMs)),
        ])
    }

    /// Makes a sandbox exactly as create does, whose upper dir starts as the snapshot's
    /// (with the default `network_options`; `invoke` passes the request's own).
    public func restore(_ request: RestoreRequest, call: PluginCall) throws(PluginError) -> CreateResponse {
        try restore(request, network: NetworkOptions(), call: call)
    }

    /// restore with the given `network_options`.
    func restore(_ request: RestoreRequest, network options: NetworkOptions, call: PluginCall) throws(PluginError) -> CreateResponse {
        let create = request.create
        let paths = try layout(create.sandboxId)
        try Self.validate(create, network: options)
        try SnapshotStore.check(request.snapshotRef, field: "snapshot_ref")
        let store = snapshots
        let snap = try store.load(request.snapshotRef)
        if let requested = Self.imageName(create.image), requested != snap.image {
            throw PluginError(.invalidRequest, "The snapshot \(snap.snapshotId) was taken on the image '\(snap.image)', not '\(requested)': its writable layer only fits the image it was taken on.")
        }
        guard snap.uidBase == config.uidBase else {
            throw PluginError(.invalidRequest, "The snapshot \(snap.snapshotId) holds files owned for uid_base \(snap.uidBase), but this backend uses uid_base \(config.uidBase).")
        }
        try cgroups.checkAvailable()
        let lower = try lowerLayer(of: snap)
        // Open now: a delete_snapshot racing with this restore cannot take the bytes away.
        let archive = try store.openArchive(request.snapshotRef)
        defer { close(archive) }
        var response = try provision(create, paths: paths, image: snap.image, lower: lower, network: options) { (p) throws(PluginError) in
            try SnapshotArchive.extract(archive, into: p.upper)
        }
        response.info["snapshot_ref"] = .string(snap.snapshotId)
        host.log(.info, "localvm sandbox \(create.sandboxId) restored from snapshot \(snap.snapshotId)")
        return response
    }

    /// Removes a snapshot's archive and metadata; not_found when it is already gone.
    /// First removes the staging files of writers that are gone: the host's reconcile of a snapshot
    /// killed mid-way calls this (and gets not_found, the snapshot never existed), and its staging
    /// archive must not wait for some later snapshot to clean it.
    public func deleteSnapshot(_ request: DeleteSnapshotRequest, call: PluginCall) throws(PluginError) {
        try SnapshotStore.check(request.snapshotRef, field: "snapshot_ref")
        snapshots.removeLeftovers()
        try snapshots.delete(request.snapshotRef)
        host.log(.info, "localvm snapshot \(request.snapshotRef) deleted")
    }

    /// Runs `body` with every process of the sandbox frozen and thaws it afterwards, also when
    /// `body` fails. Returns how long the sandbox was frozen, in milliseconds (monotonic clock;
    /// a measurement, not a lifecycle time). One snapshot of a sandbox at a time (`SnapshotLock`).
    func whileFrozen(_ paths: SandboxLayout, _ meta: SandboxMeta,
                     _ body: () throws(PluginError) -> Void) throws(PluginError) -> Int64 {
        try SnapshotLock.shared.withLock(paths.dir + "/snapshot.lock") { () throws(PluginError) -> Int64 in
            try whileFrozenLocked(paths.sandboxId, meta, body)
        }
    }

    /// Thaws a sandbox that a snapshot left frozen because its process died mid-capture (a frozen
    /// sandbox would hang every exec). A snapshot still running holds the lock: wait for it, then look again.
    func thawIfAbandoned(_ paths: SandboxLayout) throws(PluginError) {
        let id = paths.sandboxId
        guard let state = cgroups.freezerState(id), state != "THAWED" else { return }
        try SnapshotLock.shared.withLock(paths.dir + "/snapshot.lock") { () throws(PluginError) in
            guard let now = cgroups.freezerState(id), now != "THAWED" else { return }
            host.log(.warning, "localvm sandbox \(id) was left \(now) by an interrupted snapshot; thawing it")
            try cgroups.thaw(id)
        }
    }

    private func whileFrozenLocked(_ id: String, _ meta: SandboxMeta,
                                   _ body: () throws(PluginError) -> Void) throws(PluginError) -> Int64 {
        guard FileOps.exists(cgroups.freezerStateFile(id)) else {
            // Without a freezer cgroup only a sandbox with no processes can be captured consistently.
            let running = meta.initPid > 0 && ProcessIdentity(pid: meta.initPid, startTime: meta.initStartTime).isRunning
            if running || !cgroups.pids(id).isEmpty {
                throw PluginError(.conflict, "The sandbox \(id) is running but has no freezer cgroup, so it cannot be quiesced for a snapshot.")
            }
            try body()
            return 0
        }
        let start = DispatchTime.now().uptimeNanoseconds
        try cgroups.freeze(id)
        var failure: PluginError?
        do { try body() } catch { failure = error }
        do { try cgroups.thaw(id) } catch {
            host.log(.error, "localvm sandbox \(id) stays frozen after a snapshot", metadata: ["error": error.message])
            throw PluginError(.internal, error.message + (failure.map { " The snapshot had failed too: \($0.message)" } ?? ""))
        }
        if let failure { throw failure }
        return Int64((DispatchTime.now().uptimeNanoseconds - start) / 1_000_000)
    }

    /// The lower layer the snapshot's upper dir belongs on: the recorded one while it exists,
    /// else the image resolved again, but only if that gives the very same directory.
    func lowerLayer(of snap: SnapshotMeta) throws(PluginError) -> String {
        if FileOps.exists(snap.lowerDir + "/bin/sh") { return snap.lowerDir }
        let lower = try images.resolve(snap.image)
        guard lower == snap.lowerDir else {
            throw PluginError(.invalidRequest, "The image layer \(snap.lowerDir) that snapshot \(snap.snapshotId) was taken on is gone, and the image '\(snap.image)' now resolves to \(lower): the snapshot cannot be restored over a different base.")
        }
        return lower
    }

    /// The image name create records: nil and "" both mean the default, "busybox".
    static func imageName(_ image: String?) -> String? {
        guard let image, !image.isEmpty else { return nil }
        return image
    }

    /// Size of an open file, 0 when it cannot be read.
    static func fileSize(_ fd: Int32) -> Int64 {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int64(st.st_size) : 0
    }

    /// Writes all of `data` to `fd`.
    static func writeAll(_ fd: Int32, _ data: Data, path: String) throws(PluginError) {
        var failed: Int32 = 0
        data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count, let base = raw.baseAddress {
                let n = write(fd, base + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; failed = errno; return }
                off += n
            }
        }
        if failed != 0 { throw FileOps.failure("write", path, failed) }
    }
}
