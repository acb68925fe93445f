import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// Who ends a streamed command the host stops caring about: the exec helper at the command's timeout,
/// and the idle reaper, which starts only once handles are held side by side
/// (docs/performance.md, "LocalVM streamed exec (session 9)").
@Suite(localVMAvailable) struct LocalVMExecStreamReaperTests {
    typealias Run = LocalVMExecStreamTests.Run

    /// The host pid of a handle's command.
    static func pid(_ world: LocalVMWorld, _ run: Run) throws -> Int32 {
        try world.plugin.execStreams.session(run.ref.handle, sandboxId: run.ref.sandboxId).commandPid
    }

    @Test("a command past its timeout is killed by the exec helper, with no call from the host and no reaper")
    func timeoutWithoutCalls() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "xr-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let slow = try Run(world, id, ["sleep", "600"], timeout: 1)
        let pid = try Self.pid(world, slow)
        #expect(!world.plugin.execStreams.reaperRunning)
        // No plugin call from here until the command is gone: only the helper can have killed it.
        #expect(waitForExit(pid: pid, ms: 20_000), "the command outlived its 1 s timeout with nobody calling")
        let end = try slow.wait()
        #expect(end.timedOut == true)
        #expect(end.exitCode == 137)
        #expect(end.signal == 9)
        try slow.release()
        #expect(!world.plugin.execStreams.reaperRunning)
    }

    @Test("one command at a time starts no reaper; a handle held beside another starts it, and a forgotten one is released")
    func reaperStartsWhenHandlesPileUp() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "xr-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let table = world.plugin.execStreams
        for _ in 0..<2 {
            let one = try Run(world, id, ["true"])
            #expect(try one.wait().exitCode == 0)
            try one.release()
        }
        #expect(!table.reaperRunning, "a one-at-a-time host started the reaper thread")

        let forgotten = try Run(world, id, ["sleep", "600"])
        let pid = try Self.pid(world, forgotten)
        #expect(!table.reaperRunning)
        let beside = try Run(world, id, ["true"])
        #expect(table.reaperRunning, "a second held handle did not start the reaper")
        #expect(try beside.wait().exitCode == 0)
        try beside.release()

        // The reaper's pass at a time past the idle limit (the test's clock, not a wait).
        table.reap(now: ExecStreamSession.monotonic() + table.idleLimit + 1)
        #expect(table.count == 0)
        #expect(waitForExit(pid: pid, ms: 5000), "the forgotten handle's command outlived its release")
        expectPluginError(.notFound) { try forgotten.wait(ms: 0) }
    }
}
