import CLocalVM
import FoundationEssentials
import Basics
import Glibc
import PluginKit

/// Assembles the default root file system from Debian's busybox-static.
enum BusyboxImage {
    static let binary = "/bin/busybox"

    /// Checks that a statically linked busybox is installed.
    static func check() throws(PluginError) {
        guard let data = FileManager.default.contents(atPath: binary) else {
            throw PluginError(.unavailable, "The default localvm image needs \(binary): install the Debian package busybox-static.")
        }
        if ELF.hasInterpreter(data) {
            throw PluginError(.unavailable, "\(binary) is dynamically linked and cannot run alone in a sandbox: install the Debian package busybox-static.")
        }
    }

    /// Fills `rootfs` (an empty directory) and shifts its owners to uid_base.
    static func assemble(into rootfs: String, config: LocalVMConfig) throws(PluginError) {
        try check()
        let dirs = ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "tmp", "proc", "sys", "dev",
                    "run", "var", "var/tmp", "home", "mnt"]
        for d in dirs { try FileOps.mkdir(rootfs + "/" + d, mode: d == "tmp" || d == "var/tmp" ? 0o1777 : (d == "root" ? 0o700 : 0o755)) }
        // A copy, never a hard link: the owner shift below must not touch the host's binary.
        guard let bytes = FileManager.default.contents(atPath: binary) else {
            throw FileOps.failure("read", binary)
        }
        try FileOps.writeAtomically(rootfs + "/bin/busybox", bytes, mode: 0o755)
        _ = chmod(rootfs + "/bin/busybox", 0o755)
        let list = try ImageStore.run(binary, ["--list-full"], what: "listing of busybox applets")
        for line in String(decoding: list, as: UTF8.self).split(separator: "\n") {
            let path = String(line).trimmingSpaces()
            guard !path.isEmpty, !path.contains(".."), path != "bin/busybox" else { continue }
            let target = rootfs + "/" + path
            let dir = (target).deletingLastPathComponent
            try FileOps.mkdirs(dir)
            if symlink("/bin/busybox", target) != 0 && errno != EEXIST { throw FileOps.failure("symlink", target) }
        }
        let files: [(String, String, mode_t)] = [
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", 0o644),
            ("etc/group", "root:x:0:\nnogroup:x:65534:\n", 0o644),
            ("etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", 0o644),
            ("etc/shadow", "root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n", 0o640),
            ("etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n", 0o644),
        ]
        for (path, text, mode) in files { try FileOps.writeAtomically(rootfs + "/" + path, Data(text.utf8), mode: mode) }
        if clvm_shift_owners(rootfs, config.uidBase, LocalVMConfig.idCount) != 0 {
            throw FileOps.failure("shifting owners under", rootfs)
        }
    }
}

/// Just enough ELF reading to tell a static binary from a dynamic one.
enum ELF {
    /// True when a 64-bit little-endian ELF has a PT_INTERP program header (a dynamic binary).
    static func hasInterpreter(_ d: Data) -> Bool {
        guard d.count > 64, d.prefix(4) == Data([0x7f, 0x45, 0x4c, 0x46]), d[d.startIndex + 4] == 2 else { return false }
        func u(_ off: Int, _ n: Int) -> Int {
            var v = 0
            for i in (0..<n).reversed() { v = v << 8 | Int(d[d.startIndex + off + i]) }
            return v
        }
        let phoff = u(0x20, 8), phentsize = u(0x36, 2), phnum = u(0x38, 2)
        for i in 0..<phnum {
            let off = phoff + i * phentsize
            guard off + 4 <= d.count else { return false }
            if u(off, 4) == 3 { return true } // PT_INTERP
        }
        return false
    }
}
