import Foundation

/// server/server.py (grpclib, pinned in server/requirements.txt), or server/early_server.py (raw
/// h2), running in a venv at `.build/venv-grpc`, on 127.0.0.1 with a port the kernel picked.
///
/// Ready handshake: the server writes its port file, then prints "ready" on stdout; `start`
/// blocks reading that line (EOF means it died, and its stderr says why). The server exits when
/// its stdin closes, so it never outlives the test process.
final class GRPCTestServer: Sendable {
    struct SetupError: Error, CustomStringConvertible {
        let description: String
    }

    let port: Int
    let directory: URL
    private let process: Process
    private let stdinPipe: Pipe

    var url: String { "http://127.0.0.1:\(port)" }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let serverDirectory = packageRoot.appendingPathComponent("Tests/GRPCClientTests/server")

    /// The venv's python, created (or refreshed when requirements.txt changed) on first use.
    static let python: Result<String, SetupError> = prepareVenv()

    /// Whether the venv could be made: false without python3-venv or without PyPI.
    static var isAvailable: Bool {
        switch python {
        case .success: return true
        case .failure(let error):
            FileHandle.standardError.write(Data("GRPCClientTests: skipping the loopback server tests: \(error)\n".utf8))
            return false
        }
    }

    /// One plaintext server shared by every test of the process.
    static let shared: Result<GRPCTestServer, SetupError> = python.flatMap { start(python: $0) }

    /// One early-answering server (early_server.py) shared by every test of the process.
    static let early: Result<GRPCTestServer, SetupError> = python.flatMap { start(python: $0, script: "early_server.py") }

    private init(port: Int, directory: URL, process: Process, stdinPipe: Pipe) {
        self.port = port; self.directory = directory; self.process = process; self.stdinPipe = stdinPipe
    }

    /// Starts a server script of server/ (extra arguments: e.g. the TLS certificate) and waits for
    /// its handshake.
    static func start(python: String, script: String = "server.py", arguments: [String] = []) -> Result<GRPCTestServer, SetupError> {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grpc-test-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            return .failure(SetupError(description: "cannot create \(directory.path): \(error)"))
        }
        let portFile = directory.appendingPathComponent("port")
        let stderrPath = directory.appendingPathComponent("stderr.log")
        guard FileManager.default.createFile(atPath: stderrPath.path, contents: nil) else {
            return .failure(SetupError(description: "cannot create \(stderrPath.path)"))
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [serverDirectory.appendingPathComponent(script).path, "--port-file", portFile.path] + arguments
        let stdinPipe = Pipe(), stdoutPipe = Pipe()
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        guard let stderr = FileHandle(forWritingAtPath: stderrPath.path) else {
            return .failure(SetupError(description: "cannot open \(stderrPath.path)"))
        }
        process.standardError = stderr
        do { try process.run() } catch {
            return .failure(SetupError(description: "cannot run \(python): \(error)"))
        }
        // Block until "ready" or EOF; no polling, no sleeping.
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = stdoutPipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let log = (try? String(contentsOf: stderrPath, encoding: .utf8)) ?? ""
        guard String(decoding: line, as: UTF8.self).hasPrefix("ready"),
              let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) else {
            return .failure(SetupError(description: "the gRPC test server did not start: \(log.suffix(2000))"))
        }
        return .success(GRPCTestServer(port: port, directory: directory, process: process, stdinPipe: stdinPipe))
    }

    /// Closes the server's stdin and waits for it to exit.
    func stop() {
        try? stdinPipe.fileHandleForWriting.close()
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Creates `.build/venv-grpc` with the pinned requirements unless a stamp says it is current.
    /// Runs once per process (`python` is a static let); an exclusive lock on a file beside the
    /// venv keeps two test processes of one checkout running at once (two filtered `swift test`
    /// runs) from deleting and installing it under each other: the second waits, then finds the
    /// stamp current.
    static func prepareVenv() -> Result<String, SetupError> {
        let lockPath = packageRoot.appendingPathComponent(".build/venv-grpc.lock").path
        try? FileManager.default.createDirectory(at: packageRoot.appendingPathComponent(".build"), withIntermediateDirectories: true)
        let lock = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lock >= 0 else {
            return .failure(SetupError(description: "cannot open \(lockPath): errno \(errno)"))
        }
        defer { close(lock) }   // closing the descriptor releases the lock
        while flock(lock, LOCK_EX) != 0 {
            guard errno == EINTR else { return .failure(SetupError(description: "cannot lock \(lockPath): errno \(errno)")) }
        }
        return prepareVenvLocked()
    }

    private static func prepareVenvLocked() -> Result<String, SetupError> {
        let venv = packageRoot.appendingPathComponent(".build/venv-grpc")
        let python = venv.appendingPathComponent("bin/python").path
        let requirements = serverDirectory.appendingPathComponent("requirements.txt")
        guard let wanted = try? String(contentsOf: requirements, encoding: .utf8) else {
            return .failure(SetupError(description: "cannot read \(requirements.path)"))
        }
        let stamp = venv.appendingPathComponent(".requirements")
        if FileManager.default.isExecutableFile(atPath: python), (try? String(contentsOf: stamp, encoding: .utf8)) == wanted {
            return .success(python)
        }
        guard let system = ["/usr/bin/python3", "/usr/local/bin/python3"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            return .failure(SetupError(description: "python3 is not installed"))
        }
        try? FileManager.default.removeItem(at: venv)
        let steps: [(String, [String])] = [
            (system, ["-m", "venv", venv.path]),
            (python, ["-m", "pip", "install", "-q", "--disable-pip-version-check", "--retries", "2", "--timeout", "30", "-r", requirements.path]),
        ]
        for (tool, arguments) in steps {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            do { try process.run() } catch {
                return .failure(SetupError(description: "cannot run \(tool): \(error)"))
            }
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                return .failure(SetupError(description: "\(tool) \(arguments.prefix(2).joined(separator: " ")) failed (python3-venv or PyPI missing?): \(text.suffix(1000))"))
            }
        }
        guard FileManager.default.createFile(atPath: stamp.path, contents: Data(wanted.utf8)) else {
            return .failure(SetupError(description: "cannot write \(stamp.path)"))
        }
        return .success(python)
    }
}
