import Core
import PluginProtocol

/// `sandboxer version`: print the version.
struct VersionCommand: Command {
    static let spec = CommandSpec(name: "version", summary: "Print the version.")
    static var loadsConfig: Bool { false }

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        console.print(json ? JSONValue.object(["version": .string(CLI.version)]).rendered() : "sandboxer \(CLI.version)\n")
        return 0
    }
}
