import Dispatch
import FoundationEssentials
import Glibc
import Basics
import Synchronization

/// Runs work items on at most `width` threads at once and keeps their results in input order.
///
/// For sweeps whose items mostly wait on a backend (a LocalVM destroy waits for processes to die and
/// directories to go; a remote one waits on the network): GCD's `concurrentPerform` caps concurrency
/// at the core count, which leaves such waits serial on a 2-core host, so these are plain threads.
enum BoundedParallel {
    static func map<T: Sendable, R: Sendable>(_ items: [T], width: Int, _ body: @escaping @Sendable (T) -> R) -> [R] {
        guard items.count > 1, width > 1 else { return items.map(body) }
        let next = Atomic<Int>(0)
        let results = Mutex<[R?]>(Array(repeating: nil, count: items.count))
        let done = DispatchGroup()
        for _ in 0..<min(width, items.count) {
            done.enter()
            let thread = PosixThread {
                defer { done.leave() }
                while true {
                    let index = next.add(1, ordering: .relaxed).oldValue
                    guard index < items.count else { return }
                    let result = body(items[index])
                    results.withLock { $0[index] = result }
                }
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        done.wait()
        return results.withLock { $0.compactMap { $0 } }
    }
}
