import Basics
import FoundationEssentials
import Glibc
import PluginKit

extension LocalVMPlugin {
    /// LocalVM boots a built root file system handed over as a tar (`create`'s `image_artifact`).
    public static var bootArtifactKinds: [String] { [ImageStore.rootfsTarKind] }
}

extension ImageStore {
    /// The artifact kind a tar of a root file system has (docs/images.md).
    static let rootfsTarKind = "rootfs-tar"

    /// The lower directory for a built artifact: the tar unpacked once per digest into
    /// `images/artifact-<hex>` (owners shifted by `uid_base`), and reused by every later create.
    ///
    /// The bytes are copied into the temp dir while hashed, and only that private copy, once its
    /// digest matched the request's, is unpacked: a file changed after the check cannot slip in.
    /// The cache entry is named by the digest, so a second create of the same artifact never reads
    /// the tar again; two concurrent creates may both unpack, and the rename picks one whole result.
    func resolveArtifact(_ artifact: BuildArtifact) throws(PluginError) -> String {
        guard artifact.kind == Self.rootfsTarKind else {
            throw PluginError(.invalidRequest, "LocalVM boots artifacts of kind \(Self.rootfsTarKind), not '\(artifact.kind)'.")
        }
        let hex = try Self.digestHex(artifact.digest)
        guard artifact.path.hasPrefix("/") else {
            throw PluginError(.invalidRequest, "The image artifact's path \(artifact.path) is not absolute.")
        }
        let key = "artifact-" + hex + (config.uidBase == 100_000 ? "" : "-u\(config.uidBase)")
        let lower = try cached(key: key) { (rootfs) throws(PluginError) in
            let copy = (rootfs).deletingLastPathComponent + "/artifact.tar"
            let (digest, size) = try Self.copyHashing(artifact.path, to: copy)
            guard digest == artifact.digest, size == artifact.sizeBytes else {
                throw PluginError(.invalidRequest, "The image artifact \(artifact.path) has digest \(digest) and \(size) bytes, not the \(artifact.digest) and \(artifact.sizeBytes) bytes the request names; it changed after the build.")
            }
            try Self.run("/bin/tar", ["-x", "-p", "--numeric-owner", "-f", copy, "-C", rootfs],
                         what: "extraction of the image artifact \(artifact.path)")
            _ = unlink(copy)
            try shift(rootfs)
        }
        guard FileOps.exists(lower + "/bin/sh") else {
            throw PluginError(.invalidRequest, "The image artifact \(artifact.digest) has no /bin/sh, which the sandbox init needs.")
        }
        return lower
    }

    /// The 64 hex digits of `sha256:<hex>`; anything else is refused.
    static func digestHex(_ digest: String) throws(PluginError) -> String {
        let hex = digest.dropFirst("sha256:".count)
        guard digest.hasPrefix("sha256:"), hex.utf8.count == 64,
              hex.utf8.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }) else {
            throw PluginError(.invalidRequest, "The image artifact's digest '\(digest.prefix(80))' is not sha256: and 64 lowercase hex digits.")
        }
        return String(hex)
    }

    /// Copies `source` to `dest` (a new file), returning the copy's `sha256:<hex>` and size.
    static func copyHashing(_ source: String, to dest: String) throws(PluginError) -> (String, Int64) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw FileOps.failure("open", source) }
        defer { close(input) }
        var st = stat()
        guard fstat(input, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw PluginError(.invalidRequest, "The image artifact \(source) is not a regular file.")
        }
        let output = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw FileOps.failure("create", dest) }
        defer { close(output) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total: Int64 = 0
        while true {
            let n = read(input, &buffer, buffer.count)
            if n < 0 { if errno == EINTR { continue }; throw FileOps.failure("read", source) }
            if n == 0 { break }
            hasher.update(buffer[0..<n])
            var off = 0
            while off < n {
                let w = buffer.withUnsafeBytes { raw in write(output, raw.baseAddress.map { $0 + off }, n - off) }
                if w < 0 { if errno == EINTR { continue }; throw FileOps.failure("write", dest) }
                off += w
            }
            total += Int64(n)
        }
        return ("sha256:" + SHA256.hex(hasher.finalize()), total)
    }
}
