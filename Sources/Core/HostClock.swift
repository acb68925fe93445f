import FoundationEssentials
import Glibc
import Basics
import PluginProtocol
import Synchronization

/// The host's notion of "now". Every lifecycle decision reads it, so tests drive time.
public protocol HostClock: Sendable {
    func now() -> Date
}

/// Wall-clock time, optionally shifted (the shift lets end-to-end tests move a CLI process's time).
public struct SystemClock: HostClock {
    public var offset: TimeInterval
    public init(offset: TimeInterval = 0) { self.offset = offset }
    public func now() -> Date { Date().addingTimeInterval(offset) }
}

/// A clock that only moves when a test tells it to.
public final class ManualClock: HostClock {
    private let current: Mutex<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = Mutex(start) }

    public func now() -> Date { current.withLock { $0 } }

    /// Moves time forward by `seconds`.
    public func advance(_ seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }

    /// Sets time to `date`.
    public func set(_ date: Date) { current.withLock { $0 = date } }
}
