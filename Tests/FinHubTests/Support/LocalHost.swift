import Foundation

/// The local host: the built `sandboxer` CLI with its own data dir and a config whose only backend is
/// fin-hub pointed at `hub`, with the hub's consumer token as the host secret `finhub-token`.
struct LocalHost {
    static let hostId = "local-e2e"
    let home: String
    var environment: [String: String]

    init(home: String, hubURL: String, token: String = HubServer.consumerToken) throws {
        self.home = home
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try """
        data_dir: \(home)/data
        host_id: \(Self.hostId)
        backends:
          hub:
            plugin: \(Products.finHub)
            config:
              url: \(hubURL)
              token_secret: finhub-token
              profile: {default: default, short: short, net: net}
              grace: 5m
              call_timeout_seconds: 20
        profiles:
          default:
            backend: hub
            ttl: {default: 10m, max: 3h}
          short:
            backend: hub
            ttl: {default: 1h, max: 3h}
          net:
            backend: hub
            network: bridge
        """.write(toFile: home + "/local.yaml", atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "SANDBOXER_CLOCK_OFFSET")
        env["SANDBOXER_CONFIG"] = home + "/local.yaml"
        env["SANDBOXER_HOME"] = home + "/data"
        env["SANDBOXER_SECRET_FINHUB_TOKEN"] = token
        environment = env
    }

    /// Runs `sandboxer args…` against this host's config.
    @discardableResult
    func run(_ args: [String], extraEnv: [String: String] = [:]) throws -> CLIResult {
        try runSandboxer(args, environment: environment.merging(extraEnv) { _, new in new })
    }

    /// Creates a sandbox and returns (our id, the hub's id).
    func create(profile: String = "default") throws -> (id: String, hubId: String) {
        let result = try run(["create", "--profile", profile, "--json"])
        guard result.status == 0 else { throw HubFailure("create failed (\(result.status)): \(result.stderr)") }
        let json = try result.object()
        guard let id = json["id"] as? String, let ref = json["backend_ref"] as? String else {
            throw HubFailure("create answered no id/backend_ref: \(result.stdout)")
        }
        return (id, ref)
    }
}
