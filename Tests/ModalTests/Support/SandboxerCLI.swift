import Foundation
import Testing

/// The built `sandboxer` binary with a private home and a config whose backend `modal` is the
/// plugin pointed at a stand-in; the token reaches the plugin through the host's secret lookup
/// (`SANDBOXER_SECRET_<NAME>`).
struct SandboxerCLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        func object() throws -> [String: Any] {
            try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any], "stdout: \(stdout) stderr: \(stderr)")
        }
        func array() throws -> [[String: Any]] {
            try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [[String: Any]], "stdout: \(stdout) stderr: \(stderr)")
        }
    }

    static let hostId = "host-modal-e2e"
    let home: String
    var environment: [String: String]

    static var binary: String? {
        ModalHarness.productsDir.map { $0 + "/sandboxer" }.flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
    }

    init(standIn: StandIn, profiles: String, secret: String = StandIn.tokenSecret) throws {
        home = try TempDir.make("sandboxer-modal-e2e")
        let library = try ModalHarness.libraryCopy.get()
        let config = """
            data_dir: \(home)/data
            host_id: \(Self.hostId)
            backends:
              modal:
                plugin: \(library)
                config:
                  server_url: \(standIn.apiURL)
                  token_id_secret: modal-token-id
                  token_secret_secret: modal-token-secret
                  app: sandboxer
                  environment: null
                  image: debian:bookworm-slim
                  call_timeout_seconds: 10
            profiles:
            \(profiles)
            """
        try config.write(toFile: home + "/sandboxer.yaml", atomically: true, encoding: .utf8)
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SANDBOXER_") }
        env["SANDBOXER_CONFIG"] = home + "/sandboxer.yaml"
        env["SANDBOXER_HOME"] = home + "/data"
        env["SANDBOXER_SECRET_MODAL_TOKEN_ID"] = StandIn.tokenID
        env["SANDBOXER_SECRET_MODAL_TOKEN_SECRET"] = secret
        environment = env
    }

    /// Starts `sandboxer args…`.
    func start(_ args: [String], extraEnv: [String: String] = [:], stdin: Data? = nil) throws -> (Process, Pipe, Pipe) {
        let binary = try #require(Self.binary, "the sandboxer binary is not built: run `swift build --build-tests`")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = args
        process.environment = environment.merging(extraEnv) { _, new in new }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        return (process, out, err)
    }

    /// Runs `sandboxer args…` to completion.
    @discardableResult
    func run(_ args: [String], extraEnv: [String: String] = [:], stdin: Data? = nil) throws -> Result {
        let (process, out, err) = try start(args, extraEnv: extraEnv, stdin: stdin)
        // Read both pipes to EOF before waiting (a full pipe would block the child).
        nonisolated(unsafe) var errData = Data()
        // nonisolated(unsafe): written by the reader thread only, read after `group.wait()`.
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }
}

/// Modal's official client (modal==1.6.4 from the stand-in's venv) run against the stand-in.
enum OfficialClient {
    /// Creates a sandbox with the official client in app `app`, tagged with `tags`; returns its id.
    static func createSandbox(standIn: StandIn, app: String, tags: [String: String]) throws -> String {
        let script = """
            import json, sys, modal
            app = modal.App.lookup(sys.argv[1], create_if_missing=True)
            sb = modal.Sandbox.create("sleep", "infinity", app=app, image=modal.Image.from_registry("debian:bookworm-slim"), timeout=600)
            tags = json.loads(sys.argv[2])
            if tags:
                sb.set_tags(tags)
            print(sb.object_id)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: StandIn.python)
        let tagsJSON = String(decoding: try JSONSerialization.data(withJSONObject: tags), as: UTF8.self)
        process.arguments = ["-c", script, app, tagsJSON]
        let config = standIn.dir + "/empty-modal.toml"
        _ = FileManager.default.createFile(atPath: config, contents: Data())
        process.environment = ["MODAL_SERVER_URL": standIn.apiURL, "MODAL_TOKEN_ID": StandIn.tokenID,
                               "MODAL_TOKEN_SECRET": StandIn.tokenSecret, "MODAL_CONFIG_PATH": config,
                               "PATH": "/usr/bin:/bin", "HOME": standIn.dir]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "the official client failed")
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
