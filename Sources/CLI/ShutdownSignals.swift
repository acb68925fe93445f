import Dispatch
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
import Synchronization

/// SIGTERM/SIGINT handling without any Swift in a signal handler: the signals are blocked and one
/// thread receives them with sigwait(2), then calls the registered callbacks as ordinary code.
public enum ShutdownSignals {
    private static let callbacks = Mutex<[@Sendable (Int32) -> Void]?>(nil)
    private static let waiter = Mutex<pthread_t?>(nil)

    /// Installs SIGTERM/SIGINT handling that calls `onSignal` with the signal number (every time one
    /// arrives). Call it early in `main`, before other threads start: a thread created earlier keeps
    /// the signals unblocked, and the kernel may deliver one there (default action: exit).
    public static func install(_ onSignal: @escaping @Sendable (Int32) -> Void) {
        let first = callbacks.withLock { list -> Bool in
            let isFirst = list == nil
            list = (list ?? []) + [onSignal]
            return isFirst
        }
        guard first else { return }
        var set = shutdownSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
        let ready = DispatchSemaphore(value: 0)
        let thread = PosixThread {
            var set = shutdownSet()
            waiter.withLock { $0 = pthread_self() }
            ready.signal()
            while true {
                var signal: Int32 = 0
                guard sigwait(&set, &signal) == 0 else { continue }
                let current = callbacks.withLock { $0 ?? [] }
                for callback in current { callback(signal) }
            }
        }
        thread.name = "shutdown-signals"
        thread.start()
        ready.wait()
    }

    /// The thread blocked in sigwait (tests direct a signal at it with pthread_kill).
    static var waiterThread: pthread_t? { waiter.withLock { $0 } }

    private static func shutdownSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        return set
    }
}
