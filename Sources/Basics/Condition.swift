import FoundationEssentials
import Glibc

/// A lock with a condition variable (what `NSCondition` was, without Foundation): lock, test a
/// predicate, `wait` or `wait(until:)` while it is false; `signal`/`broadcast` after changing it.
///
/// Timed waits run on CLOCK_MONOTONIC, so a wall-clock jump neither ends nor stretches them; the
/// deadline is given as a `Date` (as with `NSCondition`) and converted once.
public final class Condition: @unchecked Sendable {
    // @unchecked: the mutex and condition are only touched through pthread calls.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        cond = .allocate(capacity: 1)
        cond.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` with the lock held.
    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Waits (lock held) until signalled; may wake spuriously, so callers loop on their predicate.
    public func wait() { pthread_cond_wait(cond, mutex) }

    /// Waits (lock held) until signalled or `deadline` passes; false when the deadline passed.
    @discardableResult
    public func wait(until deadline: Date) -> Bool {
        wait(seconds: deadline.timeIntervalSinceNow)
    }

    /// Waits (lock held) until signalled or `seconds` pass; false when the time passed.
    @discardableResult
    public func wait(seconds: Double) -> Bool {
        guard seconds > 0 else { return false }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let whole = seconds.rounded(.down)
        var nanos = Int(now.tv_nsec) + Int((seconds - whole) * 1e9)
        var secs = Int(now.tv_sec) + (whole >= Double(Int32.max) ? Int(Int32.max) : Int(whole))
        if nanos >= 1_000_000_000 { secs += 1; nanos -= 1_000_000_000 }
        var until = timespec(tv_sec: secs, tv_nsec: nanos)
        return pthread_cond_timedwait(cond, mutex, &until) == 0
    }

    /// Wakes one waiter.
    public func signal() { pthread_cond_signal(cond) }

    /// Wakes every waiter.
    public func broadcast() { pthread_cond_broadcast(cond) }
}
