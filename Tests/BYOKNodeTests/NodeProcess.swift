import Foundation
import Glibc

/// One run of the helper with raw pipes: the tests write its stdin and read its stdout themselves
/// (frames arrive while the command runs; closing stdin is how a test plays a vanished controller).
final class NodeProcess: @unchecked Sendable {
    // @unchecked: one test thread drives a NodeProcess.
    let process = Process()
    private let input = Pipe(), output = Pipe()
    private var stdinOpen = true

    init(_ args: [String]) throws {
        process.executableURL = URL(fileURLWithPath: try NodeWorld.helper ?? { throw NodeTestFailure(description: "no helper") }())
        process.arguments = args
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Writes all of data to the helper's stdin (a vanished helper just ends the write).
    func write(_ data: Data) {
        let fd = input.fileHandleForWriting.fileDescriptor
        data.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count, let base = raw.baseAddress {
                let n = Glibc.write(fd, base + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; return }
                off += n
            }
        }
    }

    /// One controller frame: [type][len u32 big-endian][payload].
    func frame(_ type: UInt8, _ payload: Data = Data()) {
        let n = UInt32(payload.count)
        write(Data([type, UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]) + payload)
    }

    func closeStdin() {
        if stdinOpen { try? input.fileHandleForWriting.close(); stdinOpen = false }
    }

    /// How long a read waits for the helper to write anything before the test gives up on it: a
    /// helper that hangs fails the test instead of hanging it.
    static let quietLimitMs: Int32 = 30_000

    /// Exactly n bytes of stdout, or fewer at EOF (or after `quietLimitMs` without a byte).
    func read(_ n: Int) -> Data {
        var data = Data(count: n)
        var got = 0
        let fd = output.fileHandleForReading.fileDescriptor
        data.withUnsafeMutableBytes { raw in
            while got < n, let base = raw.baseAddress {
                var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&pfd, 1, Self.quietLimitMs)
                if ready < 0 && errno == EINTR { continue }
                if ready <= 0 { return }
                let r = Glibc.read(fd, base + got, n - got)
                if r < 0 && errno == EINTR { continue }
                if r <= 0 { return }
                got += r
            }
        }
        return data.prefix(got)
    }

    func readToEnd() -> Data { output.fileHandleForReading.readDataToEndOfFile() }

    /// The next frame of the helper's stdout, nil at EOF (or a torn frame).
    func nextFrame() -> (type: UInt8, payload: Data)? {
        let head = read(5)
        guard head.count == 5 else { return nil }
        let b = [UInt8](head)
        let n = Int(b[1]) << 24 | Int(b[2]) << 16 | Int(b[3]) << 8 | Int(b[4])
        let payload = read(n)
        guard payload.count == n else { return nil }
        return (b[0], payload)
    }

    /// Waits on a pidfd (no sleep) until the helper exits, at most `ms`; a helper still running
    /// then is killed, so the test goes on to fail rather than hang.
    func exits(withinMs ms: Int32) -> Bool {
        let exited = ProcessScan.waitExit(process.processIdentifier, ms: ms)
        if !exited { kill(process.processIdentifier, SIGKILL) }
        return exited
    }

    func wait() -> Int32 {
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// What an exec returned, frame by frame.
struct ExecOutcome {
    var stdout = Data()
    var stderr = Data()
    /// The final frame's JSON object.
    var status: [String: Any] = [:]
    var frames = 0
    var largestFrame = 0
    var helperStatus: Int32 = -1

    var exitCode: Int? { status["exit_code"] as? Int }
    var timedOut: Bool? { status["timed_out"] as? Bool }
    var signal: Int? { status["signal"] as? Int }
    var out: String { String(decoding: stdout, as: UTF8.self) }
    var err: String { String(decoding: stderr, as: UTF8.self) }

    /// Reads frames until the status frame (or EOF); `onFrame` may act on the stream meanwhile.
    static func collect(_ p: NodeProcess, onFrame: (UInt8, Data) -> Void = { _, _ in }) -> ExecOutcome {
        var o = ExecOutcome()
        while let (type, payload) = p.nextFrame() {
            o.frames += 1
            o.largestFrame = max(o.largestFrame, payload.count)
            switch type {
            case 1: o.stdout += payload
            case 2: o.stderr += payload
            default:
                o.status = (try? JSONSerialization.jsonObject(with: payload) as? [String: Any]) ?? ["unparsed": String(decoding: payload, as: UTF8.self)]
            }
            onFrame(type, payload)
            if type == 3 { break }
        }
        return o
    }
}

extension NodeWorld {
    /// Runs one exec: stdin (if any) and the end-of-stdin frame, then frames until the status; the
    /// helper's stdin stays open until then (closing it earlier means "controller gone").
    func exec(_ id: String, _ argv: [String], stdin: Data? = nil, options: [String] = []) throws -> ExecOutcome {
        let p = try NodeProcess(["--node-dir", nodeDir, "exec", "--id", id] + options + ["--"] + argv)
        if let stdin { p.frame(1, stdin) }
        p.frame(2)
        var o = ExecOutcome.collect(p)
        p.closeStdin()
        o.helperStatus = p.wait()
        return o
    }

    func sh(_ id: String, _ script: String) throws -> ExecOutcome { try exec(id, ["sh", "-c", script]) }
}
