import FoundationEssentials
import Glibc
import Basics
import PluginKit

/// The TestPlugin's `build` options (under `build:` in its config), for tests of the host's image cache:
///
/// ```json
/// {"build": {"gate_fifo": "/tmp/x/gate",   // after the ready_fifo signal, block until a line arrives here
///            "busybox": true,              // put /bin/busybox into the rootfs tar as bin/busybox
///            "kind": "rootfs-tar"}}        // the artifact kind it reports (default rootfs-tar)
/// ```
/// Every build call is noted in `<state_dir>/build.log` as `<build_id> <cache_key> <marker var>`, so
/// tests count builds. A template file containing `FAIL_TEMPLATE` fails at step 1; a var
/// `fail=provisioner` fails at step 2; `bad_digest=1` reports a wrong digest.
struct TestBuildOptions: Sendable {
    var gateFifo: String?
    var busybox = false
    var kind = "rootfs-tar"

    init(_ json: JSONValue?) {
        gateFifo = json?["gate_fifo"]?.stringValue
        busybox = json?["busybox"]?.boolValue ?? false
        kind = json?["kind"]?.stringValue ?? "rootfs-tar"
    }
}

extension TestPlugin {
    func build(_ request: BuildRequest, call: PluginCall) throws(PluginError) -> BuildResponse {
        let meta = ["build_id": request.buildId]
        store.note("build.log", "\(request.buildId) \(request.cacheKey) \(request.vars["marker"] ?? "-")")
        host.log(.info, "step 1/3: read template", metadata: meta)
        if let fifo = config.readyFifo { TestPluginStore.signal(fifo: fifo, request.buildId) }
        if let gate = config.build.gateFifo, case let fd = open(gate, O_RDONLY | O_CLOEXEC), fd >= 0 {
            _ = FileIO.readChunk(fd)   // blocks until the test writes a line (or closes)
            close(fd)
        }
        let template = (try? String(contentsOfFile: request.template, encoding: .utf8))
            ?? ((try? FileManager.default.contentsOfDirectory(atPath: request.template)) ?? []).joined(separator: "\n")
        if template.contains("FAIL_TEMPLATE") {
            throw PluginError(.invalidRequest, "template error: unknown block type \"FAIL_TEMPLATE\".")
        }
        host.log(.info, "step 2/3: provisioner shell-local", metadata: meta)
        if request.vars["fail"] == "provisioner" {
            throw PluginError(.internal, "provisioner shell-local exited with status 1.")
        }
        if call.isCancelled { throw PluginError(.unavailable, "The host cancelled the build.") }
        host.log(.info, "step 3/3: write rootfs.tar", metadata: meta)
        var files: [(String, [UInt8], Int)] = [("marker", Array((request.vars["marker"] ?? "") .utf8) + [0x0A], 0o644)]
        if config.build.busybox, let bytes = FileManager.default.contents(atPath: "/bin/busybox") {
            files.append(("bin/busybox", Array(bytes), 0o755))
        }
        let tar = TestTar.archive(files)
        let path = request.outputDir + "/rootfs.tar"
        guard FileManager.default.createFile(atPath: path, contents: Data(tar)) else {
            throw PluginError(.internal, "Cannot write \(path).")
        }
        let log = request.outputDir + "/../test-build.log"
        _ = FileManager.default.createFile(atPath: log, contents: Data("built \(request.buildId)\n".utf8))
        var digest = "sha256:" + SHA256.hex(SHA256.hash(tar))
        if request.vars["bad_digest"] == "1" { digest = "sha256:" + String(repeating: "0", count: 64) }
        return BuildResponse(artifacts: [BuildArtifact(kind: config.build.kind, path: path, digest: digest, sizeBytes: Int64(tar.count))],
                             logPath: log)
    }
}

/// A minimal ustar writer: regular files with a mode, owned by root, mtime 0 (so equal inputs give
/// equal bytes).
enum TestTar {
    static func archive(_ files: [(path: String, bytes: [UInt8], mode: Int)]) -> [UInt8] {
        var out: [UInt8] = []
        for file in files {
            var header = [UInt8](repeating: 0, count: 512)
            func put(_ text: String, at offset: Int, width: Int) {
                for (i, b) in text.utf8.prefix(width).enumerated() { header[offset + i] = b }
            }
            func octal(_ value: Int, at offset: Int, width: Int) {
                put(String(value, radix: 8).leftPadded(to: width - 1), at: offset, width: width - 1)
            }
            put(file.path, at: 0, width: 100)
            octal(file.mode, at: 100, width: 8)
            octal(0, at: 108, width: 8)
            octal(0, at: 116, width: 8)
            octal(file.bytes.count, at: 124, width: 12)
            octal(0, at: 136, width: 12)
            header[156] = UInt8(ascii: "0")
            put("ustar", at: 257, width: 6)
            put("00", at: 263, width: 2)
            for i in 148..<156 { header[i] = 0x20 }
            let sum = header.reduce(0) { $0 + Int($1) }
            put(String(sum, radix: 8).leftPadded(to: 6), at: 148, width: 6)
            header[154] = 0
            header[155] = 0x20
            out += header
            out += file.bytes
            out += [UInt8](repeating: 0, count: (512 - file.bytes.count % 512) % 512)
        }
        return out + [UInt8](repeating: 0, count: 1024)
    }
}

extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
