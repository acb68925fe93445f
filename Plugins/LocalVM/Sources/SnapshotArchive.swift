import Foundation
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
    static func run(_ tool: String, _ args: [String], stdin: Int32?, stdout: Int32?, what: String) throws(PluginError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = args
        let err = Pipe()
        process.standardInput = stdin.map { FileHandle(fileDescriptor: $0, closeOnDealloc: false) } ?? FileHandle.nullDevice
        process.standardOutput = stdout.map { FileHandle(fileDescriptor: $0, closeOnDealloc: false) } ?? FileHandle.nullDevice
        process.standardError = err
        do { try process.run() } catch {
            throw PluginError(.internal, "The \(what) could not start \(tool): \(error.localizedDescription).")
        }
        // stderr is the only pipe, so reading it to its end cannot block the tool.
        let messages = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let text = String(decoding: messages.prefix(400), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            let how = process.terminationReason == .exit ? "exited with \(process.terminationStatus)" : "was killed by signal \(process.terminationStatus)"
            throw PluginError(.internal, "The \(what) failed (\(tool) \(how)): \(text)")
        }
    }
}
