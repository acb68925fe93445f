import FoundationEssentials
import Glibc
import Basics
import Core

/// `sandboxer token-hash`: read an API token on stdin and print the SHA-256 to put in server.tokens.
struct TokenHashCommand: Command {
    static let spec = CommandSpec(name: "token-hash", summary: "Read an API token on stdin and print the SHA-256 to put in server.tokens.")
    static var loadsConfig: Bool { false }

    let invocation: Invocation

    func run() throws(SandboxerError) -> Int32 {
        let token = String(decoding: console.readInput(), as: UTF8.self).trimmed()
        guard !token.isEmpty else { throw SandboxerError(.usage, "token-hash reads a token on standard input; it got none.") }
        console.print(SHA256.hex(SHA256.hash(Array(token.utf8))) + "\n")
        return 0
    }
}
