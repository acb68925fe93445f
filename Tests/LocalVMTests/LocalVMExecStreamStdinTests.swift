import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// Streamed standard input into a command that copies it with sendfile(2) (busybox `cat`): the
/// regression test of the hang that kept "standard input is streamed in pieces and closed" disabled.
///
/// The cause: with standard input a socket, `cat`'s sendfile splices from the socket into its
/// stdout pipe while holding that pipe's mutex, and sleeps there until more input comes. The
/// plugin's read of the pipe then sleeps uninterruptibly on the mutex (O_NONBLOCK is checked only
/// after it is taken), and the input it would have written next never comes: a deadlock that only
/// the command's death ends. Standard input is a pipe now (sendfile from a pipe is refused at once,
/// and busybox falls back to read(2), which holds no lock of the stdout pipe while it sleeps).
@Suite(localVMAvailable) struct LocalVMExecStreamStdinTests {
    typealias Run = LocalVMExecStreamTests.Run

    @Test("a read answers at once while the command sleeps waiting for more standard input")
    func readWhileCommandWaitsForInput() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "xs-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let run = try Run(world, id, ["cat"], stdin: true)
        defer { try? run.release() }
        let cat = try world.plugin.execStreams.session(run.ref.handle, sandboxId: id).commandPid
        var offset: Int64 = 0
        for round in 0..<3 {
            let piece = Data("piece \(round)\n".utf8)
            #expect(try run.write(piece).accepted == piece.count)
            var echoed = Data()
            while echoed.count < piece.count {
                guard let answer = try Self.guardedRead(run, offset: offset, waitMs: 1000, command: cat) else { return }
                echoed.append(answer.data ?? Data())
                offset = answer.nextOffset
                if answer.eof { break }
            }
            #expect(echoed == piece)
            // The handshake: cat has echoed the piece and sleeps in the kernel waiting for more.
            guard Self.waitUntilAsleep(cat) else {
                Issue.record("cat (pid \(cat)) never went to sleep waiting for input")
                return
            }
            // Before the fix this read slept on the pipe's mutex that cat's sendfile held.
            guard let idle = try Self.guardedRead(run, offset: offset, waitMs: 0, command: cat) else { return }
            #expect(idle.data?.isEmpty != false)
            #expect(!idle.eof)
        }
        #expect(try run.write(Data(), close: true).closed)
        var rest = Data()
        while true {
            guard let answer = try Self.guardedRead(run, offset: offset, waitMs: 1000, command: cat) else { return }
            rest.append(answer.data ?? Data())
            offset = answer.nextOffset
            if answer.eof { break }
        }
        #expect(rest.isEmpty)
        #expect(try run.wait().exitCode == 0)
    }

    @Test("a command that stops reading its input ends the writes with closed, not the process with SIGPIPE")
    func writeAfterReaderLeft() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "xs-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let run = try Run(world, id, ["head", "-c", "1"], stdin: true)
        defer { try? run.release() }
        let piece = Data(repeating: 0x78, count: ExecStreamLimits.maxWriteBytes)
        var closed = false
        // The stdin pipe holds 1 MiB; head reads one buffer and exits, so a later write meets EPIPE.
        for _ in 0..<16 where !closed { closed = try run.write(piece).closed }
        #expect(closed, "16 MiB went into the standard input of a command that exited")
        #expect(try run.readAll("stdout") == Data("x".utf8))
        #expect(try run.wait().exitCode == 0)
    }

    // With a socket stdin this deadlocked the same way (no reaper here: it hung until cat was killed).
    @Test("whole-buffer exec passes a large input through cat, and survives a command that stops reading")
    func wholeBufferLargeInput() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "xs-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let input = String(repeating: "0123456789abcdef", count: 256 << 10)  // 4 MiB, far past any pipe
        let echoed = try world.exec(id, ["cat"], stdin: input)
        #expect(echoed.exitCode == 0)
        #expect(echoed.out.utf8.count == input.utf8.count)
        #expect(echoed.out == input)
        let first = try world.exec(id, ["head", "-c", "1"], stdin: input)
        #expect(first.exitCode == 0)
        #expect(first.out == "0")
    }

    /// One read's result, handed from the reading thread to the watching one.
    final class ReadBox: @unchecked Sendable {
        // @unchecked: both fields are touched only with `lock` held.
        private let lock = NSLock()
        private var taskValue: String?
        private var resultValue: Result<ExecReadResponse, any Error>?
        var task: String? {
            get { lock.withLock { taskValue } }
            set { lock.withLock { taskValue = newValue } }
        }
        var result: Result<ExecReadResponse, any Error>? {
            get { lock.withLock { resultValue } }
            set { lock.withLock { resultValue = newValue } }
        }
    }

    /// Reads stdout on another thread while this one watches for the deadlock: the reader asleep
    /// uninterruptibly (state D) while the command sleeps too, on three checks in a row. Seen, it
    /// records an issue and kills the command (its exit releases the pipe) and answers nil.
    static func guardedRead(_ run: Run, offset: Int64, waitMs: Int, command: Int32) throws -> ExecReadResponse? {
        let box = ReadBox()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            // "PID/task/TID": the reading thread's own /proc entry.
            box.task = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")
            box.result = Result { try run.read("stdout", offset: offset, waitMs: waitMs) }
            done.signal()
        }
        thread.start()
        var stuckChecks = 0
        // The kernel has no event for "asleep on a lock": this polls the two states.
        while done.wait(timeout: .now() + .milliseconds(20)) == .timedOut {
            let readerStuck = box.task.map { processState("/proc/\($0)/stat") == "D" } ?? false
            stuckChecks = readerStuck && processState("/proc/\(command)/stat") == "S" ? stuckChecks + 1 : 0
            if stuckChecks >= 3 {
                Issue.record("exec_read slept uninterruptibly while the command slept waiting for standard input (deadlock)")
                try? run.kill(SIGKILL)
                done.wait()
                return nil
            }
        }
        guard let result = box.result else {
            Issue.record("the reading thread ended without a result")
            return nil
        }
        return try result.get()
    }

    /// Waits until `pid` sleeps in a system call (polling its state: there is no event for it).
    static func waitUntilAsleep(_ pid: Int32) -> Bool {
        let tick = DispatchSemaphore(value: 0)
        for _ in 0..<1500 {
            let syscall = (try? String(contentsOfFile: "/proc/\(pid)/syscall", encoding: .utf8)) ?? "running"
            if processState("/proc/\(pid)/stat") == "S", !syscall.hasPrefix("running") { return true }
            _ = tick.wait(timeout: .now() + .milliseconds(20))
        }
        return false
    }

    /// The state letter of a /proc/…/stat file (the field after the parenthesised name), or nil.
    static func processState(_ path: String) -> Character? {
        guard let stat = try? String(contentsOfFile: path, encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].first { $0 != " " }
    }
}
