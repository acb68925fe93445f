import FoundationEssentials
import Glibc
import Core
import Config
import PluginProtocol
import Basics
import Synchronization

/// The builders of a config (`builders:`), each loaded on first use like a backend (a library may be
/// both: it is then loaded once per role, each instance with its own config).
public final class BuilderSlots: Sendable {
    let loaded = Mutex<[String: Backend]>([:])
    /// Where builders' log lines go while a build runs.
    public let router = BuildLogRouter()
    init() {}
}

extension BackendRegistry {
    /// Names of the configured builders, sorted.
    public var builderNames: [String] { config.builders.keys.sorted() }

    /// Where builders' log lines go while a build runs (see `BuildLogRouter`).
    public var buildLogs: BuildLogRouter { builderSlots.router }

    /// The builder named `name`, loading its plugin if needed. Its log lines pass through
    /// `buildLogs` before reaching the host's log.
    public func builder(named name: String) throws(SandboxerError) -> Backend {
        if let b = builderSlots.loaded.withLock({ $0[name] }) { return b }
        guard let entry = config.builders[name] else {
            throw SandboxerError(.notFound, "No builder named '\(name)' is configured in \(config.source).")
        }
        let base = context
        let router = builderSlots.router
        let routed = PluginHostContext(now: base.now, secret: base.secret,
                                       logLine: { line in router.deliver(line, fallback: base.log) })
        let builder: Backend
        do {
            let plugin = try PluginLoader.load(path: entry.plugin, context: routed, backend: name)
            builder = try plugin.makeBackend(name: name, config: builderConfig(entry), callTimeout: timeouts.other,
                                             deadlines: BackendDeadlines(entry),
                                             maxResponseBytes: entry.maxResponseBytes ?? PluginLimits.defaultResponseBytes)
        } catch {
            throw SandboxerError(.plugin, error.message)
        }
        guard builder.has(Capability.build) else {
            throw SandboxerError(.plugin, "The plugin \(entry.plugin) of builder '\(name)' does not declare \(Capability.build) in describe, so it cannot build images.")
        }
        return builderSlots.loaded.withLock { map in
            if let existing = map[name] { return existing }
            map[name] = builder
            return builder
        }
    }

    /// The builder's config as given to its plugin: `data_dir` defaults to `<data_dir>/builders/<name>`.
    func builderConfig(_ entry: BackendConfig) -> JSONValue {
        var object = entry.config.objectValue ?? [:]
        if object["data_dir"] == nil {
            let dir = (config.dataDir).appendingPathComponent("builders/\(entry.name)")
            // Made here (its parent too), so a builder may expect its data_dir to exist.
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                     attributes: [.posixPermissions: 0o700])
            object["data_dir"] = .string(dir)
        }
        return .object(object)
    }
}
