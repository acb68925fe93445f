import Foundation
import Testing

/// Runs the built `sandboxer` binary the way a user does and captures what it printed.
struct CLIRunner {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// stdout parsed as JSON.
        func json() throws -> Any { try JSONSerialization.jsonObject(with: Data(stdout.utf8)) }
        func object() throws -> [String: Any] { try #require(try json() as? [String: Any]) }
        func array() throws -> [[String: Any]] { try #require(try json() as? [[String: Any]]) }
    }

    /// The directory holding the built products (the binary and the plugin libraries).
    static let productsDirectory: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = (exe as NSString).deletingLastPathComponent
        // The test binary sits in the products directory (possibly inside an .xctest bundle).
        while !dir.isEmpty && dir != "/" {
            if FileManager.default.fileExists(atPath: dir + "/sandboxer") { return dir }
            dir = (dir as NSString).deletingLastPathComponent
        }
        return (exe as NSString).deletingLastPathComponent
    }()

    static var binary: String { productsDirectory + "/sandboxer" }

    /// A private data directory (and so a private store) for one test, removed when the test's last
    /// copy of this runner goes away (`TestHome`).
    let home: String
    private let homeDirectory: TestHome
    var environment: [String: String]

    init() throws {
        homeDirectory = try TestHome(prefix: "sandboxer-e2e-")
        home = homeDirectory.path
        var env = ProcessInfo.processInfo.environment
        env["SANDBOXER_HOME"] = home + "/data"
        env.removeValue(forKey: "SANDBOXER_CONFIG")
        env.removeValue(forKey: "SANDBOXER_CLOCK_OFFSET")
        environment = env
    }

    /// A runner whose config enables the file-backed TestPlugin as backend `fake` (its state dir made),
    /// with `profiles` (YAML indented under `profiles:`) and `extra` top-level YAML.
    static func onFakeBackend(profiles: String, extra: String = "") throws -> CLIRunner {
        var cli = try CLIRunner()
        try FileManager.default.createDirectory(atPath: cli.home + "/fake", withIntermediateDirectories: true)
        try cli.useConfig("""
            data_dir: @HOME@/data
            backends:
              fake:
                plugin: @PRODUCTS@/libSandboxerTestPlugin.so
                config:
                  state_dir: @HOME@/fake
            \(extra)
            profiles:
            \(profiles)
            """)
        return cli
    }

    /// Writes a config file into the test's directory and makes every later run use it.
    mutating func useConfig(_ text: String, name: String = "sandboxer.yaml") throws {
        let path = home + "/" + name
        try text.replacingOccurrences(of: "@PRODUCTS@", with: Self.productsDirectory)
            .replacingOccurrences(of: "@HOME@", with: home)
            .write(toFile: path, atomically: true, encoding: .utf8)
        environment["SANDBOXER_CONFIG"] = path
    }

    /// Runs `sandboxer args…` to completion.
    @discardableResult
    func run(_ args: [String], extraEnv: [String: String] = [:], stdin: Data? = nil) throws -> Result {
        let process = try start(args, extraEnv: extraEnv)
        return try process.finish(stdin: stdin)
    }

    /// Starts `sandboxer args…` without waiting for it.
    func start(_ args: [String], extraEnv: [String: String] = [:]) throws -> Running {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = args
        p.environment = environment.merging(extraEnv) { _, new in new }
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = input
        try p.run()
        return Running(process: p, out: out, err: err, input: input)
    }

    /// A started CLI process.
    struct Running {
        let process: Process
        let out: Pipe
        let err: Pipe
        let input: Pipe

        func finish(stdin: Data? = nil) throws -> Result {
            if let stdin { input.fileHandleForWriting.write(stdin) }
            try? input.fileHandleForWriting.close()
            // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
            let errData = ErrorCollector(err.fileHandleForReading)
            let outData = out.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                          stderr: String(decoding: errData.wait(), as: UTF8.self))
        }
    }
}

/// Reads a file handle to its end on another thread.
final class ErrorCollector: @unchecked Sendable {
    // @unchecked: `data` is written once by the reader thread before the semaphore signals.
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)
    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }
    func wait() -> Data { done.wait(); return data }
}

/// Environment facts tests check before running.
enum Machine {
    static var isRoot: Bool { getuid() == 0 }
    static func hasTool(_ name: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }
    static var hasBusybox: Bool { FileManager.default.isExecutableFile(atPath: "/bin/busybox") }
}

extension CLIRunner {
    /// A LocalVM `network_pool` of its own for one test's config (a random /26 in 10.233.0.0/16): a pool
    /// is owned by the data dir that leases from it, so end-to-end suites running side by side, each
    /// with its own data dir, must not share the default pool. The plugin-level tests use 10.232/16.
    static func privateNetworkPool() -> String {
        "10.233.\(UInt8.random(in: 0...255)).\(UInt8.random(in: 0...3) * 64)/26"
    }

    /// The head of a LocalVM test config: `data_dir`, then `backends.localvm` with the built plugin on a
    /// network pool of its own and each of `settings` under its `config:` (e.g. `cgroup_parent: x`).
    /// Ends with a newline: append the rest (`profiles:`, `builders:`) as top-level YAML.
    static func localVMConfigHead(pool: String = privateNetworkPool(), settings: [String] = []) -> String {
        (["data_dir: @HOME@/data", "backends:", "  localvm:", "    plugin: @PRODUCTS@/libSandboxerLocalVM.so", "    config:",
          "      network_pool: \(pool)"] + settings.map { "      " + $0 }).joined(separator: "\n") + "\n"
    }
}
