import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// A rootfs-tar made by the example template's script (docs/examples/images/busybox-marker), run
/// directly: these tests need no packer.
func makeRootfsTar(in dir: String, marker: String) throws -> BuildArtifact {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .path + "/docs/examples/images/busybox-marker/assemble-rootfs.sh"
    let out = dir + "/out"
    #expect(mkdir(out, 0o700) == 0)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = [script]
    process.environment = ["OUTPUT_DIR": out, "MARKER": marker, "PATH": "/usr/bin:/bin", "TMPDIR": dir]
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try #require(process.terminationStatus == 0)
    let bytes = try #require(FileManager.default.contents(atPath: out + "/rootfs.tar"))
    // coreutils' sha256sum: an implementation independent of the one the plugin uses.
    let sum = try ImageStore.run("/usr/bin/sha256sum", [out + "/rootfs.tar"], what: "test digest")
    let hex = String(decoding: sum.prefix(64), as: UTF8.self)
    return BuildArtifact(kind: "rootfs-tar", path: out + "/rootfs.tar", digest: "sha256:" + hex, sizeBytes: Int64(bytes.count))
}

@Suite("LocalVM boots built rootfs-tar artifacts", localVMAvailable)
struct LocalVMArtifactTests {
    @Test("concurrent creates from one artifact unpack it once, by digest, and see its files")
    func concurrentCreates() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let artifact = try makeRootfsTar(in: world.dataDir, marker: "concurrent")
        let ids = (0..<3).map { "art\($0)-\(UInt16.random(in: 0 ... .max))" }
        let errors = ErrorBox()
        DispatchQueue.concurrentPerform(iterations: ids.count) { i in
            var request = world.request(ids[i])
            request.imageArtifact = artifact
            do { _ = try world.plugin.create(request, call: .detached) } catch { errors.add("\(error)") }
        }
        #expect(errors.all.isEmpty, "\(errors.all)")
        for id in ids {
            #expect(try world.exec(id, ["cat", "/etc/marker"]).out == "concurrent\n")
            #expect(try world.meta(id).image == artifact.digest)
        }
        // One cache entry, no temp dirs left from the race, owners shifted to uid_base.
        let key = "artifact-" + artifact.digest.dropFirst(7)
        #expect(FileOps.list(world.dataDir + "/images") == [key])
        var st = stat()
        #expect(lstat(world.dataDir + "/images/\(key)/rootfs/bin/busybox", &st) == 0 && st.st_uid == 100_000)
        #expect(try world.exec(ids[0], ["stat", "-c", "%u:%g", "/etc/marker"]).out == "0:0\n")
        for id in ids { try world.destroy(id) }
    }

    @Test("an artifact whose bytes, kind or digest are not the request's is refused and leaves nothing")
    func refusals() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let artifact = try makeRootfsTar(in: world.dataDir, marker: "m")
        var wrongDigest = artifact
        wrongDigest.digest = "sha256:" + String(repeating: "a", count: 64)
        var wrongKind = artifact
        wrongKind.kind = "qcow2"
        var badDigest = artifact
        badDigest.digest = "md5:1234"
        for bad in [wrongDigest, wrongKind, badDigest] {
            var request = world.request("bad-\(UInt16.random(in: 0 ... .max))")
            request.imageArtifact = bad
            expectPluginError(.invalidRequest) { try world.plugin.create(request, call: .detached) }
        }
        #expect(FileOps.list(world.dataDir + "/images").isEmpty)
        #expect(LocalVMPlugin.bootArtifactKinds == ["rootfs-tar"])
    }
}
