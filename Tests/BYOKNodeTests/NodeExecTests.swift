import Foundation
import Glibc
import Testing

@Suite("BYOK node helper: exec frames", nodeAvailable, .timeLimit(.minutes(2)))
struct NodeExecTests {
    @Test("exit codes 0, 1 and 255, stdin, stdout and stderr apart, env and cwd, a missing command")
    func basics() throws {
        let w = try NodeWorld()
        defer { w.finish() }
        try w.create("e1", image: try w.pushImage(), extra: ["--env", "FROM_CREATE=c", "--env", "BOTH=create"])
        for code in [0, 1, 255] {
            let o = try w.sh("e1", "exit \(code)")
            #expect(o.exitCode == code)
            #expect(o.timedOut == false)
            #expect(o.status.keys.contains("signal") && o.signal == nil)
            #expect(o.helperStatus == 0, "the helper's own status is 0 whenever it sent a status frame")
        }
        let io = try w.exec("e1", ["sh", "-c", "cat; echo to-err >&2"], stdin: Data("from stdin\n".utf8))
        #expect(io.out == "from stdin\n")
        #expect(io.err == "to-err\n")
        let env = try w.exec("e1", ["sh", "-c", "pwd; echo $FROM_CREATE $BOTH $HOME"], options: ["--cwd", "/tmp", "--env", "BOTH=exec"])
        #expect(env.out == "/tmp\nc exec /root\n")
        let missing = try w.exec("e1", ["no-such-command"])
        #expect(missing.exitCode == 127)
        #expect(missing.err.contains("no-such-command"))
        let signalled = try w.sh("e1", "kill -9 $$")
        #expect(signalled.exitCode == 137 && signalled.signal == 9 && signalled.timedOut == false)
    }

    @Test("8 MiB of output is streamed in frames of at most 64 KiB while the command still runs")
    func streamsLargeOutput() throws {
        let w = try NodeWorld()
        defer { w.finish() }
        try w.create("e2", image: try w.pushImage())
        let size = 8 << 20
        // The command writes everything, then waits for a line on stdin: all output must arrive
        // before the test sends that line, so nothing is held back until the command ends.
        let p = try NodeProcess(["--node-dir", w.nodeDir, "exec", "--id", "e2", "--", "sh", "-c", "head -c \(size) /dev/zero; read line; echo got-$line"])
        var got = 0, frames = 0, largest = 0
        while got < size, let (type, payload) = p.nextFrame() {
            #expect(type == 1)
            got += payload.count; frames += 1; largest = max(largest, payload.count)
        }
        #expect(got == size)
        #expect(largest <= 65536 && frames >= size / 65536)
        p.frame(1, Data("done\n".utf8))
        p.frame(2)
        let rest = ExecOutcome.collect(p)
        p.closeStdin()
        #expect(rest.out == "got-done\n")
        #expect(rest.exitCode == 0)
        #expect(p.wait() == 0)
    }

    @Test("--timeout-ms kills the command's process group by the helper's own timer")
    func timeout() throws {
        let w = try NodeWorld()
        defer { w.finish() }
        try w.create("e3", image: try w.pushImage())
        let marker = Self.marker()
        let p = try NodeProcess(["--node-dir", w.nodeDir, "exec", "--id", "e3", "--timeout-ms", "2000", "--",
                                 "sh", "-c", Self.startedWhenSleeping(marker)])
        p.frame(2)
        let first = p.nextFrame()
        #expect(first?.type == 1 && first?.payload == Data("started\n".utf8))
        #expect(ProcessScan.live(argv: ["sleep", marker]).count == 1)
        #expect(p.exits(withinMs: 20_000), "the helper's timer ends the command and the helper")
        let o = ExecOutcome.collect(p)
        p.closeStdin()
        #expect(o.timedOut == true)
        #expect(o.signal == 9 && o.exitCode == 137)
        #expect(p.wait() == 0)
        #expect(ProcessScan.live(argv: ["sleep", marker]).isEmpty, "the whole process group is killed")
    }

    /// A sleep duration no other test or run uses, so its process can be told apart in /proc.
    static func marker() -> String { "98\(UInt32.random(in: 1_000_000 ... 9_999_999))" }

    /// A script that starts `sleep <marker>` in the background, prints "started" once that process
    /// really is sleep (the ready handshake), then waits for it.
    static func startedWhenSleeping(_ marker: String) -> String {
        "sleep \(marker) & p=$!; until [ \"$(tr '\\0' ' ' </proc/$p/cmdline)\" = \"sleep \(marker) \" ]; do :; done; echo started; wait"
    }

    @Test("stdin EOF (the controller is gone) kills the command, before and after the end-of-stdin frame",
          arguments: [false, true])
    func watchdog(afterEnd: Bool) throws {
        let w = try NodeWorld()
        defer { w.finish() }
        try w.create("e4", image: try w.pushImage())
        let marker = Self.marker()
        let p = try NodeProcess(["--node-dir", w.nodeDir, "exec", "--id", "e4", "--", "sh", "-c", Self.startedWhenSleeping(marker)])
        if afterEnd { p.frame(2) }
        // The ready handshake: the command has printed, so it runs.
        let first = p.nextFrame()
        #expect(first?.type == 1 && first?.payload == Data("started\n".utf8))
        #expect(ProcessScan.live(argv: ["sleep", marker]).count == 1)
        p.closeStdin()
        #expect(p.exits(withinMs: 20_000), "the helper kills the command and exits once its stdin ends")
        let o = ExecOutcome.collect(p)
        #expect(o.signal == 9)
        #expect(p.wait() == 0)
        #expect(ProcessScan.live(argv: ["sleep", marker]).isEmpty, "the command must not outlive its controller")
        // The sandbox itself lives on.
        #expect(try w.sh("e4", "true").exitCode == 0)
    }

    @Test("a malformed controller frame ends the exec with invalid_request and kills the command")
    func malformedFrame() throws {
        let w = try NodeWorld()
        defer { w.finish() }
        try w.create("e5", image: try w.pushImage())
        let marker = Self.marker()
        let p = try NodeProcess(["--node-dir", w.nodeDir, "exec", "--id", "e5", "--", "sh", "-c", Self.startedWhenSleeping(marker)])
        #expect(p.nextFrame()?.type == 1)
        p.frame(9, Data("x".utf8))
        #expect(p.exits(withinMs: 20_000))
        let o = ExecOutcome.collect(p)
        p.closeStdin()
        let error = o.status["error"] as? [String: Any]
        #expect(error?["code"] as? String == "invalid_request")
        #expect(p.wait() == 0)
        #expect(ProcessScan.live(argv: ["sleep", marker]).isEmpty)
    }
}
