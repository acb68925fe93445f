import Basics
import Backends
import Foundation
import Glibc
import PluginCheck
import PluginProtocol
import Testing

/// The packer the tests drive, or nil when it is not installed.
let packerInstalled: Bool = ["/usr/bin/packer", "/usr/local/bin/packer"].contains { (path: String) in access(path, X_OK) == 0 }
let canBuildExample = packerInstalled && access("/bin/busybox", X_OK) == 0
/// LocalVM sandboxes need root (user namespaces with a host id range, cgroups) and busybox-static.
let canBootLocalVM = canBuildExample && getuid() == 0
    && (FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") || FileManager.default.fileExists(atPath: "/sys/fs/cgroup/pids"))

/// The repository's root, found from this file.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url.path
}()
let exampleTemplate = repositoryRoot + "/docs/examples/images/busybox-marker/template.json"
let cancelTemplate = repositoryRoot + "/Tests/Fixtures/Packer/runs-until-cancelled.json"

/// A private scratch dir per test.
func scratch() -> String {
    var template = Array((NSTemporaryDirectory() + "packer-abi-test.XXXXXX").utf8CString)
    return mkdtemp(&template).map { String(cString: $0) } ?? NSTemporaryDirectory()
}

func buildRequest(_ dir: String, template: String, vars: [String: String] = [:]) -> BuildRequest {
    let out = dir + "/out-" + String(UInt32.random(in: 0 ... .max), radix: 16)
    mkdir(out, 0o700)
    var all = vars
    all["output_dir"] = out
    return BuildRequest(buildId: "bld-" + String(UInt64.random(in: 0 ... .max), radix: 16), template: template, vars: all,
                        outputDir: out, cacheKey: String(repeating: "0", count: 64))
}

@Suite("libSandboxerPacker.so through the host's loader")
struct PackerABITests {
    @Test("a builder-only library loads: it declares sandboxer.build/1 alone and reports packer's version",
          .enabled(if: packerInstalled, "needs packer (Debian package packer)"))
    func describes() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let builder = try LoadedPlugins.backend("libSandboxerPacker.so", name: "packer", config: ["data_dir": .string(dir + "/data")])
        #expect(builder.capabilities == [Capability.build])
        #expect(builder.isBuilder)
        let described = try builder.describe(timeout: 60)
        #expect(described.info?["packer_version"]?.stringValue?.hasPrefix("1.") == true, "\(String(describing: described.info))")
        // Lifecycle operations are simply not there.
        #expect(throws: BackendError.self) { try builder.create(CreateRequest(sandboxId: "sbx-0000000000000000", hostId: "h", profile: "p", image: nil, resources: ResourceLimits(), network: "none", env: [:], labels: [:], timeoutSeconds: nil), timeout: 10) }
    }

    @Test("the example template builds through the ABI: rootfs.tar in output_dir, digest of its bytes, marker inside",
          .enabled(if: canBuildExample, "needs packer and busybox-static"))
    func buildsExample() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let builder = try LoadedPlugins.backend("libSandboxerPacker.so", name: "packer", config: ["data_dir": .string(dir + "/data")])
        let request = buildRequest(dir, template: exampleTemplate, vars: ["marker": "through the ABI"])
        let response = try builder.build(request)
        let artifact = try #require(response.artifacts.first)
        #expect(response.artifacts.count == 1)
        #expect(artifact.kind == "rootfs-tar" && artifact.path == request.outputDir + "/rootfs.tar")
        let bytes = try #require(FileManager.default.contents(atPath: artifact.path))
        #expect(artifact.digest == "sha256:" + SHA256.hex(SHA256.hash(bytes)))
        #expect(artifact.sizeBytes == Int64(bytes.count))
        #expect(try tarMember(artifact.path, "./etc/marker") == "through the ABI\n")
        #expect(FileManager.default.fileExists(atPath: response.logPath))
        // Progress went through the host's log callback, tagged with the build id.
        #expect(LoadedPlugins.allLogs().contains("assemble-rootfs: wrote"))
    }

    @Test("a provisioner's exit 1 reaches the host as one line naming the step and the log",
          .enabled(if: packerInstalled, "needs packer (Debian package packer)"))
    func failureThroughABI() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let template = dir + "/fail.json"
        _ = FileManager.default.createFile(atPath: template, contents: Data("""
        {"variables": {"output_dir": ""}, "builders": [{"type": "null", "communicator": "none"}],
         "provisioners": [{"type": "shell-local", "inline": ["exit 1"]}]}
        """.utf8))
        let builder = try LoadedPlugins.backend("libSandboxerPacker.so", name: "packer", config: ["data_dir": .string(dir + "/data")])
        do {
            _ = try builder.build(buildRequest(dir, template: template))
            Issue.record("the build succeeded")
        } catch {
            #expect(error.code == .invalidRequest)
            #expect(error.message.contains("at step 'Running local shell script"), "\(error.message)")
            #expect(error.message.contains("(log: \(dir)/data/logs/bld-"), "\(error.message)")
        }
    }

    @Test("the host's deadline cancels a build, and the builder stops it before the host returns",
          .enabled(if: packerInstalled, "needs packer (Debian package packer)"))
    func deadlineCancels() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let builder = try LoadedPlugins.backend("libSandboxerPacker.so", name: "packer",
                                                config: ["data_dir": .string(dir + "/data"), "stop_grace_seconds": .number(5)])
        do {
            _ = try builder.build(buildRequest(dir, template: cancelTemplate), timeout: 2, stopGrace: 60)
            Issue.record("the build finished")
        } catch {
            #expect(error.code == .timeout)
            #expect(error.message.contains("the plugin stopped within"), "\(error.message)")
        }
        // The build's work dir is gone: packer stopped and the plugin cleaned up before answering.
        #expect((try? FileManager.default.contentsOfDirectory(atPath: dir + "/data/builds")) == [])
    }

    @Test("plugin check passes the Packer builder, build rules included",
          .enabled(if: canBuildExample, "needs packer and busybox-static"))
    func pluginCheck() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = PluginCheck.Options(path: try LoadedPlugins.copy("libSandboxerPacker.so"),
                                          config: .object(["data_dir": .string(dir + "/data")]), threads: 2, callsPerThread: 5)
        options.buildTemplate = exampleTemplate
        options.buildCancelTemplate = cancelTemplate
        let report = PluginCheck.run(options)
        #expect(report.passed, "\(report.results.filter { $0.outcome == .fail }.map(\.line))")
        for rule in ["describe.role", "build.invalid-template", "build.artifact", "build.cancel", "request.undeclared-capability"] {
            #expect(report.result(rule)?.outcome == .pass, "\(rule): \(report.result(rule)?.detail ?? "missing")")
        }
    }

    @Test("LocalVM boots the built rootfs-tar: the sandbox sees the marker var",
          .enabled(if: canBootLocalVM, "needs root, cgroups, packer and busybox-static"))
    func localVMBootsArtifact() throws {
        let dir = scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let builder = try LoadedPlugins.backend("libSandboxerPacker.so", name: "packer", config: ["data_dir": .string(dir + "/packer")])
        let built = try builder.build(buildRequest(dir, template: exampleTemplate, vars: ["marker": "booted-from-packer"]))
        let artifact = try #require(built.artifacts.first)

        let tag = "\(getpid())-\(UInt16.random(in: 0 ... .max))"
        let localvm = try LoadedPlugins.backend("libSandboxerLocalVM.so", name: "localvm", config: [
            "data_dir": .string(dir + "/localvm"), "cgroup_parent": .string("sbxpacker-" + tag),
            "network_pool": .string("10.233.\(UInt8.random(in: 0...255)).\(UInt8.random(in: 0...3) * 64)/26"),
        ])
        #expect(try localvm.describe(timeout: 60).bootArtifactKinds == ["rootfs-tar"])
        #expect(throws: BackendError.self) { try localvm.build(buildRequest(dir, template: exampleTemplate)) }
        let ids = ["sbx-" + String(format: "%016llx", UInt64.random(in: 0 ... .max)), "sbx-" + String(format: "%016llx", UInt64.random(in: 0 ... .max))]
        for id in ids {
            let create = CreateRequest(sandboxId: id, hostId: "packer-test", profile: "built", image: nil, resources: ResourceLimits(),
                                       network: "none", env: [:],
                                       labels: ["sandboxer.host": "packer-test", "sandboxer.sandbox": id, "sandboxer.profile": "built"],
                                       timeoutSeconds: 600, imageArtifact: artifact)
            let made = try localvm.create(create, timeout: 300)
            defer { try? localvm.destroy(SandboxRef(sandboxId: id, backendRef: made.backendRef), timeout: 120) }
            let run = try localvm.exec(ExecRequest(sandboxId: id, backendRef: made.backendRef, argv: ["cat", "/etc/marker"], env: [:],
                                                   stdinB64: nil, timeoutSeconds: 60), timeout: 120)
            #expect(run.exitCode == 0)
            #expect(String(decoding: run.stdout, as: UTF8.self) == "booted-from-packer\n")
        }
        // Unpacked once, named by the digest.
        let images = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/localvm/images")) ?? []
        #expect(images == ["artifact-" + artifact.digest.dropFirst(7)], "\(images)")

        // A digest that does not match the bytes is refused before anything boots.
        var wrong = artifact
        wrong.digest = "sha256:" + String(repeating: "0", count: 64)
        let id = "sbx-" + String(format: "%016llx", UInt64.random(in: 0 ... .max))
        let create = CreateRequest(sandboxId: id, hostId: "packer-test", profile: "built", image: nil, resources: ResourceLimits(),
                                   network: "none", env: [:],
                                   labels: ["sandboxer.host": "packer-test", "sandboxer.sandbox": id, "sandboxer.profile": "built"],
                                   timeoutSeconds: 600, imageArtifact: wrong)
        do {
            _ = try localvm.create(create, timeout: 300)
            Issue.record("a wrong digest booted")
        } catch {
            #expect(error.code == .invalidRequest && error.message.contains("it changed after the build"), "\(error.message)")
        }
    }
}

func tarMember(_ tar: String, _ member: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/tar")
    process.arguments = ["-xOf", tar, member]
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

@Suite("the host's checks of build answers")
struct BuildContractTests {
    static let digest = "sha256:" + String(repeating: "ab", count: 32)

    @Test("artifacts must lie inside output_dir with a sha256 digest; log_path must be absolute")
    func breaches() {
        func answer(_ path: String, digest: String = Self.digest, log: String = "/l.log", size: Int64 = 1) -> BuildResponse {
            BuildResponse(artifacts: [BuildArtifact(kind: "rootfs-tar", path: path, digest: digest, sizeBytes: size)], logPath: log)
        }
        #expect(Backend.contractBreach(answer("/out/rootfs.tar"), outputDir: "/out") == nil)
        #expect(Backend.contractBreach(answer("/out/sub/a.qcow2"), outputDir: "/out/") == nil)
        #expect(Backend.contractBreach(answer("/out/../etc/passwd"), outputDir: "/out")?.contains("not inside output_dir") == true)
        #expect(Backend.contractBreach(answer("/outside/x"), outputDir: "/out")?.contains("not inside output_dir") == true)
        #expect(Backend.contractBreach(answer("rel/x"), outputDir: "/out") != nil)
        #expect(Backend.contractBreach(answer("/out/x", digest: "sha256:ABC"), outputDir: "/out")?.contains("digest") == true)
        #expect(Backend.contractBreach(answer("/out/x", digest: "md5:" + String(repeating: "a", count: 64)), outputDir: "/out") != nil)
        #expect(Backend.contractBreach(answer("/out/x", log: "relative.log"), outputDir: "/out") != nil)
        #expect(Backend.contractBreach(answer("/out/x", size: -1), outputDir: "/out") != nil)
    }
}
