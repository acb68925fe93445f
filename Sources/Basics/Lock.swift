import Glibc

/// A plain mutual-exclusion lock over a pthread mutex (what `NSLock` was, without Foundation).
///
/// Prefer `Synchronization.Mutex` when the lock guards one value; this is for call sites that lock
/// around several stored properties or around calls.
public final class Lock: @unchecked Sendable {
    // @unchecked: the mutex is only touched through pthread calls, which are thread-safe by contract.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Takes the lock, waiting for it.
    public func lock() { pthread_mutex_lock(mutex) }

    /// Takes the lock if it is free; true when taken.
    public func tryLock() -> Bool { pthread_mutex_trylock(mutex) == 0 }

    /// Releases the lock (only the thread that took it may).
    public func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` with the lock held.
    public func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
