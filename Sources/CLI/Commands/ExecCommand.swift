import FoundationEssentials
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
import Glibc

/// `sandboxer exec`: run a command in a sandbox; exits with the command's exit code.
struct ExecCommand: Command {
    static let spec = CommandSpec(name: "exec", summary: "Run a command in a sandbox; exits with the command's exit code.", arguments: ["ID"],
        takesCommand: true,
        options: [.init(name: "timeout", value: "DURATION", help: "Kill the command after this long."),
        .init(name: "env", value: "KEY=VALUE", repeatable: true, help: "Set an environment variable (repeatable)."),
        .init(name: "stdin", help: "Pass this process's standard input to the command (streamed: the default when it is a pipe or a file).")],
        discussion: """
        Output is printed as it arrives when the backend streams exec (sandboxer.exec-stream/1): the command's \
        stdout to stdout and its stderr to stderr, byte for byte. Standard input is forwarded as it comes when it \
        is a pipe or a file, or with --stdin (without streaming: only with --stdin, read to its end first). Ctrl-C kills the remote command. The exit code is the command's \
        (128 + the signal's number when a signal ended it). With --json, or on a backend without streaming, the \
        output is collected first (capped per stream: exec.max_output_bytes in docs/configuration.md); with --json one object holds both.
        """)

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        var timeout: Int64? = nil
        if let t = parsed.value("timeout") {
            do { timeout = try TTLDuration.parse(t).seconds } catch { throw SandboxerError(.usage, error.message) }
        }
        let forwardStdin = parsed.has("stdin") || Self.stdinIsData()
        let control = ExecStreamControl()
        if !json {
            // Before the plugin's threads start, so Ctrl-C reaches the waiting thread, not the default action.
            // Outside a streamed command (starting, or whole-buffer exec) Ctrl-C ends the CLI as usual.
            ShutdownSignals.install { signal in
                if control.isRunning { control.signal(SIGKILL) } else { exit(128 + signal) }
            }
        }
        let service = try openService()
        let id = parsed.arguments[0]
        let env = try keyValues("env")
        if !json, try service.supportsStreamedExec(id) {
            let console = self.console
            var input = ExecStreamInput.none
            if forwardStdin {
                if let chunk = console.readChunk { input = .reader(chunk) } else { input = .bytes(console.readInput()) }
            }
            let sink = ExecStreamSink(output: { stream, data in
                if stream == .stdout { console.out(data) } else { console.errBytes(data) }
                return true
            })
            let outcome = try service.execStream(id, argv: parsed.command, env: env, timeoutSeconds: timeout,
                                                 stdin: input, sink: sink, control: control)
            if outcome.timedOut { console.err("sandboxer: the command timed out and was killed.\n") }
            return outcome.exitCode
        }
        // Collected whole: only with --stdin (an inherited pipe that never ends must not hang the exec).
        let stdin = parsed.has("stdin") ? console.readInput() : nil
        let result = try service.exec(id, argv: parsed.command, stdin: stdin, env: env, timeoutSeconds: timeout)
        if json {
            emit(.object(["exit_code": .number(Double(result.exitCode)), "timed_out": .bool(result.timedOut),
                          "stdout": .string(String(decoding: result.stdout, as: UTF8.self)),
                          "stderr": .string(String(decoding: result.stderr, as: UTF8.self)),
                          "stdout_b64": .string(result.stdoutB64), "stderr_b64": .string(result.stderrB64),
                          "stdout_truncated": .bool(result.stdoutTruncated ?? false),
                          "stderr_truncated": .bool(result.stderrTruncated ?? false)]))
        } else {
            console.out(result.stdout)
            console.errBytes(result.stderr)
            if result.timedOut { console.err("sandboxer: the command timed out and was killed.\n") }
            if result.stdoutTruncated == true || result.stderrTruncated == true {
                console.err("sandboxer: output beyond exec.max_output_bytes per stream was dropped.\n")
            }
        }
        return result.exitCode
    }

    /// Whether standard input is a pipe or a regular file (data to forward), not a terminal or /dev/null.
    static func stdinIsData() -> Bool {
        var st = stat()
        guard fstat(0, &st) == 0 else { return false }
        let kind = st.st_mode & S_IFMT
        return kind == S_IFIFO || kind == S_IFREG
    }
}
