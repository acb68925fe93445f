import Foundation
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
    /// Where a command writes. Tests may capture; the executable writes to the process's streams.
    public struct Console: Sendable {
        public var out: @Sendable (Data) -> Void
        public var err: @Sendable (String) -> Void
        public static let standard = Console(
            out: { FileHandle.standardOutput.write($0) },
            err: { FileHandle.standardError.write(Data($0.utf8)) })
        func print(_ text: String) { out(Data(text.utf8)) }
    }

    /// Runs `arguments` (without the program name) and returns the exit code: 0 ok, 1 failure, 2 usage,
    /// 3 backend refused or failed, 4 backend unavailable (`SandboxerError.exitCode`).
    public static func run(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment,
                           console: Console = .standard) -> Int32 {
        do {
            return try dispatch(arguments, environment: environment, console: console)
        } catch {
            console.err("sandboxer: \(error.message)\n")
            return error.exitCode
        }
    }

    static func dispatch(_ arguments: [String], environment: [String: String], console: Console) throws(SandboxerError) -> Int32 {
        guard let first = arguments.first else { console.err(overview); return 2 }
        if first == "--help" || first == "-h" || first == "help" {
            if arguments.count > 1, let spec = commands.first(where: { $0.name == arguments[1] }) { console.print(spec.help) }
            else { console.print(overview) }
            return 0
        }
        if first == "--version" { console.print("sandboxer \(version)\n"); return 0 }
        guard let spec = commands.first(where: { $0.name == first }) else {
            throw SandboxerError(.usage, "Unknown command '\(first)'. See 'sandboxer --help'.")
        }
        let parsed = try ParsedCommand.parse(Array(arguments.dropFirst()), spec: spec)
        if parsed.has("help") { console.print(spec.help); return 0 }
        if spec.name == "token-hash" {
            let token = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else { throw SandboxerError(.usage, "token-hash reads a token on standard input; it got none.") }
            console.print(SHA256.hex(SHA256.hash(Array(token.utf8))) + "\n")
            return 0
        }
        if spec.name == "version" {
            console.print(parsed.has("json") ? JSONValue.object(["version": .string(version)]).rendered() : "sandboxer \(version)\n")
            return 0
        }
        if spec.name == "plugin" { return try pluginCheck(parsed, environment: environment, console: console) }
        let context = try Invocation(parsed: parsed, environment: environment, console: console)
        return try context.run()
    }
}
