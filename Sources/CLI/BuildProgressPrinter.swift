import FoundationEssentials
import Lifecycle
import Config
import Core
import Basics
import PluginProtocol
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Shows a build's progress on standard error: on a terminal one line rewritten in place, else one
/// line per step (so logs and CI output keep every step).
final class BuildProgressPrinter: Sendable {
    let console: CLI.Console
    let label: String
    let terminal: Bool
    /// Whether a status line is on the terminal (so `finish` has one to end).
    private let shown = Atomic<Bool>(false)

    init(console: CLI.Console, label: String, environment: [String: String]) {
        self.console = console
        self.label = label
        self.terminal = isatty(2) == 1 && environment["TERM"] != "dumb"
    }

    /// The callback a build calls with each line.
    var callback: BuildProgress {
        let console = console, label = label, terminal = terminal
        return { [self] line in
            let text = line.replacing("\n", with: " ")
            if terminal {
                // \r and erase-line: the one status line is rewritten; cut so it never wraps.
                shown.store(true, ordering: .relaxed)
                console.err("\r\u{1B}[K\(label): \(text.prefix(100))")
            } else {
                console.err("sandboxer: \(label): \(text)\n")
            }
        }
    }

    /// Ends the status line on a terminal (so the next output starts on a fresh line).
    func finish() {
        if terminal && shown.load(ordering: .relaxed) { console.err("\r\u{1B}[K") }
    }
}
