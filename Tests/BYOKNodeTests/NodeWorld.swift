import Basics
import Foundation
import Glibc
import Testing

/// Why the node helper's tests cannot run here, or nil when they can.
let nodeSkipReason: String? = {
    if getuid() != 0 { return "The node helper tests need root (user namespaces with a host id range, cgroups)." }
    if !FileManager.default.fileExists(atPath: "/bin/busybox") { return "The node helper tests need /bin/busybox (Debian package busybox-static)." }
    if NodeWorld.helper == nil { return "sandboxer-node was not built; run `swift build --build-tests` (or `swift build --product sandboxer-node`)." }
    return nil
}()

/// Enables a test only where the helper can really build sandboxes.
let nodeAvailable = Testing.ConditionTrait.enabled(if: nodeSkipReason == nil, Comment(rawValue: nodeSkipReason ?? "ok"))

/// A test failure with a message.
struct NodeTestFailure: Error, CustomStringConvertible { let description: String }

/// One test's node: a private node dir (hence its own cgroup parent), the built helper run directly.
final class NodeWorld: Sendable {
    let nodeDir: String

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

    init() throws {
        // A broken pipe to a helper that has exited must be an error code here, not a signal.
        signal(SIGPIPE, SIG_IGN)
        var template = Array((NSTemporaryDirectory() + "/byok-node-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw NodeTestFailure(description: "mkdtemp failed") }
        // Canonical, as the helper resolves it (its cgroup parent is derived from this path).
        guard let real = realpath(made, nil) else { throw NodeTestFailure(description: "realpath failed") }
        nodeDir = String(cString: real)
        free(real)
        // The sandbox's shifted root must search its way to the image and its own dir.
        chmod(nodeDir, 0o711)
    }

    /// The cgroup parent the helper derives: sandboxer-node-<first 12 hex of sha256(node dir)>.
    var cgroupParent: String {
        "sandboxer-node-" + String(SHA256.hex(SHA256.hash(Array(nodeDir.utf8))).prefix(12))
    }

    /// Every cgroup directory a sandbox of this node could have.
    func cgroupDirs(_ id: String) -> [String] {
        ["memory", "pids", "cpu", "freezer", "unified", ""].map { "/sys/fs/cgroup/\($0.isEmpty ? "" : $0 + "/")\(cgroupParent)/\(id)" }
    }

    /// Runs one JSON verb; returns the object it printed (exit status must be 0).
    @discardableResult
    func run(_ args: [String], stdin: Data = Data()) throws -> [String: Any] {
        let (status, out) = try Self.spawn(["--node-dir", nodeDir] + args, stdin: stdin)
        guard status == 0 else { throw NodeTestFailure(description: "helper exited \(status) for \(args)") }
        let lines = out.split(separator: UInt8(ascii: "\n"))
        guard lines.count == 1, let obj = try JSONSerialization.jsonObject(with: Data(lines[0])) as? [String: Any] else {
            throw NodeTestFailure(description: "helper printed not exactly one JSON object: \(String(decoding: out, as: UTF8.self))")
        }
        return obj
    }

    /// Runs a verb that must succeed.
    @discardableResult
    func ok(_ args: [String], stdin: Data = Data()) throws -> [String: Any] {
        let obj = try run(args, stdin: stdin)
        guard obj["ok"] as? Bool == true else { throw NodeTestFailure(description: "\(args.first ?? "") failed: \(obj)") }
        return obj
    }

    /// Runs the helper with all of stdin given at once and its stdout read to the end.
    static func spawn(_ args: [String], stdin: Data) throws -> (Int32, Data) {
        let p = try NodeProcess(args)
        p.write(stdin)
        p.closeStdin()
        let out = p.readToEnd()
        return (p.wait(), out)
    }

    /// Pushes the busybox image; returns its hash.
    func pushImage() throws -> String {
        let tar = try BusyboxTarball.shared.get()
        let hex = SHA256.hex(SHA256.hash(Array(tar)))
        try ok(["put-blob", "--sha256", hex], stdin: tar)
        return hex
    }

    /// Creates a sandbox on the pushed image; returns the init's pid.
    @discardableResult
    func create(_ id: String, image: String, ttl: Int = 600, extra: [String] = []) throws -> Int32 {
        let obj = try ok(["create", "--id", id, "--image", image, "--ttl-seconds", "\(ttl)"] + extra)
        guard let pid = obj["pid"] as? Int, pid > 0 else { throw NodeTestFailure(description: "create gave no pid: \(obj)") }
        return Int32(pid)
    }

    /// Destroys what is left and removes the node dir (best effort: the tests check cleanliness themselves).
    func finish() {
        if let inv = try? run(["inventory"]), let items = inv["sandboxes"] as? [[String: Any]] {
            for item in items { if let id = item["id"] as? String { _ = try? run(["destroy", "--id", id]) } }
        }
        try? FileManager.default.removeItem(atPath: nodeDir)
    }
}

/// The busybox root file system as a gzip'd tar, assembled once per test process the way LocalVM's
/// BusyboxImage does (owners 0: the helper shifts them).
final class BusyboxTarball: @unchecked Sendable {
    // @unchecked: `cached` is only touched under `lock`.
    static let shared = BusyboxTarball()
    private let lock = NSLock()
    private var cached: Data?

    func get() throws -> Data {
        lock.lock(); defer { lock.unlock() }
        if let cached { return cached }
        let dir = NSTemporaryDirectory() + "/byok-image-\(getpid())"
        let root = dir + "/rootfs"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fm = FileManager.default
        for d in ["bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "tmp", "proc", "sys", "dev", "run", "var/tmp", "home"] {
            try fm.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true)
        }
        chmod(root + "/tmp", 0o1777)
        try fm.copyItem(atPath: "/bin/busybox", toPath: root + "/bin/busybox")
        let list = try Self.tool("/bin/busybox", ["--list-full"])
        for line in String(decoding: list, as: UTF8.self).split(separator: "\n") where line != "bin/busybox" && !line.contains("..") {
            let target = root + "/" + line
            try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            _ = symlink("/bin/busybox", target)
        }
        try Data("root:x:0:0:root:/root:/bin/sh\n".utf8).write(to: URL(fileURLWithPath: root + "/etc/passwd"))
        try Data("root:x:0:\n".utf8).write(to: URL(fileURLWithPath: root + "/etc/group"))
        let tar = try Self.tool("/bin/tar", ["--numeric-owner", "--owner=0", "--group=0", "-czf", "-", "-C", root, "."])
        cached = tar
        return tar
    }

    static func tool(_ path: String, _ args: [String]) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw NodeTestFailure(description: "\(path) \(args) exited \(p.terminationStatus)") }
        return data
    }
}
