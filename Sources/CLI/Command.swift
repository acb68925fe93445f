import FoundationEssentials
import Glibc
import Config
import Core
import Lifecycle
import PluginProtocol

/// One CLI command: a type that holds its spec (name, options, help) and its handler, so a command
/// listed in `CLI.commands` cannot lack a handler (it would not compile).
protocol Command {
    /// Name, options, arguments and help text.
    static var spec: CommandSpec { get }
    /// Whether the command needs the config file loaded (false for `version` and `token-hash`).
    static var loadsConfig: Bool { get }
    /// The parsed command line, the environment, the console and (when loaded) the config.
    var invocation: Invocation { get }
    init(invocation: Invocation)
    /// Runs the command and returns its exit code; a thrown error is printed as one line.
    func run() throws(SandboxerError) -> Int32
}

extension Command {
    static var loadsConfig: Bool { true }

    // Shorthands, so a handler reads as the command it is.
    var parsed: ParsedCommand { invocation.parsed }
    var console: CLI.Console { invocation.console }
    var json: Bool { invocation.json }
    var config: Config { invocation.config }
    var environment: [String: String] { invocation.environment }
    func openService() throws(SandboxerError) -> SandboxService { try invocation.openService() }
    func keyValues(_ name: String) throws(SandboxerError) -> [String: String] { try invocation.keyValues(name) }
    func emit(_ value: JSONValue) { invocation.emit(value) }
}
