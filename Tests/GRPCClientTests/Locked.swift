import Foundation

/// A value shared between threads in tests (a stream handler and a cancellation check, or
/// concurrent callers), guarded by a lock.
final class Locked<Value>: @unchecked Sendable {
    // @unchecked Sendable: `stored` is only read or written while `lock` is held.
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) { stored = value }

    var value: Value {
        lock.lock(); defer { lock.unlock() }
        return stored
    }

    func update(_ change: (inout Value) -> Void) {
        lock.lock(); defer { lock.unlock() }
        change(&stored)
    }
}
