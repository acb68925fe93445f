import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// `sandboxer.exec-stream/1` on LocalVM, at the plugin's typed API.
@Suite(localVMAvailable) struct LocalVMExecStreamTests {
    /// A started command of `world`'s sandbox `id`.
    struct Run {
        let world: LocalVMWorld
        let ref: ExecHandleRef

        init(_ world: LocalVMWorld, _ id: String, _ argv: [String], stdin: Bool = false, timeout: Int64? = nil) throws {
            self.world = world
            let started = try world.plugin.execStart(ExecStartRequest(sandboxId: id, backendRef: id, argv: argv, stdin: stdin,
                                                                      timeoutSeconds: timeout), call: .detached)
            ref = ExecHandleRef(sandboxId: id, handle: started.handle)
        }

        func read(_ stream: String, offset: Int64, max: Int = 1 << 20, waitMs: Int = 1000) throws -> ExecReadResponse {
            try world.plugin.execRead(ExecReadRequest(sandboxId: ref.sandboxId, handle: ref.handle, stream: stream, offset: offset,
                                                      maxBytes: max, waitMs: waitMs), call: .detached)
        }

        /// The whole stream; at most `limit` rounds.
        func readAll(_ stream: String, limit: Int = 100_000) throws -> Data {
            var data = Data(), offset: Int64 = 0
            for _ in 0..<limit {
                let answer = try read(stream, offset: offset)
                data.append(try #require(answer.data))
                #expect(answer.nextOffset == offset + Int64(answer.data?.count ?? 0))
                offset = answer.nextOffset
                if answer.eof { return data }
            }
            Issue.record("\(stream) never ended")
            return data
        }

        /// Counts a stream's bytes to its end without keeping them.
        func count(_ stream: String) throws -> Int64 {
            var offset: Int64 = 0
            while true {
                let answer = try read(stream, offset: offset)
                offset = answer.nextOffset
                if answer.eof { return offset }
            }
        }

        func wait(ms: Int = 20_000) throws -> ExecWaitResponse {
            try world.plugin.execWait(ExecWaitRequest(sandboxId: ref.sandboxId, handle: ref.handle, waitMs: ms), call: .detached)
        }

        func write(_ data: Data, close: Bool = false) throws -> ExecWriteResponse {
            try world.plugin.execWrite(ExecWriteRequest(sandboxId: ref.sandboxId, handle: ref.handle, data: data, close: close,
                                                        waitMs: 5000), call: .detached)
        }

        func kill(_ signal: Int32) throws {
            try world.plugin.execKill(ExecKillRequest(sandboxId: ref.sandboxId, handle: ref.handle, signal: signal), call: .detached)
        }

        func release() throws { try world.plugin.execRelease(ref, call: .detached) }
    }

    @Test("both streams arrive byte-exact by offset, with the exit code")
    func binaryOutputAndExitCode() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "xs-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let run = try Run(world, id, ["sh", "-c", #"printf 'a\000b\377c'; printf 'e\001\n' >&2; exit 7"#])
        #expect(try run.readAll("stdout") == Data([0x61, 0, 0x62, 0xFF, 0x63]))
        #expect(try run.readAll("stderr") == Data([0x65, 1, 10]))
        let end = try run.wait()
        #expect(end.state == "exited")
        #expect(end.exitCode == 7)
        #expect(end.signal == nil)
        // A re-read at the end offset answers nothing more, and the end stays reported.
        #expect(try run.read("stdout", offset: 5).eof)
        #expect(try run.wait(ms: 0).exitCode == 7)
        try run.release()
        #expect(world.plugin.execStreams.count == 0)
    }

    @Test("a reader that stops reading stops the command: the plugin holds a bounded window")
    func backPressure() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "xs-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let run = try Run(world, id, ["sh", "-c", "head -c 67108864 /dev/zero; echo finished >&2"])
        defer { try? run.release() }
        // Nobody reads stdout: the command fills the pipe and the window (1 MiB each) and blocks.
        let first = try run.read("stdout", offset: 0, max: 1, waitMs: 5000)
        #expect(first.data?.count == 1)
        #expect(try run.wait(ms: 300).state == "running", "64 MiB went somewhere while nobody read them")
        #expect(try run.read("stderr", offset: 0, waitMs: 0).data?.isEmpty == true)
        // Re-reading an acknowledged offset is refused; the same offset again answers the same bytes.
        let again = try run.read("stdout", offset: 1, max: 4, waitMs: 0)
        #expect(again.data == Data(count: 4))
        expectPluginError(.invalidRequest) { try run.read("stdout", offset: 0) }
        var offset: Int64 = 1
        while true {
            let answer = try run.read("stdout", offset: offset)
            #expect((answer.data?.count ?? 0) <= ExecStreamLimits.maxReadBytes)
            offset = answer.nextOffset
            if answer.eof { break }
        }
        #expect(offset == 64 << 20)
        #expect(try run.readAll("stderr") == Data("finished\n".utf8))
        #expect(try run.wait().exitCode == 0)
    }

    // This test hung (2026-11-30) until the idle reaper released its handle: busybox `cat` copied a
    // socket stdin with sendfile, which sleeps for input while holding the stdout pipe's mutex, so the
    // plugin's read of that pipe slept on the mutex despite O_NONBLOCK. Standard input is a pipe
    // now; LocalVMExecStreamStdinTests holds the deterministic regression test.
    @Test("standard input is streamed in pieces and closed")
    func stdinStreamed() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "xs-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let run = try Run(world, id, ["cat"], stdin: true)
        defer { try? run.release() }
        let first = Data([0, 1, 2, 0xFE, 0xFF])
        #expect(try run.write(first).accepted == first.count)
        // The first piece comes back before stdin is closed: it really streams.
        let echoed = try run.read("stdout", offset: 0, waitMs: 5000)
        #expect(echoed.data == first)
        let second = Data("second\n".utf8)
        let w = try run.write(second, close: true)
        #expect(w.accepted == second.count)
        #expect(w.closed)
        var rest = Data(), offset = echoed.nextOffset
        while true {
            let answer = try run.read("stdout", offset: offset)
            rest.append(answer.data ?? Data())
            offset = answer.nextOffset
            if answer.eof { break }
        }
        #expect(rest == second)
        #expect(try run.wait().exitCode == 0)
    }

    @Test("kill, timeout and a missing program end the command as exec would")
    func killTimeoutAndMissing() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "xs-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)

        let sleeper = try Run(world, id, ["sleep", "600"])
        #expect(try sleeper.wait(ms: 0).state == "running")
        try sleeper.kill(15)
        let killed = try sleeper.wait()
        #expect(killed.exitCode == 143)
        #expect(killed.signal == 15)
        try sleeper.kill(9)  // already ended: nothing to do, still ok
        try sleeper.release()

        let slow = try Run(world, id, ["sleep", "600"], timeout: 1)
        let timedOut = try slow.wait()
        #expect(timedOut.timedOut == true)
        #expect(timedOut.exitCode == 137)
        try slow.release()

        let missing = try Run(world, id, ["no-such-program-here"])
        #expect(try missing.wait().exitCode == 127)
        try missing.release()
        expectPluginError(.notFound) { try missing.release() }
        expectPluginError(.notFound) { try missing.read("stdout", offset: 0) }
        expectPluginError(.invalidRequest) { try Run(world, id, ["cat"]).kill(0) }
    }

    @Test("handles die with their sandbox; a released command leaves no process")
    func handlesDieWithSandbox() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "xs-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let run = try Run(world, id, ["sleep", "600"])
        let pid = try #require(try Self.commandPid(world, run))
        let other = try Run(world, id, ["sleep", "600"])
        try other.release()
        try world.destroy(id)
        expectPluginError(.notFound) { try run.wait(ms: 0) }
        #expect(world.plugin.execStreams.count == 0)
        #expect(waitForExit(pid: pid, ms: 5000), "the streamed command outlived its sandbox")
    }

    /// The host pid of a handle's command (for the liveness check).
    static func commandPid(_ world: LocalVMWorld, _ run: Run) throws -> Int32? {
        let ps = try world.sh(run.ref.sandboxId, "for p in /proc/[0-9]*; do [ \"$(cat $p/comm)\" = sleep ] && echo ${p#/proc/}; done")
        guard let inner = ps.out.split(separator: "\n").first else { return nil }
        // Map the sandbox pid to the host's through NSpid of every host process named sleep.
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), let status = try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8),
                  status.contains("Name:\tsleep"),
                  let nspid = status.split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") }),
                  nspid.split(separator: "\t").last.map(String.init) == String(inner),
                  let cgroup = try? String(contentsOfFile: "/proc/\(entry)/cgroup", encoding: .utf8),
                  cgroup.contains(world.cgroupParent) else { continue }
            return pid
        }
        return nil
    }
}
