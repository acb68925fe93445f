import CLocalVM
import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// The fence of a sandbox process (docs/security.md): capabilities, no_new_privs, seccomp, /dev,
/// mountinfo. Each test first shows the thing it checks, so a fence that silently vanished fails.
@Suite("LocalVM hardening", localVMAvailable)
struct LocalVMHardeningTests {
    /// The fields of a /proc/<pid>/status text.
    static func status(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    static var keptHex: String { String(clvm_kept_capabilities(), radix: 16).leftPadded(to: 16) }

    @Test("the init and an exec hold only the kept capabilities, with no_new_privs and a seccomp filter")
    func capabilitiesAndFilter() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "cap-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        for path in ["/proc/1/status", "/proc/self/status"] {
            let r = try world.exec(id, ["cat", path])
            #expect(r.exitCode == 0, "\(r.err)")
            let s = Self.status(r.out)
            #expect(s["CapEff"] == Self.keptHex, "\(path): \(s["CapEff"] ?? "-")")
            #expect(s["CapPrm"] == Self.keptHex, "\(path)")
            #expect(s["CapBnd"] == Self.keptHex, "\(path)")
            #expect(s["CapInh"] == "0000000000000000", "\(path)")
            #expect(s["CapAmb"] == "0000000000000000", "\(path)")
            #expect(s["NoNewPrivs"] == "1", "\(path)")
            #expect(s["Seccomp"] == "2", "\(path)")
        }
        // Neither CAP_SYS_ADMIN (21) nor CAP_NET_ADMIN (12) nor CAP_SYS_PTRACE (19) is kept.
        for cap in [12, 19, 21, 16, 27] { #expect(clvm_kept_capabilities() & (1 << UInt64(cap)) == 0) }
        // Root inside still works as root over its own files.
        let own = try world.sh(id, "echo x > /etc/owned && chown 1000:1000 /etc/owned && stat -c %u /etc/owned")
        #expect(own.out == "1000\n", "\(own.err)")
        try world.destroy(id)
    }

    @Test("busybox: mounts, a new user namespace, dmesg and unmounting the backstop are refused")
    func refusedByBusybox() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "deny-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let cases: [(String, String)] = [
            ("mount tmpfs", "mkdir -p /mnt/x && mount -t tmpfs none /mnt/x"),
            ("mount proc", "mkdir -p /mnt/p && mount -t proc proc /mnt/p"),
            ("bind mount", "mkdir -p /mnt/b && mount --bind /etc /mnt/b"),
            ("umount backstop", "umount /run/sandboxer"),
            ("unshare -U", "unshare -U true"),
            ("unshare -m", "unshare -m true"),
            ("dmesg", "dmesg"),
            ("mknod", "mknod /tmp/sda b 8 0"),
            ("insmod", "echo x > /tmp/m.ko && insmod /tmp/m.ko"),
            ("ip addr add (no CAP_NET_ADMIN)", "ip addr add 10.9.9.9/32 dev lo"),
            ("hostname (no CAP_SYS_ADMIN)", "hostname other"),
            ("chroot escape via a new mount ns", "unshare -mr true"),
            ("sysrq", "echo h > /proc/sysrq-trigger"),
            ("core_pattern", "echo /tmp/x > /proc/sys/kernel/core_pattern"),
        ]
        for (name, script) in cases {
            let r = try world.sh(id, script)
            #expect(r.exitCode != 0, "\(name) succeeded: \(r.out)")
        }
        // The ones that held before keep holding; and the backstop is still mounted read-only.
        #expect(try world.sh(id, "grep -c ' /run/sandboxer ' /proc/self/mountinfo").out == "1\n")
        try world.destroy(id)
    }

    // Needs a C compiler with a static libc (scripts/install-deps.sh installs gcc and libc6-dev).
    @Test("a static probe finds every denied system call refused with EPERM (clone3: ENOSYS)",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/cc"), "needs /usr/bin/cc to build the probe"))
    func deniedSyscalls() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let probe = world.dataDir + "/probe"
        guard try Self.buildProbe(probe) else { return }
        let id = "probe-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let binary = try #require(FileManager.default.contents(atPath: probe))
        let r = try world.plugin.exec(
            ExecRequest(sandboxId: id, backendRef: id, argv: ["sh", "-c", "cat > /tmp/probe && chmod 755 /tmp/probe && /tmp/probe"],
                        env: [:], stdinB64: binary.base64EncodedString(), timeoutSeconds: 30), call: .detached)
        #expect(r.exitCode == 0, "\(r.err)")
        var results: [String: Int] = [:]
        for line in r.out.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let n = Int(parts[1]) { results[String(parts[0])] = n }
        }
        #expect(results.count >= 20, "\(r.out)")
        for (name, errno) in results {
            switch name {
            case "getpid": #expect(errno == 0)
            case "clone3": #expect(errno == Int(ENOSYS), "clone3 gave \(errno)")
            default: #expect(errno == Int(EPERM), "\(name) gave errno \(errno), not EPERM")
            }
        }
        try world.destroy(id)
    }

    @Test("/dev holds only the minimal nodes, a private devpts and a tmpfs shm")
    func minimalDev() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "dev-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let list = try world.sh(id, "ls -A /dev | sort | tr '\\n' ' '")
        #expect(list.out == "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero ", "\(list.out)")
        // A pty pair opens through /dev/ptmx, numbered from 0 in the sandbox's own devpts.
        let pty = try world.sh(id, "exec 3<>/dev/ptmx && ls /dev/pts | sort | tr '\\n' ' '")
        #expect(pty.out == "0 ptmx ", "\(pty.out) \(pty.err)")
        let mounts = try world.sh(id, "grep -E ' /dev/(pts|shm) ' /proc/self/mountinfo | awk '{print $5, $9}'")
        #expect(mounts.out == "/dev/shm tmpfs\n/dev/pts devpts\n" || mounts.out == "/dev/pts devpts\n/dev/shm tmpfs\n", "\(mounts.out)")
        try world.destroy(id)
    }

    @Test("mountinfo inside names no host path of the data dir")
    func mountinfoHidesHostPaths() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        let id = "mi-\(UInt16.random(in: 0 ... .max))"
        try world.create(id)
        let r = try world.exec(id, ["cat", "/proc/self/mountinfo"])
        #expect(r.exitCode == 0 && r.out.contains(" / "), "\(r.out)")
        #expect(!r.out.contains(world.dataDir), "\(r.out)")
        #expect(!r.out.contains("/sandboxes/"), "\(r.out)")
        // The same with a disk limit (the control dir then lives on the sandbox's disk).
        let disk = "mid-\(UInt16.random(in: 0 ... .max))"
        try world.create(disk, resources: ResourceLimits(diskBytes: 4 << 20))
        let d = try world.exec(disk, ["cat", "/proc/self/mountinfo"])
        #expect(d.exitCode == 0 && !d.out.contains(world.dataDir) && !d.out.contains("/sandboxes/"), "\(d.out)")
        try world.destroy(disk)
        try world.destroy(id)
    }

    /// Compiles Tests/Fixtures/SyscallProbe/probe.c statically; false when that failed (recorded).
    static func buildProbe(_ out: String) throws -> Bool {
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/SyscallProbe/probe.c").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
        p.arguments = ["-static", "-O2", "-o", out, source]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "cc -static failed")
        return p.terminationStatus == 0
    }
}
