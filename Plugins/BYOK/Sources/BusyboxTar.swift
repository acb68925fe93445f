import Foundation
import Glibc
import PluginKit

/// The default image: a rootfs tar built from this machine's static busybox, once per data dir,
/// stored by its sha256 and pushed to hosts by that hash.
enum BusyboxTar {
    static let binary = "/bin/busybox"

    /// The image file and its sha256, building it the first time.
    static func image(dataDir: String) throws(PluginError) -> (path: String, sha256: String) {
        let dir = dataDir + "/byok/images"
        let pointer = dir + "/busybox.sha256"
        if let hex = (try? String(contentsOfFile: pointer, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines),
           hex.count == 64, LocalFiles.exists("\(dir)/\(hex).tar") {
            return ("\(dir)/\(hex).tar", hex)
        }
        try LocalFiles.mkdirs(dir, mode: 0o700)
        let staging = "\(dir)/staging-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { _ = try? FileManager.default.removeItem(atPath: staging) }
        try assemble(into: staging)
        let tmp = staging + ".tar"
        defer { unlink(tmp) }
        let tar = try LocalCommand.run("/bin/tar", ["--numeric-owner", "--owner=0", "--group=0", "--sort=name",
                                                    "--mtime=@0", "-C", staging, "-cf", tmp, "."], limit: 65536)
        guard tar.status == 0 else {
            throw PluginError(.internal, "The byok plugin could not build the busybox image: tar failed (\(SSHTransport.firstLine(tar.stderr))).")
        }
        let hex = try LocalFiles.sha256(tmp)
        guard rename(tmp, "\(dir)/\(hex).tar") == 0 else { throw LocalFiles.failure("store the image", "\(dir)/\(hex).tar") }
        try LocalFiles.writeAtomically(pointer, Data((hex + "\n").utf8), mode: 0o600)
        return ("\(dir)/\(hex).tar", hex)
    }

    /// Fills `rootfs` with busybox, its applet links and a few files in /etc.
    static func assemble(into rootfs: String) throws(PluginError) {
        guard let bytes = FileManager.default.contents(atPath: binary) else {
            throw PluginError(.unavailable, "The default byok image needs \(binary): install the Debian package busybox-static.")
        }
        try LocalFiles.mkdirs(rootfs, mode: 0o755)
        for d in ["bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "root", "tmp", "proc", "sys", "dev", "run",
                  "var", "var/tmp", "home", "mnt"] {
            try LocalFiles.mkdirs(rootfs + "/" + d, mode: d.hasSuffix("tmp") ? 0o1777 : (d == "root" ? 0o700 : 0o755))
        }
        try LocalFiles.writeAtomically(rootfs + "/bin/busybox", bytes, mode: 0o755)
        let list = try LocalCommand.run(binary, ["--list-full"], limit: 1 << 20)
        for line in String(decoding: list.stdout, as: UTF8.self).split(separator: "\n") {
            let path = line.trimmingCharacters(in: .whitespaces)
            guard !path.isEmpty, !path.contains(".."), path != "bin/busybox" else { continue }
            let target = rootfs + "/" + path
            try LocalFiles.mkdirs((target as NSString).deletingLastPathComponent)
            if symlink("/bin/busybox", target) != 0 && errno != EEXIST { throw LocalFiles.failure("link", target) }
        }
        let files: [(String, String, mode_t)] = [
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n", 0o644),
            ("etc/group", "root:x:0:\nnogroup:x:65534:\n", 0o644),
            ("etc/hosts", "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", 0o644),
            ("etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n", 0o644),
        ]
        for (path, text, mode) in files { try LocalFiles.writeAtomically(rootfs + "/" + path, Data(text.utf8), mode: mode) }
    }
}
