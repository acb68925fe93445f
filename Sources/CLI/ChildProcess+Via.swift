import Basics
import Core
import Glibc

/// `port-forward`'s `via` commands, started through Basics' `ChildProcess` (looked up in PATH).
extension ChildProcess {
    /// How a via command's standard input and output are wired.
    enum ViaStdio {
        /// stdin and stdout are these descriptors (copied onto 0 and 1 in the child).
        case descriptors(stdin: Int32, stdout: Int32)
        /// stdin is /dev/null and stdout goes to our stderr: its chatter never mixes with our output.
        case quiet
    }

    /// Starts `argv`. The caller ends it with `terminate()` (TERM, 3 s, KILL) or waits for it.
    static func spawnVia(_ argv: [String], stdio: ViaStdio) throws(SandboxerError) -> ChildProcess {
        guard let program = argv.first, !program.isEmpty else {
            throw SandboxerError(.backend, "The endpoint's via command is empty.")
        }
        var options = Options(argv)
        options.searchPath = true
        switch stdio {
        case .descriptors(let input, let output):
            options.stdin = .descriptor(input)
            options.stdout = .descriptor(output)
        case .quiet:
            options.stdin = .null
            options.stdout = .descriptor(2)
        }
        switch spawn(options) {
        case .success(let child): return child
        case .failure(let error):
            throw SandboxerError(.backend, "Cannot start the endpoint's via command \(program.quotedForMessage): \(String(cString: strerror(error.errorNumber))).")
        }
    }
}
