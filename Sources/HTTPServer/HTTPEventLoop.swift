import CHTTPShims
import FoundationEssentials
import Glibc
import Synchronization

/// The single I/O thread: accepts, reads, parses (through each connection's state machine), writes
/// and times out every connection with non-blocking sockets and level-triggered epoll. Handlers run
/// on the worker pool and report back through `complete`, which wakes the loop via an eventfd.
final class HTTPEventLoop: @unchecked Sendable {
    // @unchecked: everything except `inbox` and `openConnections` is confined to the loop thread
    // (only `run()` and what it calls touch it); `inbox` is a Mutex and `openConnections` an Atomic.

    /// A socket and its protocol state.
    final class Connection {
        let fd: Int32
        var state: HTTPConnectionState
        var output: [UInt8] = []
        var outputOffset = 0
        var closeWhenFlushed = false
        var halfClosed = false
        var interest: UInt32 = 0
        /// False for connections accepted over the limit only to be answered 503.
        let counted: Bool
        /// The peer's address without its port (nil for unix sockets), for the per-client limit.
        let client: String?
        /// Input arrived while the state machine does not read: EPOLLIN must come off now (it is
        /// otherwise left registered while a handler runs, see `updateInterest`).
        var inputWaiting = false
        /// The body being streamed to this connection (see HTTPEventLoop+Streams.swift).
        var stream: HTTPBodyStream?

        init(fd: Int32, state: HTTPConnectionState, counted: Bool, client: String?) {
            self.fd = fd
            self.state = state
            self.counted = counted
            self.client = client
        }
    }

    struct Inbox {
        var completions: [(UInt64, HTTPResponse)] = []
        var shutdownRequested = false
        /// Set when the loop has exited and closed its eventfd: later completions are dropped.
        var closed = false
    }

    let configuration: HTTPServerConfiguration
    let limits: HTTPConnectionState.Limits
    let handler: @Sendable (HTTPRequest) -> HTTPResponse
    let isPriority: @Sendable (HTTPRequest) -> Bool
    let accessLog: @Sendable (AccessLogEntry) -> Void
    let accessLogFlush: @Sendable () -> Void
    let inlineHandler: (@Sendable (HTTPRequest) -> HTTPResponse?)?
    /// Requests answered on this thread by `inlineHandler`, delivered by `drainInlineAnswers` after the
    /// current event (a loop, not recursion: pipelined requests cannot deepen the stack).
    var inlineAnswers: [(UInt64, HTTPResponse)] = []
    /// Something was logged in this round of events: flush the access log before waiting again.
    var loggedThisRound = false
    let pool: HTTPWorkerPool
    let priorityPool: HTTPWorkerPool
    let epollFD: Int32
    let wakeFD: Int32
    let requestIDPrefix: String
    let inbox = Mutex(Inbox())
    /// Open sockets (including ones being answered 503), readable from any thread.
    let openConnections = Atomic<Int>(0)

    var listener: ListeningSocket?
    var connections: [Int32: Connection] = [:]
    var fdByID: [UInt64: Int32] = [:]
    var nextID: UInt64 = 0
    var countedConnections = 0
    /// Open counted connections per client address (see `evictForFairness`).
    var connectionsPerClient: [String: Int] = [:]
    /// Waiting connections closed to make room for a lighter client (for tests and logs).
    var evictions = 0
    var rejecting = 0
    var nextDeadline = Double.infinity
    var shuttingDown = false
    var shutdownDeadline = Double.infinity
    /// Set at the shutdown deadline, when stuck requests were answered 503; `shutdownDeadline` then
    /// bounds how long those answers may take to flush and drain before everything is closed.
    var abandonedInFlight = false
    /// True while the listener is out of epoll because both the connection limit and the 503 quota
    /// are used up: the excess waits in the kernel's backlog instead of being accepted and reset.
    var acceptPaused = false
    /// A descriptor kept in reserve: when accept fails with EMFILE, it is closed to accept and drop
    /// one connection, so a full descriptor table cannot make the listener spin.
    var spareFD: Int32 = -1
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(listener: ListeningSocket, configuration: HTTPServerConfiguration,
         handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse,
         isPriority: @escaping @Sendable (HTTPRequest) -> Bool,
         accessLog: @escaping @Sendable (AccessLogEntry) -> Void,
         accessLogFlush: @escaping @Sendable () -> Void = {},
         inlineHandler: (@Sendable (HTTPRequest) -> HTTPResponse?)? = nil) throws(HTTPServerError) {
        self.listener = listener
        self.configuration = configuration
        self.limits = HTTPConnectionState.Limits(
            maxHeaderBytes: configuration.maxHeaderBytes, maxBodyBytes: configuration.maxBodyBytes,
            headerReadTimeout: configuration.headerReadTimeout, idleTimeout: configuration.idleTimeout)
        self.handler = handler
        self.isPriority = isPriority
        self.accessLog = accessLog
        self.accessLogFlush = accessLogFlush
        self.inlineHandler = inlineHandler
        self.epollFD = try SystemCall.retrying { epoll_create1(Int32(EPOLL_CLOEXEC)) }.orThrow(.io, "epoll_create1")
        do {
            self.wakeFD = try SystemCall.retrying { eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC)) }.orThrow(.io, "eventfd")
        } catch {
            SystemCall.close(epollFD)
            throw error
        }
        self.requestIDPrefix = String(UInt64.random(in: 0...UInt64.max) & 0xFFFF_FFFF_FFFF, radix: 16)
        self.pool = HTTPWorkerPool(threads: configuration.workerThreads)
        self.priorityPool = HTTPWorkerPool(threads: configuration.priorityThreads, name: "http-priority")
        self.spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
        register(wakeFD, events: EPOLLIN.rawValue)
        register(listener.fd, events: EPOLLIN.rawValue)
    }

    /// A worker finished a handler: queue the response for the loop thread and wake it.
    func complete(_ id: UInt64, _ response: HTTPResponse) {
        inbox.withLock { inbox in
            guard !inbox.closed else { response.stream?.cancel(); return }
            inbox.completions.append((id, response))
            wake()
        }
    }

    /// Asks the loop to stop accepting and close down gracefully. Any thread; idempotent.
    func requestShutdown() {
        inbox.withLock { inbox in
            guard !inbox.closed else { return }
            inbox.shutdownRequested = true
            wake()
        }
    }

    /// Runs until shutdown has finished (or timed out); then releases every descriptor.
    func run() {
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while true {
            let timeout = timeoutMilliseconds(now: Self.now())
            let count = events.withUnsafeMutableBufferPointer { buffer in
                SystemCall.retrying { epoll_wait(epollFD, buffer.baseAddress, Int32(buffer.count), timeout) }
            }
            guard case .success(let ready) = count else { break }
            for index in 0..<Int(ready) {
                let event = events[index]
                let fd = event.data.fd
                if fd == wakeFD {
                    drainInbox()
                } else if let listener, fd == listener.fd {
                    acceptConnections(from: listener)
                } else if let connection = connections[fd] {
                    handle(connection, events: event.events)
                }
                drainInlineAnswers()
            }
            let now = Self.now()
            if now.monotonic >= nextDeadline { runTimers(now: now) }
            drainInlineAnswers()
            flushAccessLog()
            if shuttingDown {
                if connections.isEmpty { break }
                if now.monotonic >= shutdownDeadline {
                    if abandonedInFlight {
                        for connection in Array(connections.values) { closeConnection(connection) }
                        break
                    }
                    abandonInFlight(now: now)
                    if connections.isEmpty { break }
                }
            }
        }
        finish()
    }

    // MARK: - Events

    private func handle(_ connection: Connection, events: UInt32) {
        if events & EPOLLERR.rawValue != 0 {
            closeConnection(connection)
            return
        }
        if events & EPOLLOUT.rawValue != 0 {
            flush(connection)
            guard connections[connection.fd] === connection else { return }
        }
        if connection.stream != nil, events & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue) != 0 {
            // The client hung up while its body streams: stop the producer now, not at the next write.
            closeConnection(connection)
            return
        }
        if events & (EPOLLIN.rawValue | EPOLLHUP.rawValue) != 0 {
            if connection.state.wantsRead {
                read(connection)
            } else if events & EPOLLHUP.rawValue != 0 {
                // The peer is gone entirely while its handler runs: nothing can be delivered.
                closeConnection(connection)
            } else {
                connection.inputWaiting = true
                updateInterest(connection)
            }
        }
    }

    private func read(_ connection: Connection) {
        let result = readBuffer.withUnsafeMutableBytes { buffer in
            SystemCall.retrying { recv(connection.fd, buffer.baseAddress, buffer.count, 0) }
        }
        let now = Self.now()
        switch result {
        case .success(0):
            perform(connection.state.peerClosed(now: now), on: connection)
        case .success(let n):
            let actions = readBuffer.withUnsafeBytes { buffer in
                connection.state.received(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), now: now)
            }
            perform(actions, on: connection)
        case .failure(let error) where error.isWouldBlock:
            break
        case .failure:
            closeConnection(connection)
        }
    }

    /// Carries out a state machine's actions, then flushes output and updates interest and timers.
    func perform(_ actions: [HTTPConnectionState.Action], on connection: Connection) {
        for action in actions {
            switch action {
            case .dispatch(let request):
                let id = connection.state.id
                let priority = isPriority(request)
                if !priority, let inlineHandler, let response = inlineHandler(request) {
                    inlineAnswers.append((id, response))
                    continue
                }
                let handler = self.handler
                (priority ? priorityPool : pool).submit { [self] in
                    let response = handler(request)
                    complete(id, response)
                    // A streamed body is produced on this worker, after the head was handed over.
                    response.stream?.run()
                }
            case .write(let bytes):
                // Nothing queued (the usual case): take the response's buffer, not a copy of it.
                if connection.output.isEmpty { connection.output = bytes } else { connection.output.append(contentsOf: bytes) }
            case .log(let entry):
                accessLog(entry)
                loggedThisRound = true
            case .closeGracefully:
                connection.closeWhenFlushed = true
            case .closeNow:
                closeConnection(connection)
                return
            }
        }
        if connection.outputOffset < connection.output.count || (connection.closeWhenFlushed && !connection.halfClosed) {
            flush(connection)
        }
        guard connections[connection.fd] === connection else { return }
        updateInterest(connection)
        if let deadline = connection.state.deadline { nextDeadline = min(nextDeadline, deadline) }
    }

    /// Delivers the answers `inlineHandler` gave, as `drainInbox` does a worker's (and any that
    /// delivering them produced: the next pipelined request may be answered inline too).
    func drainInlineAnswers() {
        var index = 0
        while index < inlineAnswers.count {
            let (id, response) = inlineAnswers[index]
            index += 1
            guard let fd = fdByID[id], let connection = connections[fd], connection.state.isHandling else { continue }
            perform(connection.state.responded(response, now: Self.now()), on: connection)
        }
        inlineAnswers.removeAll(keepingCapacity: true)
    }

    /// Hands the round's access-log lines on (one write for the round, not one per request).
    func flushAccessLog() {
        guard loggedThisRound else { return }
        loggedThisRound = false
        accessLogFlush()
    }

    /// Sends queued output; when it has all gone, half-closes if asked and tells the state machine.
    private func flush(_ connection: Connection) {
        let pending = connection.output.count - connection.outputOffset
        if pending > 0 {
            let result = connection.output.withUnsafeBytes { buffer in
                SystemCall.retrying {
                    send(connection.fd, buffer.baseAddress! + connection.outputOffset, pending, Int32(MSG_NOSIGNAL))
                }
            }
            switch result {
            case .success(let sent):
                connection.outputOffset += sent
                if sent < pending {
                    connection.state.wroteSome(now: Self.now())
                    updateInterest(connection)
                    return
                }
            case .failure(let error) where error.isWouldBlock:
                updateInterest(connection)
                return
            case .failure:
                closeConnection(connection)
                return
            }
        }
        let drained = pending > 0
        connection.output = []
        connection.outputOffset = 0
        if continueStream(connection) { return }
        var report = drained
        if connection.closeWhenFlushed, !connection.halfClosed {
            _ = SystemCall.retrying { shutdown(connection.fd, Int32(SHUT_WR)) }
            connection.halfClosed = true
            report = true
        }
        if report { perform(connection.state.written(now: Self.now()), on: connection) }
    }
}
