import Foundation
import Glibc
import PluginKit
import Testing
@testable import Packer

/// The packer the tests drive, or nil when it is not installed.
let packerBinary: String? = PackerConfig.onPath("packer") ?? (access("/usr/bin/packer", X_OK) == 0 ? "/usr/bin/packer" : nil)

/// Enables a test only where the real packer can run (scripts/install-deps.sh installs it).
let packerAvailable = Testing.ConditionTrait.enabled(if: packerBinary != nil, "needs packer (Debian package packer)")

/// Enables a test only where the example template can build (packer and busybox-static).
let exampleBuildable = Testing.ConditionTrait.enabled(
    if: packerBinary != nil && access("/bin/busybox", X_OK) == 0, "needs packer and /bin/busybox (Debian packages packer, busybox-static)")

/// The repository's root, found from this file.
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url.path
}()

/// The example template of docs/examples/images/busybox-marker.
let exampleTemplate = repositoryRoot + "/docs/examples/images/busybox-marker/template.json"

/// One test's private directory tree, removed by `finish()`.
final class PackerWorld: @unchecked Sendable {
    // @unchecked: the log lines are guarded by `lock`; everything else is immutable.
    let root: String
    let lock = NSLock()
    private var lines: [(PluginLogLevel, String)] = []

    init() {
        var template = Array((NSTemporaryDirectory() + "packer-test.XXXXXX").utf8CString)
        root = mkdtemp(&template).map { String(cString: $0) } ?? NSTemporaryDirectory() + "packer-test-\(getpid())"
    }

    /// A plugin instance over `root/data`, with extra config.
    func plugin(_ extra: [String: JSONValue] = [:]) throws -> PackerPlugin {
        var config: [String: JSONValue] = ["data_dir": .string(root + "/data"), "stop_grace_seconds": .number(5)]
        config.merge(extra) { _, new in new }
        let host = PluginHost.standalone(log: { [self] level, text in lock.withLock { lines.append((level, text)) } })
        return try PackerPlugin(config: .object(config), host: host)
    }

    /// A fresh, empty output dir.
    func outputDir(_ name: String = "out") -> String {
        let dir = root + "/" + name
        mkdir(dir, 0o700)
        return dir
    }

    /// Writes a template file and returns its path.
    func template(_ name: String, _ text: String) -> String {
        let path = root + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    func request(_ template: String, vars: [String: String] = [:], out: String? = nil, id: String = "bld-0123456789abcdef") -> BuildRequest {
        let dir = out ?? outputDir()
        return BuildRequest(buildId: id, template: template, vars: vars, outputDir: dir, cacheKey: String(repeating: "ab", count: 32))
    }

    var logged: [(PluginLogLevel, String)] { lock.withLock { lines } }

    func finish() { try? FileManager.default.removeItem(atPath: root) }
}

/// Expects a PluginError with `code` from `body`; returns it.
@discardableResult
func expectPluginError<T>(_ code: PluginError.Code, sourceLocation: SourceLocation = #_sourceLocation,
                          _ body: () throws -> T) -> PluginError? {
    do {
        _ = try body()
        Issue.record("expected \(code), got success", sourceLocation: sourceLocation)
    } catch let error as PluginError {
        #expect(error.code == code, "\(error.message)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected PluginError \(code), got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
