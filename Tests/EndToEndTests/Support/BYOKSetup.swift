import BYOKTestHosts
import Foundation
import Testing

/// Sets a CLI runner up on BYOK over fixture hosts.
enum BYOKSetup {
    /// The node helper the tests push: the built `sandboxer-node`.
    /// `SANDBOXER_TEST_BYOK_NODE_HELPER` names another helper to push (for trying one by hand).
    static let nodeHelper: String = {
        if let chosen = ProcessInfo.processInfo.environment["SANDBOXER_TEST_BYOK_NODE_HELPER"], !chosen.isEmpty { return chosen }
        return CLIRunner.productsDirectory + "/sandboxer-node"
    }()

    /// The protocol's Python stand-in, only for a test that needs a hook the real helper cannot
    /// have (the pause inside create that lets a test kill the CLI at that very moment).
    static let standIn = repoRoot + "/Tests/Fixtures/BYOKHosts/fake-sandboxer-node.py"

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
        if !FileManager.default.isExecutableFile(atPath: nodeHelper) {
            return "sandboxer-node is not built (swift build --product sandboxer-node)"
        }
        return nil
    }

    /// The backend config block (indented for `backends: byok: config:`).
    static func backend(_ hosts: SSHHosts, capacity: Int = 8, labels: [String: [String: String]] = [:],
                        hostKeys: [String: String] = [:], helper: String = nodeHelper) -> String {
        """
        backends:
          byok:
            plugin: \(plugin)
            config:
              identity_file: \(hosts.identityFile)
              node_helper: \(helper)
              server_alive_interval: 1
              server_alive_count_max: 2
              connect_timeout_seconds: 3
              hosts:
        \(hosts.hostsYAML(indent: 8, capacity: capacity, labels: labels, hostKeys: hostKeys))
        """
    }

    /// A runner with `profiles` (YAML under `profiles:`) on BYOK over `hosts`.
    static func runner(_ hosts: SSHHosts, capacity: Int = 8, labels: [String: [String: String]] = [:],
                       hostKeys: [String: String] = [:], profiles: String? = nil, helper: String = nodeHelper) throws -> CLIRunner {
        var cli = try CLIRunner()
        try cli.useConfig("""
            data_dir: @HOME@/data
            \(backend(hosts, capacity: capacity, labels: labels, hostKeys: hostKeys, helper: helper))
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
