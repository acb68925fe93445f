import CCurl
import FoundationEssentials
import Glibc
import Basics

/// Idle curl easy handles kept between requests, so later requests reuse their open connections
/// (an easy handle keeps its connection cache across `curl_easy_reset`).
///
/// Share one pool between the clients that talk to the same servers. A handle is used by one
/// request at a time: `take` hands it out, `give` returns it.
public final class HTTPConnectionPool: @unchecked Sendable {
    // @unchecked: `idle` is only touched while `lock` is held; the handles in it belong to no thread.
    private let lock = Lock()
    private var idle: [UnsafeMutableRawPointer] = []
    /// At most this many idle handles (and so idle connections per server) are kept.
    public let maxIdle: Int

    public init(maxIdle: Int = 8) { self.maxIdle = max(1, maxIdle) }

    deinit { for handle in idle { ccurl_easy_cleanup(handle) } }

    /// An idle handle, reset to default options, or nil when none is idle.
    func take() -> UnsafeMutableRawPointer? {
        lock.lock()
        let handle = idle.popLast()
        lock.unlock()
        if let handle { ccurl_easy_reset(handle) }
        return handle
    }

    /// Returns a handle after its request; beyond `maxIdle` it is closed.
    func give(_ handle: UnsafeMutableRawPointer) {
        lock.lock()
        if idle.count < maxIdle {
            idle.append(handle)
            lock.unlock()
        } else {
            lock.unlock()
            ccurl_easy_cleanup(handle)
        }
    }

    /// How many handles are idle now.
    public var idleCount: Int {
        lock.lock(); defer { lock.unlock() }
        return idle.count
    }
}
