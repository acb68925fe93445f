import Foundation
import Glibc
import Testing

/// Fixtures for the ABI version tests: a simulated next-minor header, the C harness host, captured
/// program output, and memory that faults on the first byte past its end.
enum ABIFixtures {
    static let repoRoot = PluginFixtures.repoRoot
    /// The real header.
    static let header = repoRoot + "/Sources/PluginABI/include/sandboxer_plugin.h"
    static let include = repoRoot + "/Sources/PluginABI/include"
    /// The vendorable C helper.
    static let contrib = repoRoot + "/Sources/PluginABI/contrib"
    static let cFixtures = repoRoot + "/Tests/Fixtures/CPlugin"

    /// The field the simulated next minor appends to `sbx_host_api`.
    static let futureHostField = "int64_t (*simulated_future_callback)(void *host_ctx);"
    /// The field the simulated next minor appends to `sbx_plugin`.
    static let futurePluginField = "int32_t (*simulated_future_op)(void *instance);"

    /// A header directory holding the simulated next minor, and that minor.
    struct NextMinor {
        let include: String
        let minor: UInt32
    }

    /// Writes `dir/include/sandboxer_plugin.h`: the real header with one field appended to
    /// `sbx_host_api` and one to `sbx_plugin`, SANDBOXER_ABI_MINOR bumped, and
    /// SBX_SIMULATED_FUTURE_FIELDS defined (the C fixtures use the new fields only under it).
    static func writeNextMinorHeader(into dir: String) throws -> NextMinor {
        let text = try String(contentsOfFile: header, encoding: .utf8)
        var lines = text.components(separatedBy: "\n")
        let prefix = "#define SANDBOXER_ABI_MINOR "
        let found = lines.indices.filter { lines[$0].hasPrefix(prefix) }
        guard found.count == 1, let index = found.first,
              let minor = UInt32(lines[index].dropFirst(prefix.count).trimmingCharacters(in: .whitespaces)) else {
            throw PluginFixtures.Failure(description: "The header does not define SANDBOXER_ABI_MINOR exactly once as a number.")
        }
        lines[index] = prefix + "\(minor + 1)\n#define SBX_SIMULATED_FUTURE_FIELDS 1"
        var next = lines.joined(separator: "\n")
        next = try append(futureHostField, before: "} sbx_host_api;", in: next)
        next = try append(futurePluginField, before: "} sbx_plugin;", in: next)
        let includeDir = dir + "/include"
        try FileManager.default.createDirectory(atPath: includeDir, withIntermediateDirectories: true)
        try Data(next.utf8).write(to: URL(fileURLWithPath: includeDir + "/sandboxer_plugin.h"))
        return NextMinor(include: includeDir, minor: minor + 1)
    }

    /// Inserts `field` as the last member of the struct that `closing` ends.
    static func append(_ field: String, before closing: String, in text: String) throws -> String {
        let parts = text.components(separatedBy: closing)
        guard parts.count == 2 else {
            throw PluginFixtures.Failure(description: "The header does not contain '\(closing)' exactly once.")
        }
        return parts[0] + "    /** Appended by the simulated next minor (ABI tests). */\n    " + field + "\n" + closing + parts[1]
    }

    /// Compiles the C harness host against the header in `include`.
    static func compileHarness(include: String, into dir: String, name: String) throws -> String {
        guard let cc = PluginFixtures.which("cc") else { throw PluginFixtures.Failure(description: "cc is not on PATH.") }
        let out = dir + "/" + name
        try PluginFixtures.run(cc, ["-std=gnu11", "-Wall", "-Wextra", "-I", include, "-I", contrib, "-o", out,
                                    cFixtures + "/abi_harness.c", contrib + "/sbx_helper.c", "-ldl"])
        return out
    }

    /// What a program printed (stdout and stderr together) and how it ended.
    struct Output: CustomStringConvertible {
        let status: Int32
        /// True when a signal killed it (`status` is then the signal number).
        let signalled: Bool
        let text: String

        /// The rest of the first line that starts with `key=`.
        func value(_ key: String) -> String? {
            text.split(separator: "\n").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
        }

        var description: String { "exit \(signalled ? "by signal" : "status") \(status):\n\(text)" }
    }

    /// Runs a program to completion and captures its output; never throws for a non-zero exit.
    static func capture(_ program: String, _ arguments: [String], environment: [String: String]? = nil) throws -> Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        // Read to EOF before waiting: a full pipe would otherwise block the child forever.
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
                      text: String(decoding: data, as: UTF8.self))
    }
}

/// `size` bytes that end exactly where an inaccessible page begins: a read one byte past them
/// faults (the test process dies, which fails the run loudly) instead of reading garbage.
final class GuardedBytes {
    let mapping: UnsafeMutableRawPointer
    let length: Int
    /// The first of the `size` bytes.
    let start: UnsafeMutableRawPointer

    init(size: Int) throws {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard size > 0, size <= page else { throw PluginFixtures.Failure(description: "GuardedBytes holds 1…\(page) bytes.") }
        length = 2 * page
        guard let mapped = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              mapped != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw PluginFixtures.Failure(description: "mmap failed: \(String(cString: strerror(errno)))")
        }
        mapping = mapped
        guard mprotect(mapped + page, page, PROT_NONE) == 0 else {
            munmap(mapped, length)
            throw PluginFixtures.Failure(description: "mprotect failed: \(String(cString: strerror(errno)))")
        }
        start = mapped + page - size
    }

    deinit { munmap(mapping, length) }
}
