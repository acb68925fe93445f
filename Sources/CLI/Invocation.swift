import FoundationEssentials
import Glibc
import API
import Lifecycle
import Webhooks
import Store
import Config
import Core
import Backends
import HTTPServer
import Basics
import PluginProtocol

/// One CLI command being run: its parsed words, the loaded config and the service.
struct Invocation {
    let parsed: ParsedCommand
    let environment: [String: String]
    let console: CLI.Console
    let config: Config
    let json: Bool

    /// Loads the config file unless `loadConfig` is false (then `config` is an empty placeholder).
    init(parsed: ParsedCommand, environment: [String: String], console: CLI.Console, loadConfig: Bool = true) throws(SandboxerError) {
        self.parsed = parsed
        self.environment = environment
        self.console = console
        self.json = parsed.has("json")
        guard loadConfig else {
            config = Config(dataDir: "", backends: [:], profiles: [:], source: "(not loaded)")
            return
        }
        let exeDir = CommandLine.arguments.first.flatMap { Self.resolveExecutable($0) }?.deletingLastPathComponent
            ?? FileManager.default.currentDirectoryPath
        do {
            config = try ConfigLoader.load(explicitPath: parsed.value("config"), environment: environment,
                                           executableDirectory: environment["SANDBOXER_PLUGIN_DIR"] ?? exeDir)
        } catch {
            throw SandboxerError(.config, error.description)
        }
    }

    /// The absolute path of the running executable.
    static func resolveExecutable(_ argv0: String) -> String? {
        if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return link }
        return argv0.hasPrefix("/") ? argv0 : nil
    }

    /// The clock: real time, shifted by `SANDBOXER_CLOCK_OFFSET` (a duration): a documented debugging aid
    /// for one-shot commands ("what would expire in 2h?"); `serve` refuses to start with it set.
    var clock: any HostClock {
        guard let text = environment["SANDBOXER_CLOCK_OFFSET"], let d = try? TTLDuration.parse(text) else { return SystemClock() }
        return SystemClock(offset: Double(d.seconds))
    }

    func openService() throws(SandboxerError) -> SandboxService {
        // Plugins' warnings and errors reach the operator; debug and info with --verbose or SANDBOXER_LOG.
        let threshold = PluginLogLevel.threshold(verbose: parsed.has("verbose"), environment: environment)
        let console = self.console
        let service = try SandboxService.open(config: config, clock: clock, environment: environment,
                                              preload: backendToPreload.map { [$0] } ?? []) { line in
            if threshold.shows(line.level) { console.err("sandboxer: \(line.rendered)\n") }
        }
        // Work a crashed command left behind is finished before anything else. One probe says whether
        // there is any (almost never): a command does not prepare and run three queries for nothing.
        guard try service.hasInterruptedWork() else { return service }
        for s in try service.reconcileInterrupted() where !json {
            console.err("sandboxer: reconciled interrupted work on \(s.id): now \(s.state.rawValue).\n")
        }
        for s in try service.reconcileInterruptedSnapshots() where !json {
            console.err("sandboxer: reconciled interrupted work on snapshot \(s.id): now \(s.state.rawValue).\n")
        }
        for i in try service.reconcileInterruptedBuilds() where !json {
            console.err("sandboxer: reconciled an interrupted build of image \(i.id) (profile \(i.profile)): now \(i.state.rawValue).\n")
        }
        return service
    }

    /// The backend this command will call, when that is certain before the store is read: its plugin
    /// then loads while the store opens (`SandboxService.open(preload:)`). `create` uses its profile's
    /// backend; the commands that act on a sandbox through its backend know it only when one backend
    /// is enabled (otherwise it is in the sandbox's row). (Session 9 measured no gain for create: the
    /// preload thread then started up to a scheduler tick late; it starts on the other CPU now,
    /// docs/performance.md "Threads that start late".)
    var backendToPreload: String? {
        switch parsed.spec.name {
        case "create" where parsed.value("from-snapshot") == nil:
            return config.profiles[parsed.value("profile") ?? "default"]?.backend
        case "create", "exec", "destroy", "recreate", "snapshot", "extend-ttl", "port-forward", "reach":
            return config.backends.count == 1 ? config.backends.keys.first : nil
        default:
            return nil
        }
    }

    /// Parses `KEY=VALUE` words.
    func keyValues(_ name: String) throws(SandboxerError) -> [String: String] {
        var out: [String: String] = [:]
        for word in parsed.all(name) {
            guard let eq = word.firstIndex(of: "="), eq != word.startIndex else {
                throw ParsedCommand.usage(parsed.spec, "The option '--\(name)' takes KEY=VALUE, got '\(word)'.")
            }
            out[String(word[..<eq])] = String(word[word.index(after: eq)...])
        }
        return out
    }

    func emit(_ value: JSONValue) { console.print(value.rendered()) }
}
