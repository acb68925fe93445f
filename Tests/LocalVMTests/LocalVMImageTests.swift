import CLocalVM
import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

@Suite("LocalVM images and init", localVMAvailable)
struct LocalVMImageTests {
    @Test("the busybox image is built once, shifted to uid_base, and shared by concurrent creates")
    func busyboxImage() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let ids = (0..<3).map { "bb\($0)-\(UInt16.random(in: 0 ... .max))" }
        let errors = ErrorBox()
        DispatchQueue.concurrentPerform(iterations: ids.count) { i in
            do { try world.create(ids[i]) } catch { errors.add("\(error)") }
        }
        #expect(errors.all.isEmpty, "\(errors.all)")
        for id in ids { #expect(try world.exec(id, ["true"]).exitCode == 0) }
        let rootfs = world.dataDir + "/images/busybox/rootfs"
        var st = stat()
        #expect(lstat(rootfs + "/bin/busybox", &st) == 0 && st.st_uid == 100_000 && st.st_gid == 100_000)
        #expect(lstat(rootfs + "/etc/passwd", &st) == 0 && st.st_uid == 100_000)
        // No temp dirs left from the build race.
        #expect(FileOps.list(world.dataDir + "/images") == ["busybox"])
        // Inside, the files belong to root.
        #expect(try world.exec(ids[0], ["stat", "-c", "%u:%g", "/bin/busybox"]).out == "0:0\n")
        for id in ids { try world.destroy(id) }
    }

    @Test("a tarball image is extracted once, owners shifted, and used as the root")
    func tarballImage() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        // A tarball of a tiny root: busybox plus a marker file owned by uid 1000.
        let src = world.dataDir + "/src"
        for d in ["", "/bin", "/etc", "/data"] { #expect(mkdir(src + d, 0o755) == 0) }
        let busybox = try #require(FileManager.default.contents(atPath: "/bin/busybox"))
        try FileOps.writeAtomically(src + "/bin/busybox", busybox, mode: 0o755)
        for applet in ["sh", "sleep", "date", "cat", "stat", "id"] { #expect(symlink("busybox", src + "/bin/" + applet) == 0) }
        try FileOps.writeText(src + "/data/hello", "from the tarball\n")
        #expect(lchown(src + "/data/hello", 1000, 1000) == 0)
        let tarball = world.dataDir + "/image.tar.gz"
        try ImageStore.run("/bin/tar", ["-czf", tarball, "--numeric-owner", "-C", src, "."], what: "test tarball")

        let id = "tar-\(UInt16.random(in: 0 ... .max))"
        try world.create(id, image: tarball)
        #expect(try world.exec(id, ["cat", "/data/hello"]).out == "from the tarball\n")
        #expect(try world.exec(id, ["stat", "-c", "%u", "/data/hello"]).out == "1000\n")
        #expect(try world.exec(id, ["cat", "/proc/1/cmdline"]).out.contains(InitProgram.name))
        let cached = FileOps.list(world.dataDir + "/images").filter { $0.hasPrefix("tar-") }
        #expect(cached.count == 1)
        // A second sandbox reuses the extraction.
        let id2 = "tar2-\(UInt16.random(in: 0 ... .max))"
        try world.create(id2, image: tarball)
        #expect(FileOps.list(world.dataDir + "/images").filter { $0.hasPrefix("tar-") } == cached)
        try world.destroy(id)
        try world.destroy(id2)
    }

    @Test("a rootfs directory image: copied shifted unless already owned by uid_base")
    func directoryImage() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "dir-\(UInt16.random(in: 0 ... .max))"
        try world.create(id) // builds images/busybox, which is a shifted rootfs directory
        let shifted = world.dataDir + "/images/busybox/rootfs"
        let id2 = "dir2-\(UInt16.random(in: 0 ... .max))"
        let created = try world.create(id2, image: shifted)
        #expect(created.info["lower_dir"] == .string(shifted)) // used in place, no copy
        #expect(try world.exec(id2, ["hostname"]).out == id2 + "\n")
        // A directory without /bin/sh is refused with a clear error.
        let empty = world.dataDir + "/empty-root"
        #expect(mkdir(empty, 0o755) == 0)
        expectPluginError(.invalidRequest) { try world.create("dir3", image: empty) }
        try world.destroy(id)
        try world.destroy(id2)
    }

    @Test("a create that fails inside the launcher says which step failed and leaves nothing behind")
    func failedCreate() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        // A pre-shifted root whose /proc is a file, so mounting proc there fails (the init itself
        // comes from outside the image and cannot be broken by it).
        let root = world.dataDir + "/broken-root"
        for d in ["", "/bin"] { #expect(mkdir(root + d, 0o755) == 0) }
        try FileOps.writeAtomically(root + "/bin/sh", Data("not a program".utf8), mode: 0o644) // images need one
        try FileOps.writeAtomically(root + "/proc", Data("not a directory".utf8), mode: 0o644)
        #expect(clvm_shift_owners(root, 100_000, 65536) == 0)
        let id = "fail-\(UInt16.random(in: 0 ... .max))"
        do {
            try world.create(id, image: root)
            Issue.record("create succeeded with a file for /proc")
        } catch let error as PluginError {
            #expect(error.code == .internal)
            #expect(error.message.contains("mount of /proc failed: Not a directory"), "\(error.message)")
        }
        #expect(!FileManager.default.fileExists(atPath: world.dataDir + "/sandboxes/\(id)"))
        for dir in CgroupLayout(parent: world.cgroupParent).dirs(id) { #expect(!FileManager.default.fileExists(atPath: dir)) }
        expectPluginError(.notFound) { try world.status(id) }
    }

    @Test("the init reaps orphans and exits on SIGTERM")
    func initReaps() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "reap-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        // An orphan that exits: it must disappear from /proc (a zombie would stay listed).
        let pid = try world.sh(id, "sleep 0.2 >/dev/null 2>&1 & echo $!").out.trimmingCharacters(in: .whitespacesAndNewlines)
        let gone = try world.exec(id, ["sh", "-c", "while [ -e /proc/\(pid) ]; do usleep 10000; done; echo reaped"], timeout: 10)
        #expect(gone.out == "reaped\n", "orphan \(pid) was not reaped")
        let meta = try world.meta(id)
        #expect(kill(meta.initPid, SIGTERM) == 0)
        #expect(waitForExit(pid: meta.initPid, ms: 10_000))
        try world.destroy(id)
    }

    @Test("a custom uid_base owns the image and upper dirs on disk; the sandbox runs in its pool range")
    func customUidBase() throws {
        let world = try LocalVMWorld(uidBase: 300_000)
        defer { world.finish() }
        let id = "uid-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let hostBase = try #require(try world.meta(id).hostUidBase)
        #expect(try world.exec(id, ["cat", "/proc/self/uid_map"]).out.contains("\(hostBase)"))
        #expect(FileManager.default.fileExists(atPath: world.dataDir + "/images/busybox-u300000/rootfs/bin/busybox"))
        let upper = world.dataDir + "/sandboxes/\(id)/upper"
        _ = try world.sh(id, "echo x > /owned")
        var st = stat()
        #expect(lstat(upper + "/owned", &st) == 0 && st.st_uid == 300_000)
        try world.destroy(id)
    }
}

/// Errors collected from concurrent work.
final class ErrorBox: @unchecked Sendable {
    // @unchecked: every access holds `lock`.
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}
