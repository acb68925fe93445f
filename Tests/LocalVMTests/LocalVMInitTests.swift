import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// The C init (sandboxer-localvm-init, built next to the test binary): it is what runs, it is no
/// file of the sandbox, it reaps orphans and stops on SIGTERM. Deadlines: LocalVMStateTests.
@Suite("LocalVM init", localVMAvailable)
struct LocalVMInitTests {
    @Test("PID 1 is the C init, exec'd by fd rather than from a file of the sandbox")
    func runsByFd() throws {
        // Built by `swift build --build-tests` next to this test binary; the shell init is the fallback.
        try #require(InitProgram.programFd != nil, "\(InitProgram.programName) was not found next to the test binary")
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "init-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        #expect(try world.exec(id, ["readlink", "/proc/1/exe"]).out.contains(InitProgram.programName))
        #expect(try world.sh(id, "ls / /bin | grep -c \(InitProgram.programName)").out == "0\n")
        #expect(try world.exec(id, ["cat", "/proc/1/cmdline"]).out == InitProgram.name + "\0")
        // Host root's file: the sandbox's root (an unmapped id to it) cannot write it through /proc/1/exe.
        #expect(try world.sh(id, "echo x >> /proc/1/exe && echo wrote").out.isEmpty)
        try world.destroy(id)
    }

    @Test("orphans re-parented to the init are reaped, not left as zombies")
    func reapsOrphans() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "reap-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        // The shell exits at once, so its child becomes the init's; it exits right after.
        let pid = try world.sh(id, "true & echo $!").out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Int(pid) != nil)
        // Each exec is a round trip through the sandbox, not a sleep; reaping takes one SIGCHLD.
        var gone = false
        for _ in 0..<200 where !gone {
            gone = try world.sh(id, "test -e /proc/\(pid) || echo gone").out == "gone\n"
        }
        #expect(gone, "pid \(pid) was never reaped")
        try world.destroy(id)
    }

    @Test("SIGTERM from the host stops the init (and with it the sandbox)")
    func stopsOnTerm() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "term-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let meta = try world.meta(id)
        #expect(kill(meta.initPid, SIGTERM) == 0)
        #expect(waitForExit(pid: meta.initPid, ms: 10_000), "the init ignored SIGTERM")
        #expect(try world.status(id).state == "stopped")
        try world.destroy(id)
    }
}
