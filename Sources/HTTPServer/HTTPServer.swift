import FoundationEssentials
import Basics
import Glibc
import Synchronization

/// An HTTP/1.1 server on POSIX sockets: one epoll I/O thread, a fixed pool of handler threads,
/// keep-alive and pipelining, hard limits, and graceful shutdown.
public final class HTTPServer: Sendable {
    private enum Phase {
        case idle
        case running(HTTPEventLoop)
        case finished
    }

    private let configuration: HTTPServerConfiguration
    private let handler: @Sendable (HTTPRequest) -> HTTPResponse
    private let isPriority: @Sendable (HTTPRequest) -> Bool
    private let accessLog: @Sendable (AccessLogEntry) -> Void
    private let accessLogFlush: @Sendable () -> Void
    private let inlineHandler: (@Sendable (HTTPRequest) -> HTTPResponse?)?
    private let phase = Mutex(Phase.idle)
    /// Signalled when the loop has exited; `done` is only read and written while it is held.
    private let finished = Condition()
    nonisolated(unsafe) private var done = false  // guarded by `finished` (reason: Condition carries no value)

    /// `isPriority` picks requests (cheap, never blocking: health checks, metrics) that run on the
    /// reserved priority threads, so they answer at once even while every worker is busy.
    /// `inlineHandler`, when given, is offered each non-priority request on the event-loop thread
    /// first; it must answer at once without blocking (a cache hit) and never with a streamed body
    /// (that is produced on a worker), or return nil, and the request then runs on a worker as
    /// usual. It saves the hand-off to a worker and back for cheap reads.
    /// `accessLogFlush` runs on the loop thread after each round of events that logged something, so
    /// an `AccessLogBuffer` behind `accessLog` can write a round's lines at once.
    public init(configuration: HTTPServerConfiguration,
                handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse,
                isPriority: @escaping @Sendable (HTTPRequest) -> Bool = { _ in false },
                accessLog: @escaping @Sendable (AccessLogEntry) -> Void = { _ in },
                accessLogFlush: @escaping @Sendable () -> Void = {},
                inlineHandler: (@Sendable (HTTPRequest) -> HTTPResponse?)? = nil) {
        self.configuration = configuration
        self.handler = handler
        self.isPriority = isPriority
        self.accessLog = accessLog
        self.accessLogFlush = accessLogFlush
        self.inlineHandler = inlineHandler
    }

    /// Binds and listens; returns the bound address (port 0 → the real port). Throws on bind failure.
    public func start() throws(HTTPServerError) -> ListenAddress {
        try phase.withLock { (phase: inout Phase) throws(HTTPServerError) -> ListenAddress in
            guard case .idle = phase else {
                throw HTTPServerError(.state, "The server was already started or shut down.")
            }
            Self.raiseDescriptorLimit()
            let backlog = Int32(min(max(configuration.maxConnections, 128), 4096))
            let listener = try ListeningSocket.open(configuration.listen, backlog: backlog)
            let loop: HTTPEventLoop
            do throws(HTTPServerError) {
                loop = try HTTPEventLoop(listener: listener, configuration: configuration,
                                         handler: handler, isPriority: isPriority, accessLog: accessLog,
                                         accessLogFlush: accessLogFlush, inlineHandler: inlineHandler)
            } catch {
                SystemCall.close(listener.fd)
                if let path = listener.unixPath { unlink(path) }
                throw error
            }
            phase = .running(loop)
            let thread = PosixThread { [self] in
                loop.run()
                markFinished()
            }
            thread.name = "http-event-loop"
            thread.start()
            return listener.address
        }
    }

    /// Blocks until shutdown completes (all in-flight requests answered, all connections closed).
    /// Returns at once if the server was never started.
    public func wait() {
        let started = phase.withLock { phase -> Bool in
            if case .idle = phase { return false }
            return true
        }
        guard started else { return }
        finished.lock()
        while !done { finished.wait() }
        finished.unlock()
    }

    /// Graceful shutdown: stop accepting, let in-flight requests finish and be written, close idle
    /// connections, then wake `wait()`. Safe from any thread (a signal-waiting one too); idempotent.
    public func shutdown() {
        let loop = phase.withLock { phase -> HTTPEventLoop? in
            switch phase {
            case .idle:
                phase = .finished
                return nil
            case .running(let loop):
                return loop
            case .finished:
                return nil
            }
        }
        loop?.requestShutdown()
    }

    /// Current open connections (for tests and /metrics).
    public var openConnections: Int {
        phase.withLock { phase in
            if case .running(let loop) = phase { return loop.openConnections.load(ordering: .relaxed) }
            return 0
        }
    }

    private func markFinished() {
        finished.lock()
        done = true
        finished.broadcast()
        finished.unlock()
    }

    /// Raises the soft RLIMIT_NOFILE to the hard limit: 1,000 connections need more than the usual 1,024.
    private static func raiseDescriptorLimit() {
        var limit = rlimit()
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(resource, &limit)
    }
}
