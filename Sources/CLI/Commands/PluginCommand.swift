import FoundationEssentials
import Glibc
import Lifecycle
import Core
import Backends
import Basics
import PluginProtocol
import PluginCheck

/// `sandboxer plugin check PATH.so [--config JSON] [--json]`: the plugin ABI conformance suite. It needs
/// no host config (like token-hash): `--config` here is the plugin's backend config.
struct PluginCommand: Command {
    static let spec = CommandSpec(name: "plugin", summary: "Check a plugin library against the plugin ABI (plugin check PATH.so).",
        arguments: ["check", "PATH.so"],
        options: [.init(name: "config", value: "JSON", help: "The backend config handed to the plugin: JSON text, or @FILE (default: {})."),
                  .init(name: "build-template", value: "PATH", help: "A builder's test template that builds quickly (rule build.artifact)."),
                  .init(name: "build-cancel-template", value: "PATH", help: "A builder's template that runs until cancelled (rule build.cancel).")],
        discussion: "Loads the library as the host does and runs every rule of the ABI a program can check, one line\nper rule: pass|fail|skip, the rule, a detail (docs/plugins.md, \"Checking a plugin\"). It makes and\ndestroys real sandboxes when the plugin declares sandboxer.lifecycle/1, and runs builds when it\ndeclares sandboxer.build/1 (--build-template, --build-cancel-template). Exit 0 when no rule fails,\n1 when one does, 2 on usage.")
    static var loadsConfig: Bool { false }

    let invocation: Invocation

    /// The largest `--config @FILE` read.
    static let pluginConfigLimit = 1 << 20

    func run() throws(SandboxerError) -> Int32 {
        guard parsed.arguments[0] == "check" else {
            throw ParsedCommand.usage(parsed.spec, "Unknown 'plugin' subcommand '\(parsed.arguments[0])'; the only one is 'check'.")
        }
        // Relative to the working directory, as a shell user means it; the loader wants it absolute.
        var path = parsed.arguments[1]
        if !path.hasPrefix("/") { path = (FileManager.default.currentDirectoryPath).appendingPathComponent(path) }
        let config = try Self.pluginCheckConfig(parsed)
        let threshold = PluginLogLevel.threshold(verbose: parsed.has("verbose"), environment: environment)
        var options = PluginCheck.Options(
            path: path, config: config,
            secret: { environment[SecretNames.environmentKey($0)] },
            log: { line in if threshold.shows(line.level) { console.err("sandboxer: \(line.rendered)\n") } })
        // Templates are handed to the plugin, which wants absolute paths.
        func absolute(_ p: String) -> String {
            p.hasPrefix("/") ? p : (FileManager.default.currentDirectoryPath).appendingPathComponent(p)
        }
        options.buildTemplate = parsed.value("build-template").map(absolute)
        options.buildCancelTemplate = parsed.value("build-cancel-template").map(absolute)
        let report = PluginCheck.run(options) { result in
            if !json { console.print(result.line + "\n") }
        }
        if json { console.print(report.jsonValue.rendered()) } else { console.err(report.summary + "\n") }
        return report.passed ? 0 : 1
    }

    /// `--config`: a JSON object, given inline or as `@FILE`; anything else is a usage error.
    static func pluginCheckConfig(_ parsed: ParsedCommand) throws(SandboxerError) -> JSONValue {
        guard let given = parsed.value("config") else { return .object([:]) }
        var bytes = Array(given.utf8)
        if given.hasPrefix("@") {
            let file = String(given.dropFirst())
            switch BoundedFile.read(file, limit: pluginConfigLimit, limitText: "1 MiB") {
            case .success(let read): bytes = read
            case .failure(let failure):
                throw ParsedCommand.usage(parsed.spec, "Cannot read the plugin config \(file): \(failure.reason).")
            }
        }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)), case .object = value else {
            throw ParsedCommand.usage(parsed.spec, "The plugin config must be a JSON object, for example --config '{\"data_dir\": \"/tmp/x\"}'.")
        }
        return value
    }
}
