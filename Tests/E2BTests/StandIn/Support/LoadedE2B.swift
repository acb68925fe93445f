import Foundation
import Glibc
import Backends
import PluginProtocol
import Synchronization

/// libSandboxerE2B.so loaded through the host's own loader (dlopen, ABI checks), with a host
/// context whose secrets and log the tests control.
enum LoadedE2B {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// The directory SwiftPM built into: the first ancestor of the test binary holding the library.
    static let productsDir: String? = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("libSandboxerE2B.so").path) { return dir.path }
            dir.deleteLastPathComponent()
        }
        return nil
    }()

    /// A private copy of the library (dir 0700, file 0755) made once per test process: the
    /// loader refuses group-writable files, whatever umask built `.build`.
    static let libraryCopy: Result<String, Failure> = {
        guard let dir = productsDir else {
            return .failure(Failure(description: "libSandboxerE2B.so was not built; run `swift build --build-tests` (or `swift build --product SandboxerE2B`)."))
        }
        var template = Array("/tmp/e2b-plugin.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { return .failure(Failure(description: "mkdtemp failed.")) }
        let dest = String(cString: made) + "/libSandboxerE2B.so"
        do { try FileManager.default.copyItem(atPath: dir + "/libSandboxerE2B.so", toPath: dest) } catch {
            return .failure(Failure(description: "Cannot copy the plugin: \(error)."))
        }
        chmod(dest, 0o755)
        return .success(dest)
    }()

    /// Everything the plugin logs through the host, for checks that no secret leaks.
    static let logs = Mutex<[String]>([])
    /// Secrets the host hands out, by name.
    static let secrets = Mutex<[String: String]>([:])

    static let context = PluginHostContext(
        now: { Date() },
        secret: { name in secrets.withLock { $0[name] } },
        log: { level, message, metadata in logs.withLock { $0.append("\(level) \(message) \(metadata ?? "")") } })

    static let plugin: Result<LoadedPlugin, Failure> = {
        switch libraryCopy {
        case .failure(let f): return .failure(f)
        case .success(let path):
            do throws(PluginLoadError) { return .success(try PluginLoader.load(path: path, context: context)) } catch {
                return .failure(Failure(description: "Loading \(path) failed: \(error.message)"))
            }
        }
    }()

    /// A backend instance against `standIn` with the key under a fresh secret name (or `key`).
    static func backend(_ standIn: StandIn, key: String? = nil, extra: [String: JSONValue] = [:], callTimeout: Double = 120) throws -> Backend {
        let secretName = "e2b-" + UUID().uuidString.prefix(8).lowercased()
        secrets.withLock { $0[secretName] = key ?? standIn.apiKey }
        var config: [String: JSONValue] = ["api_url": .string(standIn.apiURL), "sandbox_url": .string(standIn.envdURL),
                                           "api_key_secret": .string(secretName), "domain": .string("e2b.test")]
        config.merge(extra) { _, new in new }
        let loaded = try plugin.get()
        do throws(PluginLoadError) {
            return try loaded.makeBackend(name: "e2b", config: .object(config), callTimeout: callTimeout)
        } catch {
            throw Failure(description: error.message)
        }
    }

    static func allLogs() -> String { logs.withLock { $0.joined(separator: "\n") } }
}
