import Foundation
import Lifecycle
import Core
import Backends
import Basics
import PluginProtocol
import PluginCheck

// `sandboxer plugin check PATH.so [--config JSON] [--json]`: needs no host config, so it runs
// before one is loaded (like token-hash).
extension CLI {
    /// The largest `--config @FILE` read.
    static let pluginConfigLimit = 1 << 20

    static func pluginCheck(_ parsed: ParsedCommand, environment: [String: String], console: Console) throws(SandboxerError) -> Int32 {
        guard parsed.arguments[0] == "check" else {
            throw ParsedCommand.usage(parsed.spec, "Unknown 'plugin' subcommand '\(parsed.arguments[0])'; the only one is 'check'.")
        }
        // Relative to the working directory, as a shell user means it; the loader wants it absolute.
        var path = parsed.arguments[1]
        if !path.hasPrefix("/") { path = (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path) }
        let config = try pluginCheckConfig(parsed)
        let threshold = PluginLogLevel.threshold(verbose: parsed.has("verbose"), environment: environment)
        let options = PluginCheck.Options(
            path: path, config: config,
            secret: { environment[SecretNames.environmentKey($0)] },
            log: { line in if threshold.shows(line.level) { console.err("sandboxer: \(line.rendered)\n") } })
        let json = parsed.has("json")
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
