import CLocalVM
import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

extension LocalVMWorld {
    /// A fresh host-style snapshot id (`snap-` and 16 hex digits).
    static func snapshotId() -> String { "snap-" + String(UInt64.random(in: 1 ... .max), radix: 16).leftPadded(to: 16) }

    @discardableResult
    func snapshot(_ id: String, _ snapshotId: String) throws -> SnapshotResponse {
        try plugin.snapshot(SnapshotRequest(sandboxId: id, backendRef: id, snapshotId: snapshotId,
                                            labels: [OwnershipLabel.host: "test-host", OwnershipLabel.sandbox: id]),
                            call: .detached)
    }

    @discardableResult
    func restore(_ id: String, from ref: String, image: String? = nil, network: String = "none") throws -> CreateResponse {
        try plugin.restore(RestoreRequest(create: request(id, image: image, network: network), snapshotRef: ref), call: .detached)
    }

    func deleteSnapshot(_ ref: String) throws {
        try plugin.deleteSnapshot(DeleteSnapshotRequest(snapshotId: ref, snapshotRef: ref), call: .detached)
    }

    var snapshotsDir: String { dataDir + "/snapshots" }

    func freezerState(_ id: String) -> String? { CgroupLayout(parent: cgroupParent).freezerState(id) }

    /// Reads a file of the sandbox (empty when it is missing).
    func read(_ id: String, _ path: String) throws -> String { try sh(id, "cat \(path) 2>/dev/null").out }

    /// True when the path exists in the sandbox.
    func exists(_ id: String, _ path: String) throws -> Bool { try exec(id, ["test", "-e", path]).exitCode == 0 }
}

@Suite("LocalVM snapshots", localVMAvailable)
struct LocalVMSnapshotTests {
    @Test("snapshot, restore into a new id and under the original id; the copies are independent")
    func snapshotRestore() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let a = "sa-\(UInt16.random(in: 0 ... .max))", b = "sb-\(UInt16.random(in: 0 ... .max))"
        let snap = LocalVMWorld.snapshotId()
        try world.create(a)
        #expect(try world.sh(a, "mkdir /data && echo hello > /data/file && chown 1000:1001 /data/file && chmod 640 /data/file").exitCode == 0)

        let taken = try world.snapshot(a, snap)
        #expect(taken.snapshotRef == snap)
        let archive = world.plugin.snapshots.archivePath(snap)
        var st = stat()
        #expect(stat(archive, &st) == 0)
        #expect(taken.sizeBytes == Int64(st.st_size) && taken.sizeBytes > 0)
        #expect(taken.info["path"] == .string(archive))
        #expect(taken.info["frozen_ms"]?.numberValue != nil)
        let snapMeta = try world.plugin.snapshots.load(snap)
        #expect(snapMeta.sandboxId == a && snapMeta.image == "busybox" && snapMeta.labels[OwnershipLabel.sandbox] == a)
        #expect(world.freezerState(a) == "THAWED")
        // Still running and writable after the snapshot; this write is not in it.
        #expect(try world.sh(a, "echo later > /data/after").exitCode == 0)
        expectPluginError(.conflict) { try world.snapshot(a, snap) }

        // A new sandbox from the snapshot.
        let restored = try world.restore(b, from: snap)
        #expect(restored.backendRef == b)
        #expect(restored.info["snapshot_ref"] == .string(snap))
        #expect(try world.status(b).state == "running")
        #expect(try world.read(b, "/data/file") == "hello\n")
        #expect(try world.exec(b, ["stat", "-c", "%u:%g %a", "/data/file"]).out == "1000:1001 640\n")
        #expect(try !world.exists(b, "/data/after"))
        #expect(try world.exec(b, ["hostname"]).out == b + "\n")
        let bMeta = try world.meta(b)
        #expect(bMeta.labels[OwnershipLabel.sandbox] == b && bMeta.image == "busybox" && bMeta.lowerDir == snapMeta.lowerDir)
        // Writes in either copy stay there.
        #expect(try world.sh(b, "echo from-b > /data/from-b").exitCode == 0)
        #expect(try !world.exists(a, "/data/from-b"))
        #expect(try world.sh(a, "echo from-a > /data/from-a").exitCode == 0)
        #expect(try !world.exists(b, "/data/from-a"))
        expectPluginError(.conflict) { try world.restore(b, from: snap) } // the id is taken
        #expect(try world.status(b).state == "running") // and the refused restore did not hurt it

        // The recreate case: the snapshot outlives its source, which is restored under its own id.
        try world.destroy(a)
        #expect(FileOps.exists(archive))
        try world.restore(a, from: snap)
        #expect(try world.read(a, "/data/file") == "hello\n")
        #expect(try !world.exists(a, "/data/after"))
        #expect(try !world.exists(a, "/data/from-a"))
        #expect(try world.exec(a, ["hostname"]).out == a + "\n")
        try world.destroy(a)
        try world.destroy(b)
    }

    @Test("restore refuses another image, another uid_base, bad requests and missing snapshots, and leaves nothing")
    func restoreValidation() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let a = "rv-\(UInt16.random(in: 0 ... .max))"
        let snap = LocalVMWorld.snapshotId()
        try world.create(a)
        try world.snapshot(a, snap)
        try world.destroy(a)
        expectPluginError(.invalidRequest) { try world.restore("rv-img", from: snap, image: "/some/other/rootfs") }
        expectPluginError(.invalidRequest) { try world.restore("rv-net", from: snap, network: "host") }
        expectPluginError(.invalidRequest) { try world.restore("rv-ref", from: "../escape") }
        expectPluginError(.notFound) { try world.restore("rv-missing", from: LocalVMWorld.snapshotId()) }
        let other = try LocalVMWorld.instance(dataDir: world.dataDir, cgroupParent: world.cgroupParent, uidBase: 300_000)
        expectPluginError(.invalidRequest) {
            try other.restore(RestoreRequest(create: world.request("rv-uid"), snapshotRef: snap), call: .detached)
        }
        #expect(FileOps.list(world.dataDir + "/sandboxes").isEmpty)
        // Restore is create: the same image named explicitly is fine, and limits, timeout and labels apply.
        let limited = world.request(a, resources: ResourceLimits(pids: 64), timeout: 3600, image: "busybox")
        _ = try world.plugin.restore(RestoreRequest(create: limited, snapshotRef: snap), call: .detached)
        #expect(FileOps.readText(CgroupLayout(parent: world.cgroupParent).dir("pids", a) + "/pids.max") == "64\n")
        let meta = try world.meta(a)
        #expect(meta.deadlineMs != nil && meta.labels == limited.labels)
        #expect(FileOps.readText("/proc/\(meta.initPid)/root/run/sandboxer/deadline") != nil)
        try world.destroy(a)

        // A damaged archive fails the restore, which leaves nothing behind.
        let damaged = LocalVMWorld.snapshotId()
        try world.create(a)
        try world.snapshot(a, damaged)
        try world.destroy(a)
        #expect(FileManager.default.createFile(atPath: world.plugin.snapshots.archivePath(damaged), contents: Data("garbage".utf8)))
        expectPluginError(.internal) { try world.restore(a, from: damaged) }
        #expect(FileOps.list(world.dataDir + "/sandboxes").isEmpty)
        #expect(!CgroupLayout(parent: world.cgroupParent).exists(a))
        expectPluginError(.notFound) { try world.snapshot("no-such-sandbox", LocalVMWorld.snapshotId()) }
        expectPluginError(.invalidRequest) { try world.snapshot("x", "../evil") }
    }

    @Test("a snapshot is consistent (taken frozen) and the sandbox runs on afterwards")
    func consistency() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let a = "cw-\(UInt16.random(in: 0 ... .max))", c = "cr-\(UInt16.random(in: 0 ... .max))"
        try world.create(a)
        // Filler files around a and b, so tar reads the two apart: without the freeze the writer
        // would move on between them. The writer puts the same increasing counter into a, then b,
        // each with one write(2) of 12 bytes over the old ones (printf is an ash builtin: no fork,
        // so it runs fast), so a frozen writer never leaves a half-written file.
        let fill = "mkdir /w && cd /w && i=0 && while [ $i -lt 300 ]; do i=$((i+1)); printf '%4096s' x > f$i; done"
        #expect(try world.sh(a, fill + " && printf '%012d' 0 > a && printf '%012d' 0 > b").exitCode == 0)
        let writer = "cd /w; i=0; while :; do i=$((i+1)); printf %012d $i 1<>a; printf %012d $i 1<>b; done"
        #expect(try world.sh(a, "sh -c '\(writer)' >/dev/null 2>&1 </dev/null &").exitCode == 0)
        let started = try waitFor(world, a) { $0 > 2 }
        #expect(started != nil, "the writer did not start")

        let snap = LocalVMWorld.snapshotId()
        let taken = try world.snapshot(a, snap)
        #expect(world.freezerState(a) == "THAWED")
        #expect((taken.info["frozen_ms"]?.numberValue ?? -1) >= 0)
        // Thawed: the counter moves on past what it was right after the snapshot.
        let after = try #require(try waitFor(world, a) { _ in true })
        #expect(try waitFor(world, a) { $0 > after } != nil, "the writer did not run again after the snapshot")

        try expectConsistent(world, restoring: snap, into: c)

        // Two snapshots of the running sandbox at once: they take turns, both are consistent,
        // and the sandbox ends up thawed (neither thawed it under the other's copy).
        let pair = [LocalVMWorld.snapshotId(), LocalVMWorld.snapshotId()]
        let errors = ErrorList()
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            do { try world.snapshot(a, pair[i]) } catch { errors.append("\(error)") }
        }
        #expect(errors.items.isEmpty, "\(errors.items)")
        #expect(world.freezerState(a) == "THAWED")
        for (i, ref) in pair.enumerated() { try expectConsistent(world, restoring: ref, into: c + "-\(i)") }
        try world.destroy(a)
    }

    /// Restores `ref` into `id`, checks the writer's two counters were captured between whole
    /// iterations (a == b, or a == b + 1 when frozen between the two writes), and destroys it.
    func expectConsistent(_ world: LocalVMWorld, restoring ref: String, into id: String,
                          sourceLocation: SourceLocation = #_sourceLocation) throws {
        try world.restore(id, from: ref)
        let values = try [world.read(id, "/w/a"), world.read(id, "/w/b")].compactMap { Int($0) }
        #expect(values.count == 2, "\(values)", sourceLocation: sourceLocation)
        if values.count == 2 {
            #expect(values[0] > 0, sourceLocation: sourceLocation)
            #expect(values[0] - values[1] == 0 || values[0] - values[1] == 1, "a=\(values[0]) b=\(values[1])",
                    sourceLocation: sourceLocation)
        }
        try world.destroy(id)
    }

    @Test("a failed snapshot thaws the sandbox and leaves no files; a sandbox left frozen can be destroyed")
    func failureThaws() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let a = "ft-\(UInt16.random(in: 0 ... .max))"
        try world.create(a)
        let upper = world.dataDir + "/sandboxes/\(a)/upper"
        let snap = LocalVMWorld.snapshotId()
        // The upper dir vanishes from the host's view: tar fails while the sandbox is frozen.
        #expect(rename(upper, upper + ".away") == 0)
        do {
            try world.snapshot(a, snap)
            Issue.record("a snapshot without its upper dir succeeded")
        } catch let error as PluginError {
            // The tool's own complaint reaches the caller.
            #expect(error.code == .internal && error.message.contains("No such file"), "\(error)")
        }
        #expect(rename(upper + ".away", upper) == 0)
        #expect(world.freezerState(a) == "THAWED")
        #expect(FileOps.list(world.snapshotsDir).isEmpty, "\(FileOps.list(world.snapshotsDir))")
        if world.freezerState(a) == "THAWED" { #expect(try world.exec(a, ["true"]).exitCode == 0) }
        // The failed id was never taken.
        try world.snapshot(a, snap)

        // The snapshots directory cannot be made: refused before anything is frozen.
        let other = try LocalVMWorld()
        defer { other.finish() }
        let b = "fb-\(UInt16.random(in: 0 ... .max))"
        try other.create(b)
        #expect(FileManager.default.createFile(atPath: other.snapshotsDir, contents: Data("not a dir".utf8)))
        expectPluginError(.internal) { try other.snapshot(b, LocalVMWorld.snapshotId()) }
        #expect(other.freezerState(b) == "THAWED")

        // A snapshot cut short by a crash leaves the sandbox frozen: destroy still ends it.
        let cgroups = CgroupLayout(parent: world.cgroupParent)
        try cgroups.freeze(a)
        #expect(world.freezerState(a) == "FROZEN")
        let meta = try world.meta(a)
        try world.destroy(a)
        #expect(!ProcessIdentity(pid: meta.initPid, startTime: meta.initStartTime).isRunning)
        try other.destroy(b)
    }

    @Test("delete_snapshot removes the files; then delete and restore answer not_found; crash leftovers are ignored and removed")
    func deleteAndLeftovers() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let a = "ds-\(UInt16.random(in: 0 ... .max))"
        let snap = LocalVMWorld.snapshotId()
        try world.create(a)
        try world.snapshot(a, snap)
        let store = world.plugin.snapshots
        #expect(FileOps.exists(store.archivePath(snap)) && FileOps.exists(store.metaPath(snap)))
        try world.deleteSnapshot(snap)
        #expect(!FileOps.exists(store.snapshotDir(snap)))
        expectPluginError(.notFound) { try world.deleteSnapshot(snap) }
        expectPluginError(.notFound) { try world.restore("ds-restored", from: snap) }
        #expect(!FileOps.exists(world.dataDir + "/sandboxes/ds-restored"))
        expectPluginError(.invalidRequest) { try world.deleteSnapshot("..") }

        // What crashes leave: staging dirs of a writer that is gone (pid 1 never has start time 2),
        // one with no writer in its name, and a snapshot dir whose metadata a cut-short delete removed.
        // A staging dir of a live writer (this process) must stay.
        let me = SnapshotStore.me
        let dead = ".tmp-1.2.3-snap-0000000000000001", unnamed = ".tmp-junk", live = ".tmp-\(me.pid).\(me.startTime).7-snap-0000000000000002"
        let orphan = "snap-00000000000000aa"
        for name in [dead, unnamed, live, orphan] {
            #expect(mkdir(world.snapshotsDir + "/" + name, 0o700) == 0)
            #expect(FileManager.default.createFile(atPath: world.snapshotsDir + "/\(name)/\(SnapshotStore.archiveName)", contents: Data("partial".utf8)))
        }
        expectPluginError(.notFound) { try world.restore("ds-orphan", from: orphan) }
        expectPluginError(.invalidRequest) { try world.restore("ds-temp", from: dead) }
        // The next snapshot removes the leftovers and keeps the live writer's dir.
        let next = LocalVMWorld.snapshotId()
        try world.snapshot(a, next)
        #expect(Set(FileOps.list(world.snapshotsDir)) == [next, live])
        #expect(Set(FileOps.list(store.snapshotDir(next))) == [SnapshotStore.archiveName, SnapshotStore.metaName])
        #expect(SnapshotStore.writer(ofStaging: dead) == ProcessIdentity(pid: 1, startTime: 2))
        #expect(SnapshotStore.writer(ofStaging: unnamed) == nil)
        try world.destroy(a)
        try world.deleteSnapshot(next)
    }

    @Test("delete_snapshot of a snapshot interrupted mid-way removes its staging dir (the host's reconcile calls it)")
    func deleteRemovesInterruptedStaging() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let snap = LocalVMWorld.snapshotId()
        // What a writer killed mid-way leaves (pid 1 never has start time 2), and a live writer's dir.
        let me = SnapshotStore.me
        let dead = ".tmp-1.2.9-\(snap)", live = ".tmp-\(me.pid).\(me.startTime).8-snap-0000000000000003"
        #expect(mkdir(world.snapshotsDir, 0o700) == 0 || errno == EEXIST)
        for name in [dead, live] {
            #expect(mkdir(world.snapshotsDir + "/" + name, 0o700) == 0)
            #expect(FileManager.default.createFile(atPath: world.snapshotsDir + "/\(name)/\(SnapshotStore.archiveName)", contents: Data("partial".utf8)))
        }
        // The snapshot never existed: not_found, but the dead writer's staging is gone all the same.
        expectPluginError(.notFound) { try world.deleteSnapshot(snap) }
        #expect(Set(FileOps.list(world.snapshotsDir)) == [live])
        try FileOps.removeTree(world.snapshotsDir + "/" + live)
    }

    @Test("whiteouts, opaque directories, owners and modes survive a snapshot")
    func whiteouts() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let a = "wo-\(UInt16.random(in: 0 ... .max))", b = "wr-\(UInt16.random(in: 0 ... .max))"
        try world.create(a)
        #expect(try world.exists(a, "/etc/hosts"))
        // A deleted base file (a whiteout) and a base directory replaced by a new one (opaque).
        let script = "rm /etc/hosts && rm -rf /usr/sbin && mkdir /usr/sbin && echo mine > /usr/sbin/mine && ln -s /usr/sbin/mine /link && chmod 4711 /usr/sbin/mine"
        #expect(try world.sh(a, script).exitCode == 0)
        let snap = LocalVMWorld.snapshotId()
        try world.snapshot(a, snap)
        try world.restore(b, from: snap)
        #expect(try !world.exists(b, "/etc/hosts"))
        #expect(try world.exists(b, "/etc/passwd"))
        #expect(try world.exec(b, ["ls", "/usr/sbin"]).out == "mine\n")
        #expect(try world.exec(b, ["stat", "-c", "%a %u", "/usr/sbin/mine"]).out == "4711 0\n")
        #expect(try world.exec(b, ["readlink", "/link"]).out == "/usr/sbin/mine\n")
        // The base image itself never changed.
        #expect(FileOps.exists(world.dataDir + "/images/busybox/rootfs/etc/hosts"))
        try world.destroy(a)
        try world.destroy(b)
        try world.deleteSnapshot(snap)
    }

    /// Polls the counter file `/w/b` of the writer through exec (each exec returns when done) until
    /// `condition` holds, at most 2000 reads; returns the value seen, nil when it never held.
    func waitFor(_ world: LocalVMWorld, _ id: String, _ condition: (Int) -> Bool) throws -> Int? {
        for _ in 0..<2000 {
            if let v = Int(try world.read(id, "/w/b")), condition(v) { return v }
        }
        return nil
    }
}

/// Messages collected from concurrent work.
final class ErrorList: @unchecked Sendable {
    // @unchecked: `list` is only touched with `lock` held.
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ s: String) { lock.lock(); list.append(s); lock.unlock() }
    var items: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
