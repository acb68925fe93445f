import CLocalVM
import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// A create makes no mount in the host's mount namespace and no per-sandbox mount point: the
/// overlay and the idmapped layers mount on the data dir's shared `mnt/` (MountPoints), only inside
/// the sandbox's own namespace, and `/run/sandboxer` is a tmpfs the launch made as a detached mount
/// (CLocalVM/ctl.c) that the init holds and set_timeout reaches through it.
@Suite("LocalVM control dir and shared mount points", localVMAvailable)
struct LocalVMControlDirTests {
    /// Lines of this process's (the host's) mountinfo that name `dir` or a path below it.
    static func hostMounts(under dir: String) -> [String] {
        let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return table.split(separator: "\n").map(String.init).filter { $0.contains(dir) }
    }

    @Test("create mounts nothing in the host's namespace and makes no mount point per sandbox")
    func noHostMounts() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let plain = "cd-\(UInt16.random(in: 0 ... .max))", timed = plain + "-t", disk = plain + "-d"
        try world.create(plain)
        try world.create(timed, timeout: 3600)
        // Shown first: the mount points exist (shared), and the sandbox runs on them.
        for name in MountPoints.names { #expect(FileOps.isDirectory(world.dataDir + "/mnt/" + name), "\(name)") }
        #expect(try world.sh(plain, "echo ok").out == "ok\n")
        #expect(Self.hostMounts(under: world.dataDir).isEmpty, "\(Self.hostMounts(under: world.dataDir))")
        // The sandbox dir holds its layers and meta.json, no mount point; the shared ones stay empty.
        for id in [plain, timed] {
            let entries = Set(FileOps.list(world.dataDir + "/sandboxes/" + id))
            #expect(entries == ["meta.json", "upper", "work"], "\(entries)")
        }
        for name in MountPoints.names { #expect(FileOps.list(world.dataDir + "/mnt/" + name).isEmpty, "\(name)") }
        // The image has /run/sandboxer (owned like /run), so nothing was copied up to make it.
        let image = world.plugin.images.imagesDir
        let rootfs = try #require(FileOps.list(image).first { !$0.hasPrefix(".") }.map { image + "/" + $0 + "/rootfs" })
        var run = stat(), point = stat()
        #expect(lstat(rootfs + "/run", &run) == 0 && lstat(rootfs + "/run/sandboxer", &point) == 0)
        #expect(point.st_uid == run.st_uid && (point.st_mode & S_IFMT) == S_IFDIR)
        #expect(FileOps.list(world.dataDir + "/sandboxes/\(plain)/upper").isEmpty)
        // The disk variant has its one host mount, the disk, and nothing else.
        try world.create(disk, resources: ResourceLimits(diskBytes: 8 << 20))
        #expect(LocalVMPlugin.mountPoints(under: world.dataDir) == [world.dataDir + "/sandboxes/\(disk)/disk"])
        #expect(Set(FileOps.list(world.dataDir + "/sandboxes/\(disk)/disk")) == ["upper", "work"])
        for id in [plain, timed, disk] { try world.destroy(id) }
        #expect(Self.hostMounts(under: world.dataDir).isEmpty)
    }

    @Test("the sandbox reads its deadline read-only at /run/sandboxer, and set_timeout replaces it")
    func deadlineReachesTheSandbox() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "cd-dl-\(UInt16.random(in: 0 ... .max))", none = id + "-n"
        try world.create(id, timeout: 3600)
        let first = try world.exec(id, ["cat", "/run/sandboxer/deadline"]).out
        let now = Int(Date().timeIntervalSince1970)
        let firstValue = try #require(Int(first.trimmingCharacters(in: .whitespacesAndNewlines)), "\(first)")
        #expect(firstValue > now + 3500 && firstValue <= now + 3601, "\(first)")
        try world.plugin.setTimeout(SetTimeoutRequest(sandboxId: id, backendRef: id, timeoutSeconds: 600), call: .detached)
        let second = try world.exec(id, ["cat", "/run/sandboxer/deadline"]).out
        let secondValue = try #require(Int(second.trimmingCharacters(in: .whitespacesAndNewlines)), "\(second)")
        #expect(secondValue < firstValue && secondValue > now + 500, "\(first) -> \(second)")
        // Its mountinfo shows the tmpfs's own root, read-only, and no host path.
        let line = try world.sh(id, "grep ' /run/sandboxer ' /proc/self/mountinfo").out
        #expect(line.split(separator: " ").count > 5, "\(line)")
        let fields = line.split(separator: " ").map(String.init)
        #expect(fields[3] == "/" && fields[5].hasPrefix("ro"), "\(line)")
        #expect(!line.contains(world.dataDir), "\(line)")
        // The sandbox's root cannot write it: not through the read-only bind, not through the
        // init's writable fd (the files are host root's, which its user namespace does not map).
        #expect(try world.sh(id, "echo 1 > /run/sandboxer/deadline").exitCode != 0)
        #expect(try world.sh(id, "echo 1 > /proc/1/fd/\(CLVM_CTL_FD)/deadline").exitCode != 0)
        #expect(try world.sh(id, "echo 1 > /proc/1/fd/\(CLVM_CTL_FD)/other").exitCode != 0)
        #expect(try world.exec(id, ["cat", "/run/sandboxer/deadline"]).out == second)
        // Without a timeout there is no deadline file, and set_timeout makes one.
        try world.create(none)
        #expect(try world.sh(none, "ls -A /run/sandboxer").out == "")
        try world.plugin.setTimeout(SetTimeoutRequest(sandboxId: none, backendRef: none, timeoutSeconds: 600), call: .detached)
        #expect(Int(try world.exec(none, ["cat", "/run/sandboxer/deadline"]).out.trimmingCharacters(in: .whitespacesAndNewlines)) != nil)
        try world.destroy(id)
        try world.destroy(none)
    }

    @Test("the host writes only into the control dir its launch made")
    func refusesAnotherDirectory() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "cd-id-\(UInt16.random(in: 0 ... .max))"
        try world.create(id, timeout: 3600)
        let meta = try world.meta(id)
        let dev = try #require(meta.ctlDev), ino = try #require(meta.ctlIno)
        let before = try world.exec(id, ["cat", "/run/sandboxer/deadline"]).out
        let identity = ProcessIdentity(pid: meta.initPid, startTime: meta.initStartTime)
        let pidfd = try #require(identity.openPidfd())
        defer { close(pidfd) }
        var err = [CChar](repeating: 0, count: 256)
        // A record that names another inode, or another device: refused, nothing written.
        for wrong in [clvm_ctl_id(dev: dev, ino: ino + 1), clvm_ctl_id(dev: dev + 1, ino: ino)] {
            #expect(clvm_ctl_write(pidfd, meta.initPid, wrong, "1\n", &err, err.count) == -1)
            #expect(Launcher.text(err).contains("not the control dir"), "\(Launcher.text(err))")
        }
        #expect(try world.exec(id, ["cat", "/run/sandboxer/deadline"]).out == before)
        // The right one: written.
        #expect(clvm_ctl_write(pidfd, meta.initPid, clvm_ctl_id(dev: dev, ino: ino), "4000000000\n", &err, err.count) == 0)
        #expect(try world.exec(id, ["cat", "/run/sandboxer/deadline"]).out == "4000000000\n")
        try world.destroy(id)
    }
}
