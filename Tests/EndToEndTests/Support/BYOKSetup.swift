import BYOKTestHosts
import Foundation
import Testing

/// Sets a CLI runner up on BYOK over fixture hosts.
enum BYOKSetup {
    /// The node helper the tests push: the built `sandboxer-node` when there is one, else the Python
    /// stand-in of the protocol (Tests/Fixtures/BYOKHosts/fake-sandboxer-node.py).
    /// The built helper is used once it takes `--label` (docs/backends/byok-node-protocol.md, the change
    /// the byok branch asked for): the plugin sends labels on every create.
    /// `SANDBOXER_TEST_BYOK_NODE_HELPER` names another helper to push (for trying one by hand).
    static let nodeHelper: String = {
        if let chosen = ProcessInfo.processInfo.environment["SANDBOXER_TEST_BYOK_NODE_HELPER"], !chosen.isEmpty { return chosen }
        let built = CLIRunner.productsDirectory + "/sandboxer-node"
        if FileManager.default.isExecutableFile(atPath: built), builtHelperTakesLabels(built) { return built }
        return repoRoot + "/Tests/Fixtures/BYOKHosts/fake-sandboxer-node.py"
    }()

    /// Asks the built helper to parse a create with a label (it fails on the missing image, after parsing).
    static func builtHelperTakesLabels(_ path: String) -> Bool {
        let dir = NSTemporaryDirectory() + "byok-probe-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let answer = (try? SSHHosts.sh([path, "--node-dir", dir, "create", "--id", "probe", "--image", String(repeating: "0", count: 64),
                                        "--ttl-seconds", "1", "--label", "a=b"])) ?? ""
        return !answer.contains("--label")
    }

    static let repoRoot: String = {
        var dir = (#filePath as NSString).deletingLastPathComponent
        while !dir.isEmpty && dir != "/" && !FileManager.default.fileExists(atPath: dir + "/Package.swift") {
            dir = (dir as NSString).deletingLastPathComponent
        }
        return dir
    }()

    static var plugin: String { CLIRunner.productsDirectory + "/libSandboxerBYOK.so" }

    /// Why the BYOK end-to-end tests cannot run here, or nil.
    static var unavailableReason: String? {
        if let reason = SSHHosts.unavailableReason { return reason }
        if !FileManager.default.fileExists(atPath: plugin) { return "libSandboxerBYOK.so is not built (swift build --product SandboxerBYOK)" }
        if !Machine.hasTool("python3") && !FileManager.default.fileExists(atPath: CLIRunner.productsDirectory + "/sandboxer-node") {
            return "needs sandboxer-node or python3 for its stand-in"
        }
        return nil
    }

    /// The backend config block (indented for `backends: byok: config:`).
    static func backend(_ hosts: SSHHosts, capacity: Int = 8, labels: [String: [String: String]] = [:],
                        hostKeys: [String: String] = [:]) -> String {
        """
        backends:
          byok:
            plugin: \(plugin)
            config:
              identity_file: \(hosts.identityFile)
              node_helper: \(nodeHelper)
              server_alive_interval: 1
              server_alive_count_max: 2
              connect_timeout_seconds: 3
              hosts:
        \(hosts.hostsYAML(indent: 8, capacity: capacity, labels: labels, hostKeys: hostKeys))
        """
    }

    /// A runner with `profiles` (YAML under `profiles:`) on BYOK over `hosts`.
    static func runner(_ hosts: SSHHosts, capacity: Int = 8, labels: [String: [String: String]] = [:],
                       hostKeys: [String: String] = [:], profiles: String? = nil) throws -> CLIRunner {
        var cli = try CLIRunner()
        try cli.useConfig("""
            data_dir: @HOME@/data
            \(backend(hosts, capacity: capacity, labels: labels, hostKeys: hostKeys))
            profiles:
            \(profiles ?? "  default:\n    backend: byok\n    ttl: {default: 1h, max: 24h}")
            """)
        return cli
    }

    /// Creates a sandbox; returns its id and the host it landed on.
    static func create(_ cli: CLIRunner, _ args: [String] = []) throws -> (id: String, host: String) {
        let r = try cli.run(["create", "--json"] + args)
        try #require(r.status == 0, "create failed (\(r.status)): \(r.stderr)")
        let o = try r.object()
        let id = try #require(o["id"] as? String)
        let ref = try #require(o["backend_ref"] as? String)
        return (id, String(ref.split(separator: "/").first ?? ""))
    }
}
