import CBasics
import Glibc

/// A detached thread started over pthread (what Foundation's `Thread` was for us): set `name` and
/// `stackSize`, then `start()`; the body runs once and the thread ends with it.
public final class PosixThread: @unchecked Sendable {
    // @unchecked: `name`, `stackSize`, `besideCreator` and `cpusToRestore` are set before (or in)
    // `start()` by the creating thread only; the new thread reads them once, after pthread_create
    // has published them.
    /// The thread's name as the kernel shows it (`/proc/PID/task/TID/comm`, at most 15 bytes).
    public var name: String?
    /// Stack size in bytes; 0 keeps the pthread default.
    public var stackSize: Int = 0
    /// Starts the thread on another CPU than the creator's (then lets it run anywhere): for work
    /// meant to overlap what the creator does next. A new thread otherwise starts on its creator's
    /// CPU and, while the creator computes, can wait a whole scheduler tick (~4 ms measured here)
    /// before it first runs (docs/performance.md "Threads that start late", in its session-10 section).
    public var besideCreator = false
    private let body: @Sendable () -> Void
    /// The creator's CPU mask for the new thread to restore (`besideCreator`); set before
    /// pthread_create publishes it, read once by the new thread.
    private var cpusToRestore: UnsafeMutableRawPointer?

    public init(_ body: @escaping @Sendable () -> Void) {
        self.body = body
    }

    /// Starts the thread. A failure to create one is fatal (as it was with Foundation's `Thread`):
    /// the process is out of memory or threads.
    public func start() {
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        defer { pthread_attr_destroy(&attributes) }
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        if stackSize > 0 { pthread_attr_setstacksize(&attributes, stackSize) }
        cpusToRestore = besideCreator ? cbasics_attr_avoid_current_cpu(&attributes) : nil
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, &attributes, { raw in
            let me = Unmanaged<PosixThread>.fromOpaque(raw!).takeRetainedValue()
            cbasics_thread_restore_cpus(me.cpusToRestore)
            if let name = me.name { _ = cbasics_set_thread_name(name) }
            me.body()
            return nil
        }, context)
        if status != 0 {
            free(cpusToRestore)
            Unmanaged<PosixThread>.fromOpaque(context).release()
            fatalError("Cannot start a thread: \(String(cString: strerror(status))).")
        }
    }

    /// Starts `body` on a new unnamed thread.
    public static func detachNewThread(_ body: @escaping @Sendable () -> Void) {
        PosixThread(body).start()
    }

    /// Sleeps the calling thread (for housekeeping periods, never to wait for an event).
    public static func sleep(forTimeInterval seconds: Double) {
        guard seconds > 0 else { return }
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - seconds.rounded(.down)) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
