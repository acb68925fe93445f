import CLocalVM
import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// Helper A of an exec as `sandboxer-localvm-init --exec-helper` (CLocalVM/exec_helper.c), not a copy of
/// the host, and the check that keeps an init without that mode from being started in it.
@Suite struct LocalVMExecHelperTests {
    @Test("only an init program with the exec helper mode is taken for one")
    func helperModeDetection() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("exec-helper-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("text").path
        try Data("#!/bin/sh\necho not an ELF file\n".utf8).write(to: URL(fileURLWithPath: text))
        #expect(clvm_program_has_exec_helper(text) == 0)
        #expect(clvm_program_has_exec_helper(dir.appendingPathComponent("missing").path) == 0)
        // An ELF file without the section: this test process's own executable.
        #expect(clvm_program_has_exec_helper("/proc/self/exe") == 0)
        // A truncated ELF header is refused, not read past its end.
        let elf = try Data(contentsOf: URL(fileURLWithPath: "/proc/self/exe")).prefix(40)
        let cut = dir.appendingPathComponent("cut").path
        try elf.write(to: URL(fileURLWithPath: cut))
        #expect(clvm_program_has_exec_helper(cut) == 0)
        if let path = InitProgram.programPath {
            #expect(clvm_program_has_exec_helper(path) == 1, "\(path) lacks the exec helper section")
            #expect(InitProgram.execHelperFd > 2)
        }
    }
}

@Suite(localVMAvailable) struct LocalVMExecHelperProcessTests {
    @Test("a command's helper is the init program in its exec helper mode, outside the sandbox's memory cgroup")
    func helperIsTheInitProgram() throws {
        let program = try #require(InitProgram.programPath, "no sandboxer-localvm-init next to the tests (swift build builds it)")
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "xh-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let run = try LocalVMExecStreamTests.Run(world, id, ["sleep", "600"])
        defer { try? run.release() }
        let pid = try world.plugin.execStreams.session(run.ref.handle, sandboxId: id).commandPid
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let ppid = try #require(status.split(separator: "\n").first { $0.hasPrefix("PPid:") }?
            .split(separator: "\t").last.flatMap { Int32($0.trimmingCharacters(in: .whitespaces)) })
        // A: named by the helper, running the init program's file, not a copy of this test process.
        let comm = try String(contentsOfFile: "/proc/\(ppid)/comm", encoding: .utf8)
        #expect(comm.trimmingCharacters(in: .whitespacesAndNewlines) == "sandboxer-exec")
        let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(ppid)/exe")
        #expect(exe == URL(fileURLWithPath: program).resolvingSymlinksInPath().path)
        // B joined the sandbox's memory cgroup (v1) itself; A stayed out of it (exec.c).
        func memoryLine(_ pid: Int32) throws -> Substring? {
            try String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8).split(separator: "\n").first { $0.contains(":memory:") }
        }
        if let commandMemory = try memoryLine(pid), commandMemory.contains(id) {
            #expect(try memoryLine(ppid)?.contains(id) == false, "the helper is in the sandbox's memory cgroup")
        }
        #expect(try run.wait(ms: 0).state == "running")
    }
}
