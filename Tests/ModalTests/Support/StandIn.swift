import Foundation
import Glibc
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The Modal stand-in (Tests/Fixtures/ModalStandIn) as a child process of the test: started with a
/// ready handshake (it writes its ports into a FIFO once it accepts calls), stopped with SIGTERM.
final class StandIn {
    struct Failure: Error, CustomStringConvertible { var description: String }

    static let tokenID = "ak-sandboxer-test"
    static let tokenSecret = "as-secret-never-logged-5d1f"

    /// The repository root (this file is Tests/ModalTests/Support/StandIn.swift).
    static let repoRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static var python: String { repoRoot + "/.build/venv-modal/bin/python" }

    /// nil when the stand-in can run, else why not (made once per test process).
    static let unavailableReason: String? = {
        let script = repoRoot + "/Tests/ModalTests/Support/make-venv.sh"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do { try process.run() } catch { return "cannot run \(script): \(error)" }
        let said = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let lines = String(decoding: said, as: UTF8.self).split(separator: "\n")
            return "the Modal stand-in's venv is unavailable: \(lines.last.map(String.init) ?? "make-venv.sh failed")"
        }
        return nil
    }()

    static var available: Bool { unavailableReason == nil }

    let process = Process()
    let apiURL: String
    let controlURL: String
    let dir: String

    init(extraArguments: [String] = []) throws {
        if let reason = Self.unavailableReason { throw Failure(description: reason) }
        dir = try TempDir.make("modal-standin")
        let fifo = dir + "/ports.fifo"
        guard mkfifo(fifo, 0o600) == 0 else { throw Failure(description: "mkfifo failed") }
        process.executableURL = URL(fileURLWithPath: Self.python)
        // The test process's threads block SIGTERM and a spawned child inherits that mask, so the
        // stand-in would never see our SIGTERM: unblock it, then exec the stand-in itself.
        process.arguments = ["-c", "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); os.execv(sys.executable, [sys.executable] + sys.argv[1:])",
                             Self.repoRoot + "/Tests/Fixtures/ModalStandIn/standin.py", "--port-file", fifo,
                             "--token-id", Self.tokenID, "--token-secret", Self.tokenSecret, "--log-level", "WARNING"] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        // O_RDWR never blocks on a FIFO; poll() then waits for the stand-in's record (no sleeping).
        let fd = open(fifo, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: "cannot open the port FIFO") }
        defer { close(fd) }
        try process.run()
        var record = [UInt8]()
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while !record.contains(UInt8(ascii: "\n")) {
            guard process.isRunning else { throw Failure(description: "the stand-in exited before it was ready") }
            let ready = poll(&pfd, 1, 60_000)
            guard ready > 0 else { process.terminate(); throw Failure(description: "the stand-in was not ready within 60 s") }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { throw Failure(description: "the port FIFO failed") }
            record += buffer[0..<n]
        }
        let json = try JSONSerialization.jsonObject(with: Data(record)) as? [String: Any]
        guard let api = json?["api_url"] as? String, let control = json?["control_url"] as? String else {
            throw Failure(description: "the stand-in's port record has no addresses")
        }
        apiURL = api
        controlURL = control
    }

    deinit { stop() }

    /// SIGTERM, then wait: the stand-in kills every sandbox process and removes its data.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: dir)
    }

    // MARK: control server

    /// `GET /state`.
    func state() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: request("GET", "/state")) as? [String: Any])
    }

    /// The stand-in's record of one sandbox.
    func sandbox(_ id: String) throws -> [String: Any]? {
        let all = try state()["sandboxes"] as? [[String: Any]] ?? []
        return all.first { $0["id"] as? String == id }
    }

    /// How many calls of `method` the stand-in saw.
    func calls(_ method: String) throws -> Int {
        (try state()["calls"] as? [String: Any])?[method] as? Int ?? 0
    }

    /// `POST /faults` with one rule.
    func fault(_ rule: [String: Any]) throws {
        _ = try request("POST", "/faults", body: try JSONSerialization.data(withJSONObject: rule))
    }

    /// `DELETE /faults`.
    func clearFaults() throws { _ = try request("DELETE", "/faults") }

    func request(_ method: String, _ path: String, body: Data? = nil) throws -> Data {
        var req = URLRequest(url: try #require(URL(string: controlURL + path)))
        req.httpMethod = method
        req.httpBody = body
        if body != nil { req.setValue("application/json", forHTTPHeaderField: "content-type") }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Data?, Int, Error?) = (nil, 0, nil)
        // nonisolated(unsafe): written by the one completion handler before `done` is signalled, read after.
        URLSession.shared.dataTask(with: req) { data, response, error in
            result = (data, (response as? HTTPURLResponse)?.statusCode ?? 0, error)
            done.signal()
        }.resume()
        done.wait()
        if let error = result.2 { throw Failure(description: "control \(method) \(path): \(error)") }
        guard (200..<300).contains(result.1) else {
            throw Failure(description: "control \(method) \(path) answered \(result.1): \(String(decoding: result.0 ?? Data(), as: UTF8.self))")
        }
        return result.0 ?? Data()
    }
}

/// Private temporary directories (mode 0700).
enum TempDir {
    static func make(_ prefix: String) throws -> String {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw StandIn.Failure(description: "mkdtemp failed") }
        return String(cString: made)
    }
}
