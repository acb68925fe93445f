import Basics
import CBasics
import CLocalVM
import Foundation
import Glibc
import Testing
@testable import LocalVM

#if arch(x86_64)
private let builtWithoutLibc = true
#else
private let builtWithoutLibc = false
#endif

/// sandboxer-localvm-init on x86-64 carries its own start and C runtime instead of glibc
/// (Plugins/LocalVM/Init/nolibc.h). These check that no C library is in the file and run each of its
/// modes outside a sandbox on that runtime. Inside a sandbox, the same program is covered by
/// LocalVMInitTests (PID 1: exec'd by fd, reaps orphans, stops on SIGTERM), LocalVMStateTests (the
/// deadline), LocalVMExecHelperProcessTests (helper A of every exec) and LocalVMTrashTests (the
/// remover started by the hand-off).
@Suite("LocalVM init without glibc",
       .enabled(if: InitProgram.programPath != nil, "sandboxer-localvm-init is not built next to the test binary"))
struct LocalVMInitNoLibcTests {
    static var program: String { InitProgram.programPath ?? "/nonexistent" }

    @Test("the program is a static ELF executable with no C library in it",
          .enabled(if: builtWithoutLibc, "only x86-64 builds the init without glibc"))
    func noCLibrary() throws {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.program)))
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        func u64(_ at: Int) -> Int { u32(at) | u32(at + 4) << 32 }
        try #require(bytes.count > 64 && bytes.starts(with: [0x7f, 0x45, 0x4c, 0x46, 2]), "not a 64-bit ELF file")
        #expect(u16(16) == 2, "not ET_EXEC: a position-independent program needs a loader or self-relocation")
        #expect(u64(24) != 0, "no entry point")
        let (phoff, phentsize, phnum) = (u64(32), u16(54), u16(56))
        try #require(phoff + phentsize * phnum <= bytes.count)
        let types = (0..<phnum).map { u32(phoff + $0 * phentsize) }
        // PT_INTERP: a dynamic loader; PT_DYNAMIC: shared libraries; PT_TLS: libc's thread set-up.
        #expect(!types.contains(3) && !types.contains(2), "program headers \(types): not static")
        #expect(!types.contains(7), "a TLS segment, which nothing here sets up")
        // What glibc's start-up and tunables leave in any static program, stripped or not.
        for marker in ["__libc_start_main", "GLIBC_TUNABLES", "GLIBC_PRIVATE"] {
            let found = contains(bytes, Array(marker.utf8))
            #expect(!found, "\(marker) is in the program: glibc was linked")
        }
        #expect(clvm_program_has_exec_helper(Self.program) == 1, "the exec helper section is gone")
    }

    @Test("the exec helper mode refuses malformed arguments (start, argv, strtoll's range check, write, exit)")
    func helperRefusesMalformedArguments() throws {
        let numbers = ["99999999999999999999"] + Array(repeating: "0", count: 9)
        for args in [["--exec-helper", "x"], ["--exec-helper"] + numbers + ["true"]] {
            let run = try ChildProcess.run(.init([Self.program] + args)).get()
            #expect(run.status == .exited(2), "\(args): \(run.status)")
            #expect(String(decoding: run.stderr, as: UTF8.self).contains("--exec-helper: malformed arguments"))
        }
    }

    @Test("the remover mode empties a deep and wide tree and does not follow a symlink out of it")
    func removerEmptiesTree() throws {
        let base = NSTemporaryDirectory() + "localvm-nolibc-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        defer { _ = clvm_remove_tree(base) }
        let trash = base + "/trash", outside = base + "/outside"
        try FileOps.mkdirs(outside, mode: 0o755)
        try FileOps.writeText(outside + "/kept", "x")
        // Wide: ~190 kB of directory entries, several getdents64 buffers of 32 kB.
        let wide = trash + "/wide"
        try FileOps.mkdirs(wide, mode: 0o755)
        for i in 0..<1500 { try FileOps.writeText(wide + "/" + String(repeating: "f", count: 100) + "\(i)", "") }
        // Deep: one stream per level open at once.
        var deep = trash + "/deep"
        for level in 0..<24 { deep += "/d\(level)" }
        try FileOps.mkdirs(deep, mode: 0o755)
        let longest = open(deep + "/" + String(repeating: "n", count: 255), O_CREAT | O_WRONLY | O_CLOEXEC, 0o644)
        #expect(longest >= 0, "a file with the longest name")
        close(longest)
        #expect(symlink(outside, trash + "/link") == 0)
        // The started process forks the remover and exits 0 at once; the remover empties the trash.
        let run = try ChildProcess.run(.init([Self.program, "--remove-trash", trash])).get()
        #expect(run.status == .exited(0))
        #expect(clvm_wait_dir_empty(trash, 10_000) == 0, "the trash was not emptied")
        #expect(FileOps.exists(outside + "/kept"), "the symlink was followed")
    }

    @Test("the init mode holds its signals from its ready handshake on: USR1 and CHLD wake it, TERM stops it with 0")
    func initModeSignals() throws {
        var ready: [Int32] = [-1, -1]
        #expect(cbasics_pipe_cloexec(&ready) == 0)
        try #require(ready[0] >= 0)
        var options = ChildProcess.Options([Self.program])
        options.descriptors = [(child: 3, parent: ready[1])]
        let child = try ChildProcess.spawn(options).get()
        close(ready[1])
        defer { close(ready[0]); _ = child.terminate() }
        // Ready: the init closes fd 3 once every signal that matters is blocked (as the launcher waits).
        var byte: UInt8 = 0
        #expect(read(ready[0], &byte, 1) == 0)
        // (Its SigBlk in /proc reads 0 meanwhile: sigtimedwait unblocks the set it waits for.) Both
        // sent before it can end: an unheld USR1 would kill it (the default action) whatever TERM
        // does; held, USR1 only makes it re-read the deadline, and TERM ends it with 0.
        #expect(kill(child.pid, SIGUSR1) == 0 && kill(child.pid, SIGCHLD) == 0 && kill(child.pid, SIGTERM) == 0)
        #expect(child.wait(seconds: 10) == .exited(0))
    }

    @Test("the runtime answers as glibc does: a probe linked with it alone, and the same probe on glibc",
          .enabled(if: builtWithoutLibc && FileManager.default.isExecutableFile(atPath: "/usr/bin/cc"),
                   "needs x86-64 and a C compiler (/usr/bin/cc)"))
    func runtimeMatchesGlibc() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let initDir = root.appendingPathComponent("Plugins/LocalVM/Init").path
        let probe = root.appendingPathComponent("Tests/Fixtures/NoLibcProbe/probe.c").path
        let runtime = try FileManager.default.contentsOfDirectory(atPath: initDir)
            .filter { $0.hasPrefix("nolibc_") && $0.hasSuffix(".c") }.sorted().map { initDir + "/" + $0 }
        #expect(runtime.count >= 6, "\(runtime)")
        let base = NSTemporaryDirectory() + "localvm-nolibc-probe-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        defer { _ = clvm_remove_tree(base) }
        let dir = base + "/dir"
        try FileOps.mkdirs(dir, mode: 0o755)
        for i in 0..<1500 { try FileOps.writeText(dir + "/" + String(repeating: "e", count: 100) + "\(i)", "") }
        // As the init is linked: no C library, no position independence (its _start does not relocate).
        let builds: [(program: String, flags: [String])] = [
            (base + "/probe", ["-static", "-no-pie", "-nostdlib", "-fno-builtin", "-fno-stack-protector", "-DNOLIBC_RUNTIME",
                               "-I", initDir, probe] + runtime),
            (base + "/probe-glibc", [probe]),
        ]
        for build in builds {
            let cc = try ChildProcess.run(.init(["/usr/bin/cc", "-O2", "-o", build.program] + build.flags)).get()
            try #require(cc.status == .exited(0), "cc: \(String(decoding: cc.stderr, as: UTF8.self))")
            let run = try ChildProcess.run(.init([build.program, dir])).get()
            #expect(run.status == .exited(0), "\(build.program): \(String(decoding: run.stdout, as: UTF8.self))")
            #expect(String(decoding: run.stdout, as: UTF8.self) == "entries 1500\n")
        }
    }

    private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard let first = needle.first, haystack.count >= needle.count else { return false }
        var i = 0
        while i <= haystack.count - needle.count {
            if haystack[i] == first && haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}
