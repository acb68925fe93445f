import Foundation
import Glibc
import Testing
@testable import BYOK
import BYOKTestHosts
import PluginKit

/// Why a built rootfs-tar cannot be booted on a BYOK host here, or nil.
let artifactSkipReason: String? = {
    if let reason = SSHHosts.unavailableReason { return reason }
    if !FileManager.default.isExecutableFile(atPath: "/bin/busybox") { return "needs /bin/busybox (Debian package busybox-static) for the image" }
    if BYOKArtifactTests.helper == nil { return "sandboxer-node is not built (swift build --product sandboxer-node)" }
    return nil
}()

/// Built images on BYOK: a `rootfs-tar` artifact is pushed to the chosen host content-addressed
/// (put-blob under its sha256) and booted by the real node helper.
@Suite(.serialized, .enabled(if: artifactSkipReason == nil, "\(artifactSkipReason ?? "")"))
struct BYOKArtifactTests {
    /// The built `sandboxer-node`, found next to the test bundle in the products directory.
    static let helper: String? = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("sandboxer-node").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            dir.deleteLastPathComponent()
        }
        return nil
    }()

    static func plugin(_ hosts: SSHHosts) throws -> BYOKPlugin {
        try BYOKPlugin(config: .object([
            "data_dir": .string(hosts.dir + "/data"), "identity_file": .string(hosts.identityFile),
            "node_helper": .string(try #require(helper)), "connect_timeout_seconds": 3,
            "hosts": .array(hosts.hosts.map { h in
                .object(["name": .string(h.name), "address": .string(h.address), "user": .string(hosts.user),
                         "host_key": .string(h.hostKey), "node_dir": .string(h.nodeDir)])
            }),
        ]), host: .standalone())
    }

    /// A plain tar of a busybox root with /etc/marker, made with the host's tar (owners 0); the applets
    /// are the init's (sh, date, sleep, kill) and the test's.
    static func rootfsTar(in dir: String, marker: String) throws -> BuildArtifact {
        let root = dir + "/rootfs-\(marker)"
        let fm = FileManager.default
        for d in ["bin", "etc", "root", "tmp", "proc", "sys", "dev", "run"] {
            try fm.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true)
        }
        try fm.copyItem(atPath: "/bin/busybox", toPath: root + "/bin/busybox")
        for applet in ["sh", "cat", "echo", "stat", "true", "date", "sleep", "kill"] { #expect(symlink("busybox", root + "/bin/" + applet) == 0) }
        try Data("\(marker)\n".utf8).write(to: URL(fileURLWithPath: root + "/etc/marker"))
        let tar = dir + "/rootfs-\(marker).tar"
        try run("/bin/tar", ["--create", "--file", tar, "--directory", root, "--owner=0", "--group=0", "--numeric-owner", "."])
        let sum = try run("/usr/bin/sha256sum", [tar])
        let hex = String(decoding: sum.prefix(64), as: UTF8.self)
        return BuildArtifact(kind: "rootfs-tar", path: tar, digest: "sha256:" + hex,
                             sizeBytes: Int64(try #require(LocalFiles.size(tar))))
    }

    @discardableResult
    static func run(_ tool: String, _ args: [String]) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try #require(p.terminationStatus == 0, "\(tool) \(args) exited \(p.terminationStatus)")
        return data
    }

    static func request(_ id: String, artifact: BuildArtifact?) -> CreateRequest {
        CreateRequest(sandboxId: id, hostId: "test-host", profile: "default", image: nil, resources: ResourceLimits(),
                      network: "none", env: [:], labels: ["sandboxer.sandbox": id], timeoutSeconds: 600, imageArtifact: artifact)
    }

    @Test func aBuiltRootfsTarIsPushedByDigestAndBooted() throws {
        let hosts = try SSHHosts(count: 1)
        defer { hosts.close() }
        let plugin = try Self.plugin(hosts)
        #expect(BYOKPlugin.bootArtifactKinds == ["rootfs-tar"])
        let artifact = try Self.rootfsTar(in: hosts.dir, marker: "built-on-byok")
        let hex = String(artifact.digest.dropFirst(7))
        let h = hosts.hosts[0]
        var refs: [String] = []
        for id in ["art-1", "art-2"] {
            let made = try plugin.create(Self.request(id, artifact: artifact), call: .detached)
            refs.append(made.backendRef)
            let out = try plugin.exec(ExecRequest(sandboxId: id, backendRef: made.backendRef, argv: ["cat", "/etc/marker"]), call: .detached)
            #expect(out.exitCode == 0 && String(decoding: out.stdout, as: UTF8.self) == "built-on-byok\n", "\(String(decoding: out.stderr, as: UTF8.self))")
            // The image's owners 0 are shifted on the host, and are root again inside.
            let owner = try plugin.exec(ExecRequest(sandboxId: id, backendRef: made.backendRef, argv: ["stat", "-c", "%u", "/etc/marker"]), call: .detached)
            #expect(String(decoding: owner.stdout, as: UTF8.self) == "0\n")
        }
        // Content-addressed: one blob under the artifact's sha256, one unpacked image, for both sandboxes.
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.nodeDir + "/blobs").filter { !$0.hasPrefix(".") } == [hex])
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.nodeDir + "/images").filter { !$0.hasPrefix(".") } == [hex])
        for (id, ref) in zip(["art-1", "art-2"], refs) { try plugin.destroy(SandboxRef(sandboxId: id, backendRef: ref), call: .detached) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: h.nodeDir + "/sandboxes").isEmpty)
    }

    @Test func aChangedHelperCopyOnTheHostIsReplacedBeforeItRuns() throws {
        let hosts = try SSHHosts(count: 1)
        defer { hosts.close() }
        let h = hosts.hosts[0]
        _ = try Self.plugin(hosts).inventory(InventoryRequest(hostId: "test-host"), call: .detached)
        let bin = h.nodeDir + "/bin"
        let name = try #require(try FileManager.default.contentsOfDirectory(atPath: bin).first { $0.hasPrefix("sandboxer-node-") })
        // Someone replaces the copy: the next process's first command sees the hash differ, runs nothing
        // of it, pushes the helper again and reruns the line.
        let marker = hosts.dir + "/tampered-ran"
        try Data("#!/bin/sh\ntouch \(marker)\n".utf8).write(to: URL(fileURLWithPath: bin + "/" + name))
        let answer = try Self.plugin(hosts).inventory(InventoryRequest(hostId: "test-host"), call: .detached)
        #expect(answer.unreachable == nil)
        #expect(!FileManager.default.fileExists(atPath: marker), "the changed copy must never run")
        let pushed = try Self.run("/usr/bin/sha256sum", [bin + "/" + name])
        #expect(String(decoding: pushed.prefix(64), as: UTF8.self) == String(name.dropFirst("sandboxer-node-".count)))
    }

    @Test func anArtifactWhoseBytesAreNotItsDigestIsRefused() throws {
        let hosts = try SSHHosts(count: 1)
        defer { hosts.close() }
        let plugin = try Self.plugin(hosts)
        var artifact = try Self.rootfsTar(in: hosts.dir, marker: "liar")
        artifact.digest = "sha256:" + String(repeating: "ab", count: 32)
        let error = #expect(throws: PluginError.self) { try plugin.create(Self.request("liar-1", artifact: artifact), call: .detached) }
        #expect(error?.code == .invalidRequest, "\(error?.message ?? "")")
        var other = artifact
        other.kind = "qcow2"
        #expect(throws: PluginError.self) { try plugin.create(Self.request("liar-2", artifact: other), call: .detached) }
        let h = hosts.hosts[0]
        let blobs = (try? FileManager.default.contentsOfDirectory(atPath: h.nodeDir + "/blobs")) ?? []
        #expect(blobs.isEmpty, "a refused push leaves nothing: \(blobs)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: h.nodeDir + "/sandboxes")) ?? []).isEmpty)
    }
}
