import Foundation
import Testing

/// Where the built `sandboxer` binary and plugin libraries are, and facts tests check before running.
enum Products {
    /// The directory holding the built products (the test binary sits in it, possibly inside a bundle).
    static let directory: String = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = (exe as NSString).deletingLastPathComponent
        while !dir.isEmpty && dir != "/" {
            if FileManager.default.fileExists(atPath: dir + "/sandboxer") { return dir }
            dir = (dir as NSString).deletingLastPathComponent
        }
        return (exe as NSString).deletingLastPathComponent
    }()

    static var binary: String { directory + "/sandboxer" }
    static var finHub: String { directory + "/libSandboxerFinHub.so" }
    static var testPlugin: String { directory + "/libSandboxerTestPlugin.so" }

    /// Whether `swift build` made everything the end-to-end tests run (the CLI and both plugins).
    static var built: Bool {
        [binary, finHub, testPlugin].allSatisfy { FileManager.default.fileExists(atPath: $0) }
    }
}

/// The outcome of one CLI run.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
    func object() throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], "not a JSON object: \(stdout) \(stderr)")
    }
}

/// Runs the built `sandboxer` with an environment and waits for it.
func runSandboxer(_ args: [String], environment: [String: String], stdin: Data? = nil) throws -> CLIResult {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: Products.binary)
    p.arguments = args
    p.environment = environment
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try? input.fileHandleForWriting.close()
    let errReader = PipeReader(err.fileHandleForReading)
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return CLIResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                     stderr: String(decoding: errReader.wait(), as: UTF8.self))
}

/// Reads a file handle to its end on another thread.
final class PipeReader: @unchecked Sendable {
    // @unchecked: `data` is written once by the reader thread before the semaphore signals.
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)
    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }
    func wait() -> Data { done.wait(); return data }
}
