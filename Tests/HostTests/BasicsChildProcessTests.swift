import Glibc
import Testing
@testable import Basics

/// Basics' one process starter: wiring, bounded capture, the signal state a child starts with, the
/// declared teardown. Every wait here is for an event (a line on a pipe, an exit), never a sleep.
@Suite struct BasicsChildProcessTests {
    /// Reads one line from `fd` (the child's ready handshake).
    static func readLine(_ fd: Int32) -> String {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(fd, &byte, 1) == 1 && byte != 10 { line.append(byte) }
        return String(decoding: line, as: UTF8.self)
    }

    @Test func capturesBothStreamsAndTheExitCode() throws {
        let result = try ChildProcess.run(.init(["/bin/sh", "-c", "printf hello; printf oops >&2; exit 3"])).get()
        #expect(String(decoding: result.stdout, as: UTF8.self) == "hello")
        #expect(String(decoding: result.stderr, as: UTF8.self) == "oops")
        #expect(result.status == .exited(3))
        #expect(result.status.code == 3 && !result.status.succeeded)
        #expect(!result.stdoutTruncated && !result.stderrTruncated)
    }

    @Test func captureIsBoundedAndTheRestIsDrained() throws {
        // 1 MB through a 64 KB pipe: if the rest were not drained the child would block forever.
        let result = try ChildProcess.run(.init(["/usr/bin/head", "-c", "1000000", "/dev/zero"]), stdoutLimit: 1000).get()
        #expect(result.stdout.count == 1000)
        #expect(result.stdoutTruncated)
        #expect(result.status == .exited(0))
    }

    @Test func environmentAndDirectoryAreTheChildsOwn() throws {
        var options = ChildProcess.Options(["/bin/sh", "-c", "pwd; echo \"$FOO\"; echo \"${BAR-unset}\""])
        options.environment = ["FOO=bar", "PATH=/usr/bin:/bin"]
        options.directory = "/proc"
        let result = try ChildProcess.run(options).get()
        #expect(String(decoding: result.stdout, as: UTF8.self) == "/proc\nbar\nunset\n")
    }

    @Test func searchPathFindsAProgramByName() throws {
        var options = ChildProcess.Options(["true"])
        options.searchPath = true
        #expect(try ChildProcess.run(options).get().status == .exited(0))
    }

    @Test func aMissingProgramIsAValueNotACrash() {
        let result = ChildProcess.spawn(.init(["/nonexistent/program"]))
        guard case .failure(let error) = result else { Issue.record("it started"); return }
        #expect(error.errorNumber == ENOENT)
        #expect(error.message.contains("/nonexistent/program"))
        #expect(ChildProcess.spawn(.init([])).isFailure)
    }

    /// The child starts with an empty mask and SIGPIPE at its default even when the spawning thread
    /// blocks SIGTERM and the process ignores SIGPIPE (as the host does).
    @Test func theChildStartsWithAnEmptyMaskAndDefaultDispositions() throws {
        let previous = signal(SIGPIPE, SIG_IGN)
        var block = sigset_t(), old = sigset_t()
        sigemptyset(&block)
        sigaddset(&block, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &block, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil); signal(SIGPIPE, previous) }
        let result = try ChildProcess.run(.init(["/bin/grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"])).get()
        let fields = String(decoding: result.stdout, as: UTF8.self).split(separator: "\n").reduce(into: [String: UInt64]()) {
            let parts = $1.split(separator: ":")
            $0[String(parts[0])] = UInt64(parts[1].trimmed(), radix: 16)
        }
        let blocked = try #require(fields["SigBlk"]), ignored = try #require(fields["SigIgn"])
        #expect(blocked & (1 << (UInt64(SIGTERM) - 1)) == 0, "SIGTERM leaked into the child's mask")
        #expect(ignored & (1 << (UInt64(SIGPIPE) - 1)) == 0, "SIGPIPE stayed ignored in the child")
    }

    @Test func descriptorsReachTheChildAtTheirNumbers() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]) }
        var options = ChildProcess.Options(["/bin/sh", "-c", "echo three >&3"])
        options.descriptors = [(child: 3, parent: fds[1])]
        let child = try ChildProcess.spawn(options).get()
        close(fds[1])
        #expect(Self.readLine(fds[0]) == "three")
        #expect(child.wait() == .exited(0))
    }

    @Test func aNewProcessGroupIsLedByTheChild() throws {
        var options = ChildProcess.Options(["/bin/sh", "-c", "echo ready; exec cat"])
        options.stdin = .pipe
        options.stdout = .pipe
        options.newProcessGroup = true
        let child = try ChildProcess.spawn(options).get()
        #expect(Self.readLine(child.stdoutFd) == "ready")
        #expect(getpgid(child.pid) == child.pid)
        child.closeStdin()
        #expect(child.wait() == .exited(0))
        #expect(child.poll() == .exited(0), "the status stays once reaped")
    }

    @Test func teardownEndsAtTheFirstSignalThatWorks() throws {
        var options = ChildProcess.Options(["/bin/sh", "-c", "echo ready; exec tail -f /dev/null"])
        options.stdout = .pipe
        let child = try ChildProcess.spawn(options).get()
        #expect(Self.readLine(child.stdoutFd) == "ready")
        #expect(child.wait(seconds: 0.01) == nil, "it is still running")
        #expect(child.terminate(.termThenKill(grace: 30)) == .signalled(SIGTERM))
    }

    @Test func teardownEscalatesWhenTheChildIgnoresTERM() throws {
        // An ignored disposition survives exec: tail ignores SIGTERM and only SIGKILL ends it.
        var options = ChildProcess.Options(["/bin/sh", "-c", "trap '' TERM; echo ready; exec tail -f /dev/null"])
        options.stdout = .pipe
        let child = try ChildProcess.spawn(options).get()
        #expect(Self.readLine(child.stdoutFd) == "ready")
        #expect(child.terminate(.termThenKill(grace: 0.05)) == .signalled(SIGKILL))
        #expect(kill(child.pid, 0) != 0, "it was reaped")
    }

    @Test func theSequenceIsDeclared() {
        let sequence = TeardownSequence.termThenKill(grace: 2, toProcessGroup: true)
        #expect(sequence.steps == [.init(signal: SIGTERM, grace: 2), .init(signal: SIGKILL, grace: nil)])
        #expect(sequence.toProcessGroup)
    }

    @Test func exitStatusDecodesWaitStatuses() {
        #expect(ExitStatus(waitStatus: 0) == .exited(0))
        #expect(ExitStatus(waitStatus: 2 << 8) == .exited(2))
        #expect(ExitStatus(waitStatus: 9) == .signalled(9))
        #expect(ExitStatus.signalled(15).code == 143)
        #expect(ExitStatus.signalled(9).description == "was killed by signal 9")
        #expect(ExitStatus.exited(1).description == "exited with 1")
    }
}

extension Result {
    var isFailure: Bool { if case .failure = self { true } else { false } }
}
