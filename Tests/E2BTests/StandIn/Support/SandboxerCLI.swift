import Foundation
import Testing

/// The built `sandboxer` binary with a config whose profiles run on the e2b backend at a stand-in.
///
/// The API key reaches the plugin as the host gives every plugin its secrets: `secret_lookup("e2b")`
/// reads the host's environment variable `SANDBOXER_SECRET_E2B` (Lifecycle's `SecretNames`).
struct SandboxerCLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        func object() throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], "not a JSON object: \(stdout) \(stderr)")
        }
        func array() throws -> [[String: Any]] {
            try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [[String: Any]], "not a JSON array: \(stdout) \(stderr)")
        }
    }

    static var binary: String? {
        LoadedE2B.productsDir.map { $0 + "/sandboxer" }.flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
    }

    let home: String
    let hostId: String
    var environment: [String: String]
    /// Removes `home` when the test's last copy of this value goes away (pass or fail).
    private let homeCleanup: HomeCleanup

    /// A private home and store; `profiles` is YAML indented under `profiles:`.
    init(standIn: StandIn, profiles: String? = nil, maxTimeout: String = "24h", key: String? = nil) throws {
        let plugin = try LoadedE2B.libraryCopy.get()
        home = NSTemporaryDirectory() + "e2b-e2e-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        homeCleanup = HomeCleanup(home)
        hostId = "e2e-" + UUID().uuidString.prefix(8).lowercased()
        let config = """
            data_dir: \(home)/data
            host_id: \(hostId)
            backends:
              e2b:
                plugin: \(plugin)
                config:
                  api_url: \(standIn.apiURL)
                  sandbox_url: \(standIn.envdURL)
                  api_key_secret: e2b
                  template: base
                  max_timeout: \(maxTimeout)
            profiles:
            \(profiles ?? "  default:\n    backend: e2b\n    ttl: {default: 1h, max: 4h}")
            """
        try config.write(toFile: home + "/sandboxer.yaml", atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env["SANDBOXER_HOME"] = home + "/data"
        env["SANDBOXER_CONFIG"] = home + "/sandboxer.yaml"
        env["SANDBOXER_SECRET_E2B"] = key ?? standIn.apiKey
        env.removeValue(forKey: "SANDBOXER_CLOCK_OFFSET")
        environment = env
    }

    @discardableResult
    func run(_ args: [String], extraEnv: [String: String] = [:], stdin: Data? = nil) throws -> Result {
        let p = try start(args, extraEnv: extraEnv)
        if let stdin { (p.standardInput as? Pipe)?.fileHandleForWriting.write(stdin) }
        try? (p.standardInput as? Pipe)?.fileHandleForWriting.close()
        let err = (p.standardError as? Pipe)?.fileHandleForReading
        // Drain stderr on another thread so a chatty child cannot block on a full pipe.
        let errData = Drain(err)
        let out = (p.standardOutput as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: errData.wait(), as: UTF8.self))
    }

    /// Starts `sandboxer args…` without waiting for it.
    func start(_ args: [String], extraEnv: [String: String] = [:]) throws -> Process {
        let binary = try #require(Self.binary, "the sandboxer binary was not built")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.environment = environment.merging(extraEnv) { _, new in new }
        p.standardOutput = Pipe()
        p.standardError = Pipe()
        p.standardInput = Pipe()
        try p.run()
        return p
    }

    /// `create --json` → the sandbox's id and backend ref.
    func create(_ extra: [String] = []) throws -> (id: String, ref: String) {
        let r = try run(["create", "--json"] + extra)
        try #require(r.status == 0, "create failed: \(r.stderr)")
        let o = try r.object()
        return (try #require(o["id"] as? String), try #require(o["backend_ref"] as? String))
    }
}

/// Reads a file handle to its end on another thread.
final class Drain: @unchecked Sendable {
    // @unchecked: `data` is written once by the reader thread before the semaphore signals.
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)
    init(_ handle: FileHandle?) {
        Thread.detachNewThread { [self] in
            data = handle?.readDataToEndOfFile() ?? Data()
            done.signal()
        }
    }
    func wait() -> Data { done.wait(); return data }
}

/// Removes a test's home when the last holder goes away. The e2b backend makes plain files only (no
/// mounts), so a recursive removal is safe; `SANDBOXER_TEST_KEEP_HOMES=1` keeps homes for a post-mortem.
final class HomeCleanup: Sendable {
    let path: String
    init(_ path: String) { self.path = path }
    deinit {
        guard ProcessInfo.processInfo.environment["SANDBOXER_TEST_KEEP_HOMES"] != "1" else { return }
        try? FileManager.default.removeItem(atPath: path)
    }
}
