import Foundation
import Glibc
import Testing
import Backends
import PluginProtocol
import Synchronization

/// The built `libSandboxerModal.so` loaded through the C ABI (as the host loads it), configured
/// against a stand-in; log lines are kept so tests can check what the plugin said.
final class ModalHarness: Sendable {
    /// The directory holding the built products (the test binary's, or an ancestor with the library).
    static let productsDir: String? = {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while dir.path != "/" {
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("libSandboxerModal.so").path) { return dir.path }
            dir.deleteLastPathComponent()
        }
        return nil
    }()

    /// A private copy of the library (dir 0700, file 0755) so the loader's permission rules hold.
    static let libraryCopy: Result<String, StandIn.Failure> = {
        guard let dir = productsDir else {
            return .failure(StandIn.Failure(description: "libSandboxerModal.so is not built: run `swift build --build-tests` first."))
        }
        do {
            let tmp = try TempDir.make("modal-plugin")
            let dest = tmp + "/libSandboxerModal.so"
            try FileManager.default.copyItem(atPath: dir + "/libSandboxerModal.so", toPath: dest)
            chmod(dest, 0o755)
            return .success(dest)
        } catch {
            return .failure(StandIn.Failure(description: "cannot copy libSandboxerModal.so: \(error)"))
        }
    }()

    /// The plugin's log lines (a class, so the log closure can hold it).
    final class Lines: Sendable {
        let value = Mutex<[String]>([])
    }

    let backend: Backend
    private let lines = Lines()

    /// A backend named "modal" on the stand-in; `config` entries override the defaults.
    init(standIn: StandIn, config extra: [String: JSONValue] = [:],
         secrets: [String: String] = ["modal-token-id": StandIn.tokenID, "modal-token-secret": StandIn.tokenSecret]) throws {
        var config: [String: JSONValue] = ["server_url": .string(standIn.apiURL), "app": "sandboxer-tests",
                                           "image": "debian:bookworm-slim", "call_timeout_seconds": 10]
        config.merge(extra) { _, new in new }
        let context = PluginHostContext(
            now: { Date() }, secret: { secrets[$0] },
            log: { [lines] _, message, metadata in lines.value.withLock { $0.append(message + " " + (metadata ?? "")) } })
        let plugin = try PluginLoader.load(path: try Self.libraryCopy.get(), context: context)
        backend = try plugin.makeBackend(name: "modal", config: .object(config), callTimeout: 60)
    }

    /// Everything the plugin logged.
    var logged: [String] { lines.value.withLock { $0 } }

    static func createRequest(_ sandboxId: String = "sbx-" + String(format: "%016llx", UInt64.random(in: 0...UInt64.max)),
                              host: String = "host-test", latest: Int64? = 7_260, idle: Int64? = nil,
                              env: [String: String] = [:], network: String = "bridge") -> CreateRequest {
        CreateRequest(sandboxId: sandboxId, hostId: host, profile: "default", image: nil, resources: ResourceLimits(),
                      network: network, env: env,
                      labels: [OwnershipLabel.host: host, OwnershipLabel.sandbox: sandboxId, OwnershipLabel.profile: "default"],
                      timeoutSeconds: 3_660, latestDeadlineSeconds: latest, idleTimeoutSeconds: idle)
    }
}
