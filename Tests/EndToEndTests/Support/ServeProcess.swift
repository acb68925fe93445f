import Foundation
import Testing

/// Lines a child writes to a pipe, collected by a reader thread; tests wait for a line to appear.
final class LineStream: @unchecked Sendable {
    // @unchecked: `lines` and `closed` are only touched under `condition`.
    private let condition = NSCondition()
    private var lines: [String] = []
    private var closed = false

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            var pending = Data()
            while true {
                let chunk = handle.availableData
                condition.lock()
                if chunk.isEmpty {
                    if !pending.isEmpty { lines.append(String(decoding: pending, as: UTF8.self)) }
                    closed = true
                    condition.broadcast(); condition.unlock()
                    return
                }
                pending.append(chunk)
                while let nl = pending.firstIndex(of: 0x0A) {
                    lines.append(String(decoding: pending[pending.startIndex..<nl], as: UTF8.self))
                    pending = Data(pending[(nl + 1)...])
                }
                condition.broadcast(); condition.unlock()
            }
        }
    }

    /// How many whole lines arrived so far.
    var count: Int { condition.lock(); defer { condition.unlock() }; return lines.count }

    /// Line `index` (which must have arrived).
    func line(_ index: Int) -> String { condition.lock(); defer { condition.unlock() }; return lines[index] }

    /// Everything so far, for failure messages.
    var text: String { condition.lock(); defer { condition.unlock() }; return lines.joined(separator: "\n") }

    /// Waits until `n` lines at or after index `from` match; returns the index after the last one.
    /// Nil when the pipe closed first, or after `limit` seconds: a guard against a hung child that
    /// turns a hang into a failure; the test waits for the line, never for time to pass.
    func waitFor(_ n: Int = 1, from: Int, limit: TimeInterval = 120, _ match: (String) -> Bool) -> Int? {
        let deadline = Date().addingTimeInterval(limit)
        condition.lock(); defer { condition.unlock() }
        var index = from, found = 0
        while true {
            while index < lines.count {
                if match(lines[index]) { found += 1 }
                index += 1
                if found == n { return index }
            }
            if closed { return nil }
            if !condition.wait(until: deadline) { return nil }
        }
    }
}

/// A running `sandboxer serve` on 127.0.0.1 with the fault hook's trace on: the test waits for whole
/// sweep rounds by reading `sandboxer-test: step sweep.end` lines from its stderr.
final class ServeProcess: @unchecked Sendable {
    // @unchecked: every field is set once in init.
    let running: CLIRunner.Running
    let stderr: LineStream
    let port: Int
    private let stdout: ErrorCollector

    static let sweepEnd = "sandboxer-test: step sweep.end"

    init(_ cli: CLIRunner, sweepInterval: String = "1s", extraEnv: [String: String] = [:]) throws {
        running = try cli.start(["serve", "--listen", "127.0.0.1:0", "--sweep-interval", sweepInterval],
                                extraEnv: extraEnv.merging(["SANDBOXER_TEST_TRACE": "1"]) { a, _ in a })
        try? running.input.fileHandleForWriting.close()
        stdout = ErrorCollector(running.out.fileHandleForReading)
        stderr = LineStream(running.err.fileHandleForReading)
        // Ready handshake: the line naming the bound port.
        let marker = "sandboxer: serving on 127.0.0.1:"
        guard let after = stderr.waitFor(from: 0, { $0.hasPrefix(marker) }) else {
            kill(running.process.processIdentifier, SIGKILL)
            throw Failure(message: "serve did not start: \(stderr.text)")
        }
        let line = stderr.line(after - 1)
        let rest = line.dropFirst(marker.count)
        guard let port = Int(rest.prefix { $0.isNumber }) else { throw Failure(message: "no port in '\(line)'") }
        self.port = port
    }

    struct Failure: Error, CustomStringConvertible { let message: String; var description: String { message } }

    /// Waits until `rounds` whole sweep rounds have ended after this call: with 2, one round started
    /// entirely after the call (the first may have been running already).
    func waitForSweeps(_ rounds: Int = 2) -> Bool {
        stderr.waitFor(rounds, from: stderr.count) { $0 == Self.sweepEnd } != nil
    }

    /// SIGTERM, then wait for the exit.
    func stop() {
        kill(running.process.processIdentifier, SIGTERM)
        running.process.waitUntilExit()
        _ = stdout.wait()
    }

    /// SIGKILL, then wait for the exit (the zombie is reaped by Foundation's wait).
    func killNine() {
        kill(running.process.processIdentifier, SIGKILL)
        running.process.waitUntilExit()
        _ = stdout.wait()
    }
}
