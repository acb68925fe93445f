import FoundationEssentials
import Basics
import Glibc
import PluginKit

/// The archive of a sandbox's overlay upper dir, made and unpacked with GNU tar and gzip (both in
/// Debian's base system).
///
/// Capture and compression are two steps so the sandbox stays frozen only for the plain tar
/// (a copy of its writable layer), not for the much slower compression.
/// Owners stay numeric (the upper dir holds shifted ids, uid_base and up), and every xattr is kept:
/// overlay's `user.overlay.*` (opaque directories) must survive, as must whiteouts (0/0 character
/// devices, which tar recreates when it runs as host root).
enum SnapshotArchive {
    static let tar = "/bin/tar"
    static let gzip = "/bin/gzip"

    /// Options shared by capture and extraction.
    static let attributeOptions = ["--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls"]

    /// Writes a plain tar of the directory `upper` (its own entry `./` first) to the open file `output`.
    static func capture(upper: String, to output: Int32) throws(PluginError) {
        try run(tar, ["--create", "--file=-", "--sparse", "--one-file-system"] + attributeOptions + ["-C", upper, "."],
                stdin: nil, stdout: output, what: "archive of the upper dir \(upper)")
    }

    /// gzip-compresses the open file `input` (read from its start) into the open file `output`.
    static func compress(_ input: Int32, to output: Int32) throws(PluginError) {
        guard lseek(input, 0, SEEK_SET) == 0 else { throw FileOps.failure("lseek", "the uncompressed snapshot") }
        try run(gzip, ["-c", "-n"], stdin: input, stdout: output, what: "compression of the snapshot")
    }

    /// Unpacks the compressed archive read from the open file `input` into the directory `upper`,
    /// with owners, modes, xattrs and whiteouts as archived (including those of `upper` itself).
    static func extract(_ input: Int32, into upper: String) throws(PluginError) {
        guard lseek(input, 0, SEEK_SET) == 0 else { throw FileOps.failure("lseek", "the snapshot archive") }
        try run(tar, ["--extract", "--gzip", "--file=-", "--same-permissions", "--same-owner"] + attributeOptions + ["-C", upper],
                stdin: input, stdout: nil, what: "extraction of the snapshot into \(upper)")
    }

    /// Runs a host tool with the given descriptors as stdin/stdout (/dev/null when nil) to completion.
    ///
    /// Its stderr goes to an unlinked temp file, not a pipe: an exec helper cloned at the same
    /// moment by another thread keeps copies of every descriptor (it never execs), and waiting for
    /// EOF on a pipe it holds would last as long as that exec's command, with the sandbox frozen
    /// meanwhile. Waiting for the process itself does not depend on who else holds what.
    static func run(_ tool: String, _ args: [String], stdin: Int32?, stdout: Int32?, what: String) throws(PluginError) {
        let errFd = try unlinkedTempFile()
        defer { close(errFd) }
        var options = ChildProcess.Options([tool] + args)
        options.stdin = stdin.map { .descriptor($0) } ?? .null
        options.stdout = stdout.map { .descriptor($0) } ?? .null
        options.stderr = .descriptor(errFd)
        let child: ChildProcess
        switch ChildProcess.spawn(options) {
        case .success(let started): child = started
        case .failure(let error): throw PluginError(.internal, "The \(what) could not start \(tool): \(error.message)")
        }
        let status = child.wait()
        guard status.succeeded else {
            var bytes = [UInt8](repeating: 0, count: 400)
            let n = pread(errFd, &bytes, bytes.count, 0)
            let text = String(decoding: bytes.prefix(max(0, n)), as: UTF8.self).trimmed()
            throw PluginError(.internal, "The \(what) failed (\(tool) \(status)): \(text)")
        }
    }

    /// An open, already unlinked, close-on-exec file under the temp directory.
    static func unlinkedTempFile() throws(PluginError) -> Int32 {
        var template = Array((temporaryDirectoryPath() + "/sandboxer-localvm-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.map { mkstemp($0) } ?? -1 }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if fd < 0 { throw FileOps.failure("mkstemp", path) }
        _ = unlink(path)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return fd
    }
}
