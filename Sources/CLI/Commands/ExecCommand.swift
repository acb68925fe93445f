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

/// `sandboxer exec`: run a command in a sandbox; exits with the command's exit code.
struct ExecCommand: Command {
    static let spec = CommandSpec(name: "exec", summary: "Run a command in a sandbox; exits with the command's exit code.", arguments: ["ID"],
        takesCommand: true,
        options: [.init(name: "timeout", value: "DURATION", help: "Kill the command after this long."),
        .init(name: "env", value: "KEY=VALUE", repeatable: true, help: "Set an environment variable (repeatable)."),
        .init(name: "stdin", help: "Pass this process's standard input to the command.")],
        discussion: "The command's stdout and stderr are printed as they came; with --json, one object holds both.")

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        var timeout: Int64? = nil
        if let t = parsed.value("timeout") {
            do { timeout = try TTLDuration.parse(t).seconds } catch { throw SandboxerError(.usage, error.message) }
        }
        let stdin = parsed.has("stdin") ? console.readInput() : nil
        let service = try openService()
        let result = try service.exec(parsed.arguments[0], argv: parsed.command, stdin: stdin, env: try keyValues("env"),
                                      timeoutSeconds: timeout)
        if json {
            emit(.object(["exit_code": .number(Double(result.exitCode)), "timed_out": .bool(result.timedOut),
                          "stdout": .string(String(decoding: result.stdout, as: UTF8.self)),
                          "stderr": .string(String(decoding: result.stderr, as: UTF8.self))]))
        } else {
            console.out(result.stdout)
            console.err(String(decoding: result.stderr, as: UTF8.self))
            if result.timedOut { console.err("sandboxer: the command timed out and was killed.\n") }
        }
        return result.exitCode
    }
}
