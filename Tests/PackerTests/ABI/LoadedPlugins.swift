import Foundation
import Glibc
import Backends
import PluginProtocol
import Synchronization

/// libSandboxerPacker.so and libSandboxerLocalVM.so loaded through the host's own loader (dlopen,
/// ABI checks), with a host context whose log the tests read.
enum LoadedPlugins {
    struct Failure: Error, CustomStringConvertible { var description: String }

    /// The directory SwiftPM built into: the first ancestor of the test binary holding the library.
    static let productsDir: String? = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("libSandboxerPacker.so").path) { return dir.path }
            dir.deleteLastPathComponent()
        }
        return nil
    }()

    /// A private directory (0700) for copies of the libraries: the loader refuses group-writable files.
    static let privateDir: String? = {
        var template = Array("/tmp/packer-abi.XXXXXX".utf8CString)
        return mkdtemp(&template).map { String(cString: $0) }
    }()

    /// Serializes the copies: tests run in parallel, and a library half-copied while another test
    /// maps it crashes that test (SIGBUS).
    static let copyLock = Mutex<Void>(())

    /// A private copy of a built library (file 0755), made once, whole (copied aside, then renamed).
    static func copy(_ library: String) throws -> String {
        guard let dir = productsDir, let privateDir else {
            throw Failure(description: "\(library) was not built; run `swift build --build-tests`.")
        }
        let dest = privateDir + "/" + library
        try copyLock.withLock { _ in
            if FileManager.default.fileExists(atPath: dest) { return }
            try FileManager.default.copyItem(atPath: dir + "/" + library, toPath: dest + ".part")
            chmod(dest + ".part", 0o755)
            guard rename(dest + ".part", dest) == 0 else { throw Failure(description: "Cannot rename the copy of \(library).") }
        }
        return dest
    }

    /// Everything the plugins log through the host.
    static let logs = Mutex<[String]>([])

    static let context = PluginHostContext(
        now: { Date() }, secret: { _ in nil },
        log: { level, message, metadata in logs.withLock { $0.append("\(level) \(message) \(metadata ?? "")") } })

    static let plugins = Mutex<[String: LoadedPlugin]>([:])

    /// A backend (or builder) on a fresh instance of `library` with `config`.
    static func backend(_ library: String, name: String, config: [String: JSONValue]) throws -> Backend {
        let path = try copy(library)
        let loaded: LoadedPlugin
        if let known = plugins.withLock({ $0[path] }) { loaded = known } else {
            do throws(PluginLoadError) { loaded = try PluginLoader.load(path: path, context: context, backend: name) } catch {
                throw Failure(description: "Loading \(path) failed: \(error.message)")
            }
            plugins.withLock { $0[path] = loaded }
        }
        do throws(PluginLoadError) {
            return try loaded.makeBackend(name: name, config: .object(config), callTimeout: 120)
        } catch {
            throw Failure(description: error.message)
        }
    }

    static func allLogs() -> String { logs.withLock { $0.joined(separator: "\n") } }
}
