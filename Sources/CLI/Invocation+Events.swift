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

extension Invocation {
    /// Who a CLI command acts as, for events' `by`: `cli:` and the name of the process's real user
    /// (from the user database, not `$USER`, which any caller can set), else `cli:uid:N`.
    static func cliActor() -> String {
        let uid = getuid()
        if let entry = getpwuid(uid), let name = entry.pointee.pw_name { return "cli:" + String(cString: name) }
        return "cli:uid:\(uid)"
    }

    /// How often `events --follow` asks the store for new events (a `seq > last` index lookup).
    static let followInterval = 0.2

    /// `sandboxer events --follow`: prints the events after `since`, then every event appended later
    /// (by any process sharing the store), one line each, until SIGINT/SIGTERM or until standard
    /// output is closed; both end with exit 0.
    func followEvents(sandboxId: String?, since: Int64?) throws(SandboxerError) -> Int32 {
        // Signals go to one sigwait thread: install before the service starts any thread of its own.
        let stop = StopSignal()
        ShutdownSignals.install { _ in stop.trigger() }
        // A reader that goes away must end us with exit 0: see EPIPE from write(2), not die of SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let service = try openService()
        let output = LineOutput(fd: STDOUT_FILENO)
        let batchSize = 500
        var cursor = since
        repeat {
            while true {
                let batch = try service.events(sandboxId: sandboxId, since: cursor, limit: batchSize)
                for event in batch {
                    let line = json ? event.jsonValue.rendered(pretty: false)
                        : "\(event.seq) \(RFC3339.format(event.at)) \(event.sandboxId) \(event.type) \(event.data.jsonText)\n"
                    guard output.write(line) else { return 0 }
                }
                cursor = batch.last?.seq ?? cursor ?? 0
                if batch.count < batchSize { break }
            }
            // Between events nothing is written, so look for a vanished reader too.
            if output.readerGone { return 0 }
        } while !stop.wait(seconds: Self.followInterval)
        return 0
    }
}

/// Unbuffered lines to a file descriptor, reporting a reader that went away instead of crashing
/// (FileHandle's `write` traps on EPIPE).
struct LineOutput {
    let fd: Int32

    /// Writes all of `text`; false when the descriptor no longer takes output (EPIPE, closed).
    func write(_ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN {  // a non-blocking descriptor: wait until it takes more
                    var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    _ = poll(&entry, 1, -1)
                    continue
                }
                return false
            }
            bytes = bytes.dropFirst(n)
        }
        return true
    }

    /// True when the descriptor is a pipe or socket whose reading end is closed (poll reports an
    /// error or hang-up on it); false for terminals and files.
    var readerGone: Bool {
        var entry = pollfd(fd: fd, events: 0, revents: 0)
        guard poll(&entry, 1, 0) == 1 else { return false }
        return entry.revents & Int16(POLLERR | POLLHUP | POLLNVAL) != 0
    }
}
