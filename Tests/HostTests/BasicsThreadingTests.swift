import FoundationEssentials
import Glibc
import Testing
@testable import Basics

/// Basics' replacements for NSLock, NSCondition and Thread, and the FileIO and error-text helpers.
/// Threads hand results back through a Condition; nothing sleeps to wait.
@Suite struct BasicsThreadingTests {
    /// Counts finished threads; `waitFor(n)` returns once n have.
    final class Finish: @unchecked Sendable {
        // @unchecked: `count` is only touched with `condition` held.
        let condition = Condition()
        var count = 0
        func done() { condition.withLock { count += 1; condition.broadcast() } }
        func waitFor(_ n: Int) { condition.withLock { while count < n { condition.wait() } } }
    }

    final class Counter: @unchecked Sendable {
        // @unchecked: `value` is only touched with `lock` held.
        let lock = Lock()
        var value = 0
    }

    @Test func theLockSerialisesIncrements() {
        let counter = Counter(), finish = Finish()
        for _ in 0..<8 {
            PosixThread.detachNewThread {
                for _ in 0..<10_000 { counter.lock.withLock { counter.value += 1 } }
                finish.done()
            }
        }
        finish.waitFor(8)
        #expect(counter.lock.withLock { counter.value } == 80_000)
        #expect(counter.lock.tryLock())
        counter.lock.unlock()
    }

    /// A thread started beside its creator starts on another CPU (when there is one), then takes
    /// back its creator's whole CPU mask: it may run anywhere afterwards.
    @Test func aThreadBesideItsCreatorGetsItsCreatorsCPUsBack() throws {
        /// The calling thread's allowed CPUs and the CPU it last ran on, from /proc/thread-self.
        @Sendable func cpus() -> (allowed: String, last: Int) {
            let status = (try? String(contentsOfFile: "/proc/thread-self/status", encoding: .utf8)) ?? ""
            let allowed = status.split(separator: "\n").first { $0.hasPrefix("Cpus_allowed_list:") }
                .map { String($0.dropFirst("Cpus_allowed_list:".count)).trimmed() } ?? ""
            let stat = (try? String(contentsOfFile: "/proc/thread-self/stat", encoding: .utf8)) ?? ""
            // Field 39 (processor) counted after the command name's closing parenthesis (field 3 first).
            let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
            return (allowed, fields.count > 36 ? Int(fields[36]) ?? -1 : -1)
        }
        final class Seen: @unchecked Sendable {
            // @unchecked: written by the thread before `finish.done()`, read after `waitFor`.
            var allowed = ""
            var first = -1
        }
        let creator = cpus()
        #expect(!creator.allowed.isEmpty && creator.last >= 0)
        let seen = Seen(), finish = Finish()
        let thread = PosixThread {
            let mine = cpus()
            seen.allowed = mine.allowed; seen.first = mine.last
            finish.done()
        }
        thread.besideCreator = true
        thread.start()
        let creatorAfter = cpus().last
        // The creator keeps its CPU busy meanwhile (as the store's open does beside a preload): a
        // thread started on the creator's CPU would then first run there, a tick later.
        var spins = 0
        while finish.condition.withLock({ finish.count }) == 0 && spins < 50_000_000 { spins += 1 }
        finish.waitFor(1)
        #expect(seen.allowed == creator.allowed)
        // With one CPU there is nowhere else to go; with more, it first ran on another CPU than the
        // one its creator was on when it started it (read just before and after: a creator that
        // moved in between proves nothing either way).
        if creator.allowed.contains("-") || creator.allowed.contains(","), creatorAfter == creator.last {
            #expect(seen.first != creator.last)
        }
    }

    @Test func aTimedWaitWithoutASignalTimesOut() {
        let condition = Condition()
        condition.lock()
        #expect(condition.wait(seconds: 0.001) == false)
        #expect(condition.wait(until: Date(timeIntervalSinceNow: -1)) == false, "a past deadline returns at once")
        condition.unlock()
    }

    @Test func aThreadRunsWithItsNameAndStackSize() throws {
        final class Seen: @unchecked Sendable { var name = "" }  // @unchecked: written before `done`, read after
        let seen = Seen(), finish = Finish()
        let thread = PosixThread {
            let fd = open("/proc/thread-self/comm", O_RDONLY)
            var bytes = [UInt8](repeating: 0, count: 64)
            let n = read(fd, &bytes, 64)
            close(fd)
            seen.name = String(decoding: bytes.prefix(max(0, n)), as: UTF8.self).trimmed()
            finish.done()
        }
        thread.name = "basics-test-thread-with-a-long-name"
        thread.stackSize = 1 << 20
        thread.start()
        finish.waitFor(1)
        #expect(seen.name == "basics-test-thr", "cut to the kernel's 15 bytes")
    }

    @Test func fileIOWritesAndReadsWholeBuffers() throws {
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        #expect(FileIO.writeAll(fds[1], Data("hello, pipe".utf8)))
        close(fds[1])
        #expect(FileIO.readToEnd(fds[0]) == Data("hello, pipe".utf8))
        close(fds[0])
        #expect(!FileIO.writeAll(-1, "x"), "a failed write is a value")
        let path = temporaryDirectoryPath() + "basics-fileio-\(getpid())"
        #expect(!FileIO.append(Data("x".utf8), toExisting: path), "append does not create")
        #expect(FileManager.default.createFile(atPath: path, contents: Data("ab".utf8)))
        defer { unlink(path) }
        #expect(FileIO.append(Data("cd".utf8), toExisting: path))
        #expect(FileIO.readPrefix(path, limit: 3) == Data("abc".utf8))
        var chunks: [Data] = []
        #expect(FileIO.forEachChunk(path, chunk: 3) { chunks.append($0) } == nil)
        #expect(chunks == [Data("abc".utf8), Data("d".utf8)])
        #expect(FileIO.forEachChunk(path + ".missing") { _ in } == "No such file or directory")
    }

    @Test func fileErrorsGiveTheSystemReasonAndPath() {
        do {
            try FileManager.default.createDirectory(atPath: "/proc/no-such-dir/x", withIntermediateDirectories: true)
            Issue.record("it was created")
        } catch {
            #expect(error.reasonText.hasPrefix("No such file or directory: /proc/"), "\(error.reasonText)")
        }
        #expect(POSIXError(.EACCES).reasonText == "Permission denied")
    }
}
