import Foundation
import Glibc
import Basics
import HTTPServer
import YAMLSubset
import PluginProtocol
import Core
import Config
import Store
import Backends
import Lifecycle
import Webhooks
import API
import CLI
import PluginKit
import Synchronization
import Testing

/// Shared fixtures for the plugin tests: built products, temp dirs, compilers, clocks and FIFOs.
enum PluginFixtures {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The repository root (this file is Tests/HostTests/PluginTestSupport.swift).
    static let repoRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The directory SwiftPM built into: the first ancestor of the running test binary that holds
    /// libSandboxerTestPlugin.so (`.build/<triple>/debug` or `release`).
    static let productsDir: Result<String, Failure> = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("libSandboxerTestPlugin.so").path) {
                return .success(dir.path)
            }
            dir.deleteLastPathComponent()
        }
        return .failure(Failure(description: """
            libSandboxerTestPlugin.so was not found next to the test binary \(exe) or in any directory above it. \
            Build the dynamic library products before testing: `swift build --build-tests && swift test` \
            (or `swift build --product SandboxerTestPlugin`).
            """))
    }()

    /// A private copy of the TestPlugin library (dir 0700, file 0755), made once per test process,
    /// so the loader's permission rules hold whatever umask built `.build`.
    static let testPluginCopy: Result<String, Failure> = {
        switch productsDir {
        case .failure(let failure): return .failure(failure)
        case .success(let dir):
            do {
                let tmp = try makeTempDir()
                let dest = tmp + "/libSandboxerTestPlugin.so"
                try FileManager.default.copyItem(atPath: dir + "/libSandboxerTestPlugin.so", toPath: dest)
                chmod(dest, 0o755)
                return .success(dest)
            } catch {
                return .failure(Failure(description: "Cannot copy the TestPlugin library: \(error)"))
            }
        }
    }()

    /// The path of the TestPlugin copy, or a test failure that says how to build it.
    static func testPluginPath() throws -> String {
        try testPluginCopy.get()
    }

    /// A fresh directory only its owner can write (mode 0700).
    static func makeTempDir() throws -> String {
        var template = Array("/tmp/sandboxer-plugin-test.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            throw Failure(description: "mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        return String(cString: made)
    }

    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// An executable on PATH, if any.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    static let hasCC = which("cc") != nil
    static let hasSwift = which("swift") != nil

    /// Runs a program to completion; throws with its output when it fails.
    static func run(_ program: String, _ arguments: [String], in directory: String? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(program) \(arguments.joined(separator: " ")) exited \(process.terminationStatus):\n\(text)")
        }
    }

    /// Compiles Tests/Fixtures/CPlugin/cplugin.c, with the vendorable C helper it uses, with `defines`
    /// into `dir`, against the ABI header in `include`; returns the library path. Hidden visibility:
    /// the header's SANDBOXER_EXPORT alone must export the entry.
    static func compileCPlugin(_ defines: [String] = [], into dir: String, name: String = "libcplugin.so",
                               include: String = repoRoot + "/Sources/PluginABI/include") throws -> String {
        guard let cc = which("cc") else { throw Failure(description: "cc is not on PATH.") }
        let out = dir + "/" + name
        let contrib = repoRoot + "/Sources/PluginABI/contrib"
        try run(cc, ["-shared", "-fPIC", "-fvisibility=hidden", "-I", include, "-I", contrib] + defines.map { "-D" + $0 }
                    + ["-o", out, repoRoot + "/Tests/Fixtures/CPlugin/cplugin.c", contrib + "/sbx_helper.c"])
        chmod(out, 0o755)
        return out
    }
}

/// A clock the test drives: the plugin's view of time is whatever this says.
final class FakeClock: Sendable {
    private let ms: Mutex<Int64>
    init(ms: Int64) { self.ms = Mutex(ms) }
    var nowMs: Int64 { ms.withLock { $0 } }
    func now() -> Date { Date(timeIntervalSince1970: Double(nowMs) / 1000) }
    func advance(seconds: Int64) { ms.withLock { $0 += seconds * 1000 } }
}

/// Collects what plugins log through the host.
final class LogRecorder: Sendable {
    struct Line: Sendable, Equatable {
        var level: Int32
        var message: String
        var metadata: String?
    }
    private let lines = Mutex<[Line]>([])
    var all: [Line] { lines.withLock { $0 } }
    func record(_ level: Int32, _ message: String, _ metadata: String?) {
        lines.withLock { $0.append(Line(level: level, message: message, metadata: metadata)) }
    }
}

/// A context with a fake clock, fixed secrets and a log recorder.
func makeContext(clock: FakeClock, secrets: [String: String] = [:], logs: LogRecorder = LogRecorder()) -> PluginHostContext {
    PluginHostContext(now: { clock.now() }, secret: { secrets[$0] }, log: { logs.record($0, $1, $2) })
}

/// The read end of a FIFO, opened before the writer so the writer never blocks on open.
final class FifoReader {
    let path: String
    let fd: Int32

    init(path: String) throws {
        guard mkfifo(path, 0o600) == 0 else {
            throw PluginFixtures.Failure(description: "mkfifo \(path): \(String(cString: strerror(errno)))")
        }
        self.path = path
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw PluginFixtures.Failure(description: "open \(path): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    /// Waits (poll, bounded by `limit` seconds as a safety net) for one line from the writer.
    func readLine(limit: Double = 30) -> String? {
        var bytes: [UInt8] = []
        let deadline = Date().addingTimeInterval(limit)
        while true {
            let remaining = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, remaining)
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 256)
            let n = read(fd, &buffer, buffer.count)
            if n > 0 {
                bytes += buffer[0..<n]
                if let newline = bytes.firstIndex(of: 0x0a) { return String(decoding: bytes[..<newline], as: UTF8.self) }
            } else if n == 0 || (pfd.revents & Int16(POLLHUP)) != 0 {
                // Writer closed without a full line.
                return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
            }
        }
    }
}

extension Tag {
    /// Tests that run a nested `swift build` (tens of seconds).
    @Tag static var externalBuild: Self
}
