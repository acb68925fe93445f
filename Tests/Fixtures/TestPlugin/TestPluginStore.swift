import FoundationEssentials
import Basics
import Glibc
import PluginKit

/// One sandbox as the TestPlugin keeps it: `<state_dir>/<backend_ref>.json`.
///
/// Tests may plant or read these files directly (e.g. a foreign resource for orphan tests).
struct TestSandboxRecord: Codable, Sendable, Equatable {
    var backendRef: String
    var sandboxId: String
    var hostId: String
    var profile: String
    var labels: [String: String]
    /// From the host's clock (`now_unix_ms`), so tests can assert it.
    var createdAtMs: Int64
    var timeoutSeconds: Int64?
    /// createdAt/set_timeout time + timeout; past it, status answers "stopped".
    var deadlineMs: Int64?
    /// The create request's network; nil (records planted by tests) counts as "none".
    var network: String?

    enum CodingKeys: String, CodingKey {
        case backendRef = "backend_ref", sandboxId = "sandbox_id", hostId = "host_id", profile, labels
        case createdAtMs = "created_at_ms", timeoutSeconds = "timeout_seconds", deadlineMs = "deadline_ms", network
    }
}

/// The state directory: sandboxes survive across processes (the CLI runs one per command).
struct TestPluginStore: Sendable {
    let dir: String

    /// Refuses names that could escape the directory.
    static func checkName(_ name: String, _ what: String) throws(PluginError) {
        let allowed = name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x5f || c == 0x2e
        }
        guard allowed, !name.isEmpty, !name.hasPrefix(".") else {
            throw PluginError(.invalidRequest, "The \(what) '\(name)' has characters the test plugin does not accept.")
        }
    }

    func path(_ ref: String) -> String { dir + "/" + ref + ".json" }

    func read(_ ref: String) throws(PluginError) -> TestSandboxRecord {
        try Self.checkName(ref, "backend_ref")
        guard let data = FileManager.default.contents(atPath: path(ref)) else {
            throw PluginError(.notFound, "The test plugin has no sandbox '\(ref)'.")
        }
        do {
            return try JSONDecoder().decode(TestSandboxRecord.self, from: data)
        } catch {
            throw PluginError(.internal, "The test plugin's file for '\(ref)' is corrupt.")
        }
    }

    func write(_ record: TestSandboxRecord) throws(PluginError) {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(record).write(to: URL(fileURLWithPath: path(record.backendRef)), options: .atomic)
        } catch {
            throw PluginError(.unavailable, "The test plugin cannot write its state in \(dir): \(error.reasonText)")
        }
    }

    func exists(_ ref: String) -> Bool { FileManager.default.fileExists(atPath: path(ref)) }

    func remove(_ ref: String) throws(PluginError) {
        try Self.checkName(ref, "backend_ref")
        guard unlink(path(ref)) == 0 else {
            throw PluginError(.notFound, "The test plugin has no sandbox '\(ref)'.")
        }
    }

    func all() -> [TestSandboxRecord] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.sorted().compactMap { name in
            guard name.hasSuffix(".json"), let data = FileManager.default.contents(atPath: dir + "/" + name) else { return nil }
            return try? JSONDecoder().decode(TestSandboxRecord.self, from: data)
        }
    }

    /// Appends one line to `<state_dir>/<file>`: how the plugin tells tests what it saw.
    func note(_ file: String, _ line: String) {
        let fd = open(dir + "/" + file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    /// Writes one line to a FIFO, blocking until a reader has it open: the tests' handshake.
    static func signal(fifo: String, _ line: String) {
        let fd = open(fifo, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }
}
