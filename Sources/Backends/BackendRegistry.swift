import FoundationEssentials
import Glibc
import Core
import Config
import PluginProtocol
import Basics
import Synchronization

/// The enabled backends of a config, each loaded on first use (a `list` never needs a dlopen).
public final class BackendRegistry: Sendable {
    /// The host's built-in per-operation deadlines for plugin calls, in seconds. A backend's
    /// `timeouts:` map (`BackendDeadlines`) replaces them for that backend.
    public struct Timeouts: Sendable {
        public var create: Double = 300
        public var destroy: Double = 120
        /// Capturing or restoring a sandbox's state (archives can be large).
        public var snapshot: Double = 600
        public var other: Double = 60
        /// For an exec that names no timeout of its own.
        public var exec: Double = 3600
        public init() {}
    }

    let config: Config
    let context: PluginHostContext
    public let timeouts: Timeouts
    let loaded: Mutex<[String: any SandboxBackend]>
    /// How backends with `isolation: process` run their plugin.
    public let runner: PluginRunnerSettings
    /// Builders loaded so far and the routing of their log lines (BackendRegistry+Builders.swift).
    let builderSlots = BuilderSlots()

    /// `preloaded` backends (tests) are used instead of loading a plugin of the same name.
    public init(config: Config, context: PluginHostContext, timeouts: Timeouts = Timeouts(),
                preloaded: [String: any SandboxBackend] = [:], runner: PluginRunnerSettings = PluginRunnerSettings()) {
        self.config = config
        self.context = context
        self.timeouts = timeouts
        self.loaded = Mutex(preloaded)
        self.runner = runner
    }

    /// Names of the enabled backends, sorted.
    public var names: [String] { config.backends.keys.sorted() }

    /// Loads started by `preload` and not finished yet, by backend name (BackendRegistry+Preload.swift).
    let preloads = Mutex<[String: PreloadGate]>([:])

    /// The backend named `name`, loading its plugin if needed.
    public func backend(named name: String) throws(SandboxerError) -> any SandboxBackend {
        if let b = loaded.withLock({ $0[name] }) { return b }
        // A preload of it under way: its outcome, not a second load (a plugin's instance_create runs once).
        if let gate = preloads.withLock({ $0[name] }) {
            if let failure = gate.wait() { throw failure }
            if let b = loaded.withLock({ $0[name] }) { return b }
        }
        return try load(name)
    }

    /// Loads the plugin of `name` now and keeps it (the first of two concurrent loads wins).
    func load(_ name: String) throws(SandboxerError) -> any SandboxBackend {
        guard let entry = config.backends[name] else {
            throw SandboxerError(.notFound, "No backend named '\(name)' is enabled in \(config.source).")
        }
        let backend: Backend
        do {
            let maxResponse = entry.maxResponseBytes ?? PluginLimits.defaultResponseBytes
            if isolation(of: entry) == .process {
                backend = try Backend.isolated(name: name, path: entry.plugin, config: pluginConfig(entry), callTimeout: timeouts.other,
                                               deadlines: BackendDeadlines(entry), maxResponseBytes: maxResponse,
                                               context: context, runner: runner)
            } else {
                let plugin = try PluginLoader.load(path: entry.plugin, context: context, backend: name)
                backend = try plugin.makeBackend(name: name, config: pluginConfig(entry), callTimeout: timeouts.other,
                                                 deadlines: BackendDeadlines(entry), maxResponseBytes: maxResponse)
            }
        } catch {
            throw SandboxerError(.plugin, error.message)
        }
        let (kept, extra) = loaded.withLock { map -> (any SandboxBackend, Backend?) in
            if let existing = map[name] { return (existing, backend) }
            map[name] = backend
            return (backend, nil)
        }
        extra?.stopRunner()  // another thread loaded it first: the runner of this copy is not needed
        return kept
    }

    /// The backends loaded so far.
    func loadedBackends() -> [any SandboxBackend] {
        loaded.withLock { Array($0.values) }
    }

    /// The backend's config as given to its plugin: `data_dir` defaults to `<data_dir>/backends/<name>`.
    func pluginConfig(_ entry: BackendConfig) -> JSONValue {
        var object = entry.config.objectValue ?? [:]
        if object["data_dir"] == nil {
            object["data_dir"] = .string((config.dataDir).appendingPathComponent("backends/\(entry.name)"))
        }
        return .object(object)
    }
}
