import Basics
import CLocalVM
import Foundation
import Glibc
import PluginKit
import Testing
@testable import Packer

@Suite("the packer builder against the real packer")
struct PackerPluginTests {
    @Test("the example template builds rootfs.tar with the marker; the digest covers its bytes", exampleBuildable)
    func buildsExample() throws {
        let world = PackerWorld()
        defer { world.finish() }
        let plugin = try world.plugin()
        let out = world.outputDir()
        let response = try plugin.build(world.request(exampleTemplate, vars: ["marker": "v1, with a comma"], out: out), call: .detached)
        let artifact = try #require(response.artifacts.first)
        #expect(response.artifacts.count == 1)
        #expect(artifact.kind == "rootfs-tar")
        #expect(artifact.path == out + "/rootfs.tar")
        let bytes = try #require(FileManager.default.contents(atPath: artifact.path))
        #expect(artifact.sizeBytes == Int64(bytes.count))
        #expect(artifact.digest == "sha256:" + SHA256.hex(SHA256.hash(bytes)))
        #expect(try Self.tarMember(artifact.path, "./etc/marker") == "v1, with a comma\n")
        // Progress reached the host's log as it came (commas unescaped), and the log file keeps it all.
        #expect(world.logged.contains { $0.1.contains("marker 'v1, with a comma'") })
        let log = try String(contentsOfFile: response.logPath, encoding: .utf8)
        #expect(log.contains("assemble-rootfs: wrote " + out + "/rootfs.tar"))
        // The work dir is gone; only the log stays.
        #expect((try? FileManager.default.contentsOfDirectory(atPath: world.root + "/data/builds")) == [])
        #expect(plugin.describeInfo["packer_version"]?.stringValue?.isEmpty == false)
    }

    @Test("a provisioner that exits 1 fails the build with one line naming the step and the log", packerAvailable)
    func provisionerFails() throws {
        let world = PackerWorld()
        defer { world.finish() }
        let template = world.template("fail.json", """
        {"variables": {"output_dir": ""}, "builders": [{"type": "null", "communicator": "none"}],
         "provisioners": [{"type": "shell-local", "inline": ["echo about to fail", "exit 1"]}]}
        """)
        let error = expectPluginError(.invalidRequest) { try world.plugin().build(world.request(template), call: .detached) }
        let message = error?.message ?? ""
        #expect(message.hasPrefix("packer build failed at step 'Running local shell script: "), "\(message)")
        #expect(message.contains("Script exited with non-zero exit status: 1"))
        #expect(!message.contains("\n"))
        let logPath = world.root + "/data/logs/bld-0123456789abcdef.log"
        #expect(message.hasSuffix("(log: \(logPath))."))
        #expect(((try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "").contains("about to fail"))
    }

    @Test("a template packer cannot parse is invalid_request with packer's reason", packerAvailable)
    func templateError() throws {
        let world = PackerWorld()
        defer { world.finish() }
        let template = world.template("bad.json", "{bad")
        let error = expectPluginError(.invalidRequest) { try world.plugin().build(world.request(template), call: .detached) }
        #expect(error?.message.contains("Failed to parse template") == true, "\(error?.message ?? "")")
    }

    @Test("a template that calls timestamp is refused before packer runs")
    func refusesTimestamp() throws {
        let world = PackerWorld()
        defer { world.finish() }
        let template = world.template("ts.json", #"{"builders": [{"type": "null", "communicator": "none", "name": "x-{{timestamp}}"}]}"#)
        let error = expectPluginError(.invalidRequest) { try world.plugin(["packer_path": "/nonexistent/packer"]).build(world.request(template), call: .detached) }
        #expect(error?.message.contains("calls {{timestamp}}") == true)
    }

    @Test("without packer a build is unavailable with one clear line, and describe says why")
    func missingPacker() throws {
        let world = PackerWorld()
        defer { world.finish() }
        let plugin = try world.plugin(["packer_path": "/nonexistent/packer"])
        let template = world.template("ok.json", #"{"builders": [{"type": "null", "communicator": "none"}]}"#)
        let error = expectPluginError(.unavailable) { try plugin.build(world.request(template), call: .detached) }
        #expect(error?.message == "packer is not installed at /nonexistent/packer: install the Debian package packer or set packer_path in the builder's config.")
        #expect(plugin.describeInfo["packer_error"]?.stringValue == error?.message)
        #expect(plugin.describeInfo["packer_version"] == nil)
    }

    @Test("bad requests and configs are refused with a reason")
    func refusals() throws {
        let world = PackerWorld()
        defer { world.finish() }
        let plugin = try world.plugin()
        let template = world.template("ok.json", #"{"builders": [{"type": "null", "communicator": "none"}]}"#)
        expectPluginError(.invalidRequest) { try plugin.build(world.request(template, id: "../escape"), call: .detached) }
        expectPluginError(.invalidRequest) { try plugin.build(world.request(template, vars: ["bad name": "x"]), call: .detached) }
        expectPluginError(.invalidRequest) { try plugin.build(world.request(template, out: world.root + "/missing"), call: .detached) }
        expectPluginError(.invalidRequest) { try plugin.build(world.request(world.root + "/none.json"), call: .detached) }
        expectPluginError(.invalidRequest) { try world.plugin(["max_log_bytes": "big"]) }
        expectPluginError(.invalidRequest) { try world.plugin(["surprise": true]) }
    }

    @Test("cancelling stops packer and the children its provisioner started", packerAvailable)
    func cancellation() throws {
        let world = PackerWorld()
        defer { world.finish() }
        let fifo = world.root + "/ready"
        #expect(mkfifo(fifo, 0o600) == 0)
        // The provisioner starts a long sleep in the background, reports its pid, and waits on it.
        let template = world.template("hang.json", """
        {"variables": {"output_dir": "", "fifo": ""}, "builders": [{"type": "null", "communicator": "none"}],
         "provisioners": [{"type": "shell-local", "inline": ["sleep 600 & echo $! > {{user `fifo`}}; wait"]}]}
        """)
        let plugin = try world.plugin()
        let cancelled = Flag()
        let childPid = Mutex32()
        // The handshake: opening the FIFO blocks until the provisioner writes the pid.
        let reader = Thread {
            // open(2) and read(2): Foundation's file reading does not wait on a FIFO's writer.
            let fd = open(fifo, O_RDONLY)
            if fd >= 0 {
                var buffer = [UInt8](repeating: 0, count: 64)
                var text = ""
                while true {
                    let n = read(fd, &buffer, buffer.count)
                    if n <= 0 { break }
                    text += String(decoding: buffer[0..<n], as: UTF8.self)
                }
                close(fd)
                if let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) { childPid.set(pid) }
            }
            cancelled.set()
        }
        reader.start()
        let started = GroupProcess.monotonic()
        let error = expectPluginError(.unavailable) {
            try plugin.build(world.request(template, vars: ["fifo": fifo]), cancelled: { cancelled.isSet })
        }
        #expect(error?.message.contains("was cancelled") == true, "\(error?.message ?? "")")
        #expect(GroupProcess.monotonic() - started < 120)
        let pid = try #require(childPid.value, "the provisioner never reported its child")
        // The child got SIGKILL with its group: its pidfd turns readable when it is gone (a zombie
        // waiting for PID 1 counts as gone).
        let fd = clvm_pidfd_open(pid)
        if fd >= 0 {
            defer { close(fd) }
            #expect(clvm_pidfd_wait_exit(fd, 10_000) == 1, "the provisioner's child \(pid) survived the cancel")
        }
    }

    static func tarMember(_ tar: String, _ member: String) throws -> String {
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
}

/// A flag one thread sets and another reads.
final class Flag: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// An optional pid handed between threads.
final class Mutex32: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var stored: Int32?
    func set(_ v: Int32) { lock.withLock { stored = v } }
    var value: Int32? { lock.withLock { stored } }
}

@Suite("the packer builder's log")
struct PackerLogTests {
    @Test("the log file stops at max_log_bytes and says how much it cut", packerAvailable)
    func capped() throws {
        let world = PackerWorld()
        defer { world.finish() }
        let template = world.template("chatty.json", """
        {"variables": {"output_dir": ""}, "builders": [{"type": "null", "communicator": "none"}],
         "provisioners": [{"type": "shell-local", "inline": ["i=0; while [ $i -lt 400 ]; do echo line $i of chatter; i=$((i+1)); done", "touch {{user `output_dir`}}/done"]}]}
        """)
        let response = try world.plugin(["max_log_bytes": 4096]).build(world.request(template), call: .detached)
        let attributes = try FileManager.default.attributesOfItem(atPath: response.logPath)
        let size = try #require(attributes[.size] as? Int)
        let log = try String(contentsOfFile: response.logPath, encoding: .utf8)
        #expect(size <= 4096 + 200, "\(size)")
        #expect(log.contains("the log reached max_log_bytes (4096)"))
        // The host still saw every line as it came.
        #expect(world.logged.contains { $0.1.contains("line 399 of chatter") })
        #expect(response.artifacts.map { ($0.path as NSString).lastPathComponent } == ["done"])
        #expect(response.artifacts.first?.kind == "file")
    }
}

@Suite("work dirs of interrupted builds")
struct BuildDirsTests {
    @Test("a dir whose lock is free is swept; a locked one and one without a lock stay")
    func sweep() throws {
        let world = PackerWorld()
        defer { world.finish() }
        let builds = world.root + "/builds"
        #expect(mkdir(builds, 0o700) == 0)
        let live = try BuildDirs.create(builds + "/bld-live")
        defer { close(live) }
        let dead = try BuildDirs.create(builds + "/bld-dead")
        close(dead) // its host died: the lock is free
        #expect(mkdir(builds + "/bld-new", 0o700) == 0) // being made: no lock file yet
        #expect(BuildDirs.sweep(builds) == ["bld-dead"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: builds).sorted() == ["bld-live", "bld-new"])
        expectPluginError(.conflict) { try BuildDirs.create(builds + "/bld-live") }
    }
}
