import Foundation
import Glibc
import HTTPClient
import Testing

/// The E2B stand-in (Tests/Fixtures/E2BStandIn) as a subprocess on loopback: started with a FIFO
/// as its port file (the ready handshake), driven through its control endpoints, stopped with SIGTERM.
final class StandIn {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// The repository root (this file is Tests/E2BTests/StandIn/Support/StandIn.swift).
    static let repoRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    /// The stand-in's venv python (made by its run-tests.sh) if present, else the system python3:
    /// the stand-in itself needs only the standard library.
    static let python: String? = {
        let venv = repoRoot + "/.build/venv-e2b/bin/python"
        if access(venv, X_OK) == 0 { return venv }
        for candidate in ["/usr/bin/python3", "/usr/local/bin/python3"] where access(candidate, X_OK) == 0 { return candidate }
        return nil
    }()

    static var available: Bool { python != nil }

    let apiKey: String
    let apiPort: Int
    let envdPort: Int
    let process: Process
    let directory: String
    let http = HTTPClient(userAgent: "e2b-tests")

    var apiURL: String { "http://127.0.0.1:\(apiPort)" }
    var envdURL: String { "http://127.0.0.1:\(envdPort)" }

    /// Starts a stand-in; returns once both its ports listen.
    init(apiKey: String = "test-key-" + UUID().uuidString.prefix(8).lowercased(), arguments: [String] = []) throws {
        guard let python = Self.python else { throw Failure(description: "No python3 to run the E2B stand-in.") }
        self.apiKey = apiKey
        var template = Array("/tmp/e2b-standin.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw Failure(description: "mkdtemp failed.") }
        directory = String(cString: made)
        let fifo = directory + "/ports"
        guard mkfifo(fifo, 0o600) == 0 else { throw Failure(description: "mkfifo failed: \(String(cString: strerror(errno))).") }
        // Open the read end first (non-blocking), so the stand-in's open for writing never blocks.
        let fd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: "open of the FIFO failed.") }
        defer { close(fd) }

        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        // A child inherits the test process's blocked signals (SIGTERM among them, blocked on the
        // thread that spawns): unblock them before the stand-in runs, or it never hears SIGTERM and
        // cannot kill its sandboxes' processes on the way out.
        p.arguments = ["-c", Self.unblockAndRun, Self.repoRoot + "/Tests/Fixtures/E2BStandIn/standin.py", "--api-port", "0", "--envd-port", "0",
                       "--port-file", fifo, "--api-key", apiKey, "--data-dir", directory + "/data"] + arguments
        var env = ProcessInfo.processInfo.environment
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        p.environment = env
        _ = FileManager.default.createFile(atPath: directory + "/standin.log", contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: directory + "/standin.log")
        p.standardError = FileHandle(forWritingAtPath: directory + "/standin.log")
        p.standardInput = FileHandle.nullDevice
        try p.run()
        process = p

        let text = Self.readAll(fd, limit: 30)
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
              let api = object["api"] as? Int, let envd = object["envd"] as? Int else {
            p.terminate(); p.waitUntilExit()
            let log = (try? String(contentsOfFile: directory + "/standin.log", encoding: .utf8)) ?? ""
            throw Failure(description: "The stand-in did not report its ports (got '\(text)'); its log: \(log)")
        }
        apiPort = api
        envdPort = envd
    }

    static let unblockAndRun = "import runpy, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, set()); "
        + "sys.argv = sys.argv[1:]; sys.path.insert(0, sys.argv[0].rsplit('/', 1)[0]); runpy.run_path(sys.argv[0], run_name='__main__')"

    deinit { stop() }

    /// SIGTERM (the stand-in kills every sandbox process it started), then waits for it.
    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        #expect(process.terminationStatus == 0, "the stand-in did not stop cleanly on SIGTERM")
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Reads the FIFO until its writer closes it (poll; `limit` seconds is only a safety net).
    static func readAll(_ fd: Int32, limit: Double) -> String {
        var bytes: [UInt8] = []
        let deadline = Date().addingTimeInterval(limit)
        while true {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(max(0, deadline.timeIntervalSinceNow) * 1000))
            if ready < 0, errno == EINTR { continue }
            guard ready > 0 else { break }
            var buffer = [UInt8](repeating: 0, count: 512)
            let n = read(fd, &buffer, buffer.count)
            if n > 0 { bytes += buffer[0..<n]; continue }
            if n == 0 || (pfd.revents & Int16(POLLHUP)) != 0 { if !bytes.isEmpty { break } }
            if n < 0 && errno != EAGAIN && errno != EINTR { break }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Control endpoints and the raw API

    func request(_ method: String, _ path: String, json: Any? = nil, key: Bool = false, timeout: Double = 30) throws -> (status: Int, body: Any?) {
        var headers: [(name: String, value: String)] = []
        var body: [UInt8] = []
        if let json {
            body = [UInt8](try JSONSerialization.data(withJSONObject: json))
            headers.append(("Content-Type", "application/json"))
        }
        if key { headers.append(("X-API-Key", apiKey)) }
        let response = try http.send(HTTPClientRequest(method: method, url: apiURL + path, headers: headers, body: body, timeout: timeout,
                                                       maxResponseBytes: 8 << 20))
        let parsed = response.body.isEmpty ? nil : try? JSONSerialization.jsonObject(with: Data(response.body))
        return (response.status, parsed)
    }

    /// `GET /_standin/state`.
    func state() throws -> [String: Any] {
        let r = try request("GET", "/_standin/state")
        return try #require(r.body as? [String: Any])
    }

    /// Live sandboxes as the stand-in shows them.
    func live() throws -> [[String: Any]] { try state()["sandboxes"] as? [[String: Any]] ?? [] }

    /// One live sandbox by E2B id.
    func sandbox(_ id: String) throws -> [String: Any]? { try live().first { $0["sandboxID"] as? String == id } }

    /// How many requests reached `route` (e.g. "POST /v2/sandboxes").
    func calls(_ route: String) throws -> Int { (try state()["calls"] as? [String: Any])?[route] as? Int ?? 0 }

    /// Arms a fault (see the stand-in's README).
    func fault(_ spec: [String: Any]) throws {
        let r = try request("POST", "/_standin/faults", json: spec)
        #expect(r.status == 201, "arming \(spec) answered \(r.status): \(String(describing: r.body))")
    }

    func clearFaults() throws { _ = try request("DELETE", "/_standin/faults") }

    /// Long-polls until the sandbox is gone; its `gone` record, or nil after `timeoutMs`.
    func waitGone(_ id: String, timeoutMs: Int = 30_000) throws -> [String: Any]? {
        let r = try request("GET", "/_standin/wait?sandboxID=\(id)&timeoutMs=\(timeoutMs)", timeout: Double(timeoutMs) / 1000 + 10)
        return r.status == 200 ? r.body as? [String: Any] : nil
    }

    /// Polls the state until `condition` holds (a handshake on the stand-in's own record, bounded
    /// by `limit` seconds as a safety net).
    func until(limit: Double = 30, _ condition: ([String: Any]) -> Bool) throws -> Bool {
        let deadline = Date().addingTimeInterval(limit)
        while Date() < deadline {
            if condition(try state()) { return true }
            usleep(20_000)
        }
        return false
    }

    /// Creates a sandbox straight through the API, as E2B's SDK does (`POST /v2/sandboxes`).
    func createDirect(metadata: [String: String], timeout: Int = 600) throws -> String {
        let r = try request("POST", "/v2/sandboxes", json: ["templateID": "base", "timeout": timeout, "metadata": metadata], key: true)
        let object = try #require(r.body as? [String: Any], "create answered \(r.status)")
        return try #require(object["sandboxID"] as? String)
    }
}
