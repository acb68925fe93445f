import FoundationEssentials
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A test hook: lets a test stop this process at a named step of its work and kill it exactly there.
///
/// Compiled in always, inert unless the environment asks for it (then only tests should set it):
/// - `SANDBOXER_TEST_PAUSE=<step>[,<step>…]`: at the first of these steps reached, the process writes
///   `<step>\n` into the FIFO `SANDBOXER_TEST_PAUSE_FIFO` (to stderr when that is unset; the open
///   blocks until the test reads, which is the ready handshake) and then blocks forever: every thread
///   that reaches a listed step stays there, so nothing moves past it until the test kills the process.
/// - `SANDBOXER_TEST_TRACE=1`: every step reached is written to stderr as `sandboxer-test: step <name>`
///   (how a test waits for a whole sweep round of a running `serve` without sleeping).
///
/// The steps are listed in docs/reliability.md. When neither variable is set, `reach` reads one
/// immutable value and returns.
public enum FaultPoint {
    /// What the environment asked for, read once.
    struct Settings: Sendable {
        var pause: Set<String>
        var fifo: String?
        var trace: Bool

        init?(_ env: [String: String]) {
            pause = Set((env["SANDBOXER_TEST_PAUSE"] ?? "").split(separator: ",").map {
                $0.trimmingSpaces()
            }.filter { !$0.isEmpty })
            fifo = env["SANDBOXER_TEST_PAUSE_FIFO"].flatMap { $0.isEmpty ? nil : $0 }
            trace = env["SANDBOXER_TEST_TRACE"] == "1"
            if pause.isEmpty && !trace { return nil }
        }
    }

    static let settings = Settings(ProcessEnvironment.current())
    /// Set by the first thread that pauses: only it writes the handshake.
    private static let announced = Atomic<Bool>(false)

    /// Marks that this process reached `step`; pauses here for good when the test hook names it.
    public static func reach(_ step: String) {
        guard let settings else { return }
        if settings.trace { writeAll(2, "sandboxer-test: step \(step)\n") }
        guard settings.pause.contains(step) else { return }
        if !announced.exchange(true, ordering: .acquiringAndReleasing) {
            announce(step, settings: settings)
        }
        // Blocks until the test kills the process (SIGKILL ends a paused process as any other).
        while true { pause() }
    }

    /// The ready handshake: the step's name into the FIFO (opening it waits for the test's reader).
    private static func announce(_ step: String, settings: Settings) {
        guard let fifo = settings.fifo else {
            writeAll(2, "sandboxer-test: paused at \(step)\n")
            return
        }
        let fd = open(fifo, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            writeAll(2, "sandboxer-test: paused at \(step) (could not open \(fifo): errno \(errno))\n")
            return
        }
        writeAll(fd, step + "\n")
        close(fd)
    }

    private static func writeAll(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            bytes = bytes.dropFirst(n)
        }
    }
}
