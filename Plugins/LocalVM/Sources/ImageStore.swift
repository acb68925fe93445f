import CLocalVM
import FoundationEssentials
import Basics
import Glibc
import PluginKit

/// Resolves a create request's `image` to a read-only lower layer under `<data_dir>/images/`,
/// building it once when needed.
///
/// - nil or "busybox": a root assembled from Debian's busybox-static (`images/busybox`).
/// - an absolute directory whose root is owned by `uid_base`: used in place (already shifted).
/// - any other absolute directory: copied once into the cache with owners shifted by `uid_base`.
/// - an absolute `.tar`, `.tar.gz` or `.tgz`: extracted once into the cache, owners shifted.
/// Cache entries are keyed by path and mtime, built in a temp dir and renamed into place, so two
/// concurrent creates never see a half-built image.
struct ImageStore: Sendable {
    let config: LocalVMConfig

    var imagesDir: String { config.dataDir + "/images" }

    /// The lower directory for `image`.
    func resolve(_ image: String?) throws(PluginError) -> String {
        let name = image ?? "busybox"
        if name == "busybox" || name.isEmpty {
            let key = config.uidBase == 100_000 ? "busybox" : "busybox-u\(config.uidBase)"
            return try cached(key: key) { (rootfs) throws(PluginError) in try BusyboxImage.assemble(into: rootfs, config: config) }
        }
        guard name.hasPrefix("/") else {
            throw PluginError(.invalidRequest, "The image '\(name)' is not 'busybox' nor an absolute path to a rootfs directory or a .tar/.tar.gz file.")
        }
        var st = stat()
        guard stat(name, &st) == 0 else {
            throw PluginError(.invalidRequest, "The image path \(name) does not exist.")
        }
        let stamp = "\(name)|\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)|\(config.uidBase)"
        let lower: String
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if st.st_uid == config.uidBase { lower = name }
            else {
                lower = try cached(key: "dir-" + Self.hash(stamp)) { (rootfs) throws(PluginError) in
                    try Self.run("/bin/cp", ["-a", "--", name + "/.", rootfs], what: "copy of the image directory \(name)")
                    try shift(rootfs)
                }
            }
        } else if name.hasSuffix(".tar") || name.hasSuffix(".tar.gz") || name.hasSuffix(".tgz") {
            lower = try cached(key: "tar-" + Self.hash(stamp)) { (rootfs) throws(PluginError) in
                try Self.run("/bin/tar", ["-x", "-p", "--numeric-owner", "-f", name, "-C", rootfs],
                             what: "extraction of the image tarball \(name)")
                try shift(rootfs)
            }
        } else {
            throw PluginError(.invalidRequest, "The image \(name) is neither a directory nor a .tar/.tar.gz/.tgz file.")
        }
        guard FileOps.exists(lower + "/bin/sh") else {
            throw PluginError(.invalidRequest, "The image \(name) has no /bin/sh, which the sandbox init needs.")
        }
        return lower
    }

    /// `images/<key>/rootfs`, building it with `build` (given an empty rootfs dir) when absent.
    func cached(key: String, build: (String) throws(PluginError) -> Void) throws(PluginError) -> String {
        let final = imagesDir + "/" + key
        if FileOps.isDirectory(final + "/rootfs") { return final + "/rootfs" }
        try FileOps.mkdirs(imagesDir, mode: 0o711)
        let tmp = imagesDir + "/.tmp-\(key)-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try FileOps.mkdir(tmp, mode: 0o711)
        do {
            try FileOps.mkdir(tmp + "/rootfs", mode: 0o755)
            try build(tmp + "/rootfs")
            Self.addControlMountPoint(tmp + "/rootfs")
        } catch {
            try? FileOps.removeTree(tmp)
            throw error
        }
        if rename(tmp, final) != 0 {
            let e = errno
            try? FileOps.removeTree(tmp)
            // Another create won the race: its image is complete (it was renamed in whole).
            guard (e == EEXIST || e == ENOTEMPTY), FileOps.isDirectory(final + "/rootfs") else {
                throw FileOps.failure("rename", final, e)
            }
        }
        return final + "/rootfs"
    }

    /// Makes `run/sandboxer`, where the launch binds the sandbox's control dir, in a new image: a
    /// directory of the lower layer, so a create no longer copies `/run` up and makes the mount
    /// point in each sandbox's upper dir (2 of a create's inodes on the data dir's file system,
    /// docs/performance.md "Create and destroy without per-sandbox inodes (session 8)"). Only under a
    /// real `run` directory (never through a symlink), owned like it; an image without one (or
    /// cached by an earlier version) gets both at launch, as before.
    static func addControlMountPoint(_ rootfs: String) {
        var run = stat()
        guard lstat(rootfs + "/run", &run) == 0, (run.st_mode & S_IFMT) == S_IFDIR else { return }
        let path = rootfs + "/run/sandboxer"
        guard Glibc.mkdir(path, 0o755) == 0 else { return }
        _ = chmod(path, 0o755)
        _ = lchown(path, run.st_uid, run.st_gid)
    }

    /// Adds uid_base to every owner below 65536 in `rootfs`.
    func shift(_ rootfs: String) throws(PluginError) {
        if clvm_shift_owners(rootfs, config.uidBase, LocalVMConfig.idCount) != 0 {
            throw FileOps.failure("shifting owners under", rootfs)
        }
    }

    /// FNV-1a 64 of a string, as 16 hex digits (a cache key, not a security measure).
    static func hash(_ s: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h ^= UInt64(b); h = h &* 0x100_0000_01b3 }
        return String(h, radix: 16).leftPadded(to: 16)
    }

    /// Runs a host tool to completion; returns its standard output (at most `outputLimit` bytes:
    /// more is an error, not a silently cut answer).
    @discardableResult
    static func run(_ tool: String, _ args: [String], what: String, outputLimit: Int = 16 << 20) throws(PluginError) -> Data {
        let captured: ChildProcess.Captured
        switch ChildProcess.run(ChildProcess.Options([tool] + args), stdoutLimit: outputLimit, stderrLimit: 300) {
        case .success(let done): captured = done
        case .failure(let error): throw PluginError(.internal, "The \(what) could not start \(tool): \(error.message)")
        }
        guard captured.status.succeeded else {
            let text = String(decoding: captured.stderr, as: UTF8.self).trimmed()
            throw PluginError(.internal, "The \(what) failed (\(tool) \(captured.status)): \(text)")
        }
        guard !captured.stdoutTruncated else {
            throw PluginError(.internal, "The \(what) printed more than \(outputLimit) bytes (\(tool)); the plugin refused it.")
        }
        return Data(captured.stdout)
    }
}

extension String {
    func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}
