import Basics
import Foundation
import Glibc
import PluginKit

/// Turns what a build left behind into `BuildArtifact`s: every regular file under `output_dir`,
/// plus files packer's `artifact` lines name when they lie inside it, each with its sha256.
///
/// A builder writes only into `output_dir` (docs/plugins.md), so a file an artifact line names
/// outside it is reported and left out, never read; symlinks are refused outright (an artifact
/// must be the bytes the digest covers, not a pointer elsewhere).
enum ArtifactCollector {
    /// At most this many files make one build's artifacts.
    static let maxArtifacts = 256

    /// The kind of an artifact, from its file name (docs/images.md lists the conventions).
    static func kind(of path: String) -> String {
        let name = (path as NSString).lastPathComponent.lowercased()
        if name.hasSuffix(".tar") { return "rootfs-tar" }
        if name.hasSuffix(".qcow2") { return "qcow2" }
        return "file"
    }

    /// The artifacts of a finished build; `named` are the artifact lines' files. Warnings (a named
    /// file outside output_dir) go to `warn`.
    static func collect(outputDir: String, named: [String], workDir: String,
                        warn: (String) -> Void) throws(PluginError) -> [BuildArtifact] {
        let root = (outputDir as NSString).standardizingPath
        var paths: [String] = []
        try walk(root, into: &paths)
        for file in named {
            let absolute = file.hasPrefix("/") ? file : (workDir as NSString).appendingPathComponent(file)
            let clean = (absolute as NSString).standardizingPath
            guard clean.hasPrefix(root + "/") else {
                warn("packer named the artifact file \(file), which is outside output_dir: left out")
                continue
            }
            if !paths.contains(clean), FileManager.default.fileExists(atPath: clean) { paths.append(clean) }
        }
        guard paths.count <= maxArtifacts else {
            throw PluginError(.invalidRequest, "The build left \(paths.count) files in output_dir; a build may produce at most \(maxArtifacts) artifacts.")
        }
        var artifacts: [BuildArtifact] = []
        for path in paths.sorted() {
            let (digest, size) = try sha256(of: path)
            artifacts.append(BuildArtifact(kind: kind(of: path), path: path, digest: digest, sizeBytes: size))
        }
        return artifacts
    }

    /// Regular files below `dir`, depth first; a symlink or special file is an error.
    static func walk(_ dir: String, into paths: inout [String], depth: Int = 0) throws(PluginError) {
        guard depth < 16 else { throw PluginError(.invalidRequest, "output_dir is nested more than 16 levels deep.") }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            throw PluginError(.internal, "Cannot list \(dir): \(error.localizedDescription).")
        }
        for name in names.sorted() {
            let path = dir + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFREG: paths.append(path)
            case S_IFDIR: try walk(path, into: &paths, depth: depth + 1)
            default:
                throw PluginError(.invalidRequest, "The build left \(path) in output_dir, which is not a regular file or directory (a symlink?); artifacts must be plain files.")
            }
            if paths.count > maxArtifacts { return }
        }
    }

    /// `sha256:<hex>` and the size of a file, read in 1 MiB chunks.
    static func sha256(of path: String) throws(PluginError) -> (String, Int64) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw PluginError(.internal, "Cannot read the artifact \(path): \(String(cString: strerror(errno))).") }
        defer { close(fd) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total: Int64 = 0
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 {
                if errno == EINTR { continue }
                throw PluginError(.internal, "Cannot read the artifact \(path): \(String(cString: strerror(errno))).")
            }
            if n == 0 { break }
            hasher.update(buffer[0..<n])
            total += Int64(n)
        }
        return ("sha256:" + SHA256.hex(hasher.finalize()), total)
    }
}
