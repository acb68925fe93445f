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

/// The command-line front: parses, runs one command through `SandboxService`, prints, returns the exit code.
public enum CLI {
    /// Where a command writes and what it reads. Tests may capture output and supply input; the
    /// executable uses the process's streams.
    public struct Console: Sendable {
        public var out: @Sendable (Data) -> Void
        public var err: @Sendable (String) -> Void
        /// Standard input, read to its end (`exec --stdin`, `token-hash`).
        public var readInput: @Sendable () -> Data
        /// Raw bytes for standard error (a streamed command's stderr, byte-exact).
        public var errBytes: @Sendable (Data) -> Void
        /// The next chunk of standard input as it arrives; nil at its end (streamed `exec`).
        public var readChunk: (@Sendable () -> Data?)?
        public init(out: @escaping @Sendable (Data) -> Void, err: @escaping @Sendable (String) -> Void,
                    readInput: @escaping @Sendable () -> Data = { Data() }, errBytes: (@Sendable (Data) -> Void)? = nil,
                    readChunk: (@Sendable () -> Data?)? = nil) {
            self.out = out; self.err = err; self.readInput = readInput
            self.errBytes = errBytes ?? { err(String(decoding: $0, as: UTF8.self)) }
            self.readChunk = readChunk
        }
        public static let standard = Console(
            out: { FileIO.writeAll(1, $0) },
            err: { FileIO.writeAll(2, $0) },
            readInput: { FileIO.readToEnd(0) },
            errBytes: { FileIO.writeAll(2, $0) },
            readChunk: { let d = FileIO.readChunk(0); return d.isEmpty ? nil : d })
        func print(_ text: String) { out(Data(text.utf8)) }
    }

    /// Runs `arguments` (without the program name) and returns the exit code: 0 ok, 1 failure, 2 usage,
    /// 3 backend refused or failed, 4 backend unavailable (`SandboxerError.exitCode`).
    public static func run(_ arguments: [String], environment: [String: String] = ProcessEnvironment.current(),
                           console: Console = .standard) -> Int32 {
        do {
            return try dispatch(arguments, environment: environment, console: console)
        } catch {
            console.err("sandboxer: \(error.message)\n")
            return error.exitCode
        }
    }

    /// The most a command waits, at its end, for plugin work it no longer waits for.
    static let detachedWorkGraceSeconds = 2.0

    /// Called by `main` after `run`, before the process exits: a plugin call the command gave up on
    /// (past its deadline, told it is cancelled), or a plugin loaded ahead of use that the command did
    /// not need, gets a short grace to finish, so the plugin is not cut off by the exit. Not in `run`:
    /// tests call that in one process, where another test's deliberately hung plugin would make every
    /// later command wait.
    public static func waitForDetachedPluginWork() {
        DetachedPluginWork.shared.waitUntilNone(seconds: detachedWorkGraceSeconds)
    }

    static func dispatch(_ arguments: [String], environment: [String: String], console: Console) throws(SandboxerError) -> Int32 {
        // Global options may come before the command (`sandboxer --config F create`): move them after it.
        let (leading, rest) = try splitLeadingGlobalOptions(arguments)
        guard let first = rest.first else {
            if leading.isEmpty { console.err(overview); return 2 }
            throw SandboxerError(.usage, "Missing command after \(leading.joined(separator: " ")). See 'sandboxer --help'.")
        }
        if first == "--help" || first == "-h" || first == "help" {
            if rest.count > 1, let command = commands.first(where: { $0.spec.name == rest[1] }) { console.print(command.spec.help) }
            else { console.print(overview) }
            return 0
        }
        if first == "--version" { console.print("sandboxer \(version)\n"); return 0 }
        // The plugin runner the host starts for `isolation: process` backends; not in --help.
        if first == PluginRunner.subcommand, leading.isEmpty { return PluginRunner.main(Array(rest.dropFirst())) }
        if first == PluginIPCBench.subcommand, leading.isEmpty { return PluginIPCBench.main(Array(rest.dropFirst())) }
        guard let command = commands.first(where: { $0.spec.name == first }) else {
            throw SandboxerError(.usage, "Unknown command '\(first)'. See 'sandboxer --help'.")
        }
        let parsed = try ParsedCommand.parse(Array(rest.dropFirst()) + leading, spec: command.spec)
        if parsed.has("help") { console.print(command.spec.help); return 0 }
        let invocation = try Invocation(parsed: parsed, environment: environment, console: console,
                                        loadConfig: command.loadsConfig)
        return try command.init(invocation: invocation).run()
    }

    /// Splits off the global options (`--config FILE`, `--config=FILE`, `--json`, `--verbose`) written
    /// before the command name.
    static func splitLeadingGlobalOptions(_ words: [String]) throws(SandboxerError) -> (leading: [String], rest: [String]) {
        var i = 0
        var leading: [String] = []
        while i < words.count, words[i].hasPrefix("--"), words[i] != "--help", words[i] != "--version" {
            let name = String(words[i].dropFirst(2).prefix { $0 != "=" })
            guard let option = CommandSpec.globalOptions.first(where: { $0.name == name }) else {
                throw SandboxerError(.usage, "Unknown option '\(words[i])' before the command. See 'sandboxer --help'.")
            }
            leading.append(words[i])
            if option.value != nil && !words[i].contains("=") {
                guard i + 1 < words.count else {
                    throw SandboxerError(.usage, "The option '--\(name)' needs a value (\(option.value ?? "VALUE")).")
                }
                leading.append(words[i + 1])
                i += 1
            }
            i += 1
        }
        return (leading, Array(words[i...]))
    }
}
