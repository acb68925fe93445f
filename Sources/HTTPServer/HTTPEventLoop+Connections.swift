import CHTTPShims
import FoundationEssentials
import Glibc

extension HTTPEventLoop {
    /// How many sockets over the connection limit may be open at once being answered 503.
    static let maxRejecting = 64

    /// Accepts what is pending (bounded, so a connection storm cannot starve open connections).
    /// While the limit and the 503 quota are both full, the listener is paused instead.
    func acceptConnections(from listener: ListeningSocket) {
        for _ in 0..<512 {
            if countedConnections >= configuration.maxConnections, rejecting >= Self.maxRejecting {
                pauseAccepting(listener)
                return
            }
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let result = withUnsafeMutablePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                    SystemCall.retrying { chttp_accept4(listener.fd, address, &length, ListeningSocket.socketFlags) }
                }
            }
            switch result {
            case .success(let fd):
                let client = listener.unixPath == nil ? SocketAddress.hostAndPort(storage)?.0 : nil
                adopt(fd, peer: listener.unixPath == nil ? SocketAddress.peerDescription(storage) : "unix",
                      tcp: listener.unixPath == nil, client: client)
            case .failure(let error) where error.isWouldBlock:
                return
            case .failure(let error) where error.code == EMFILE || error.code == ENFILE:
                shedOneConnection(listener)
                return
            case .failure:
                continue  // ECONNABORTED and friends concern that one connection only.
            }
        }
    }

    /// At the connection limit, a newcomer whose address holds fewer connections than the heaviest
    /// address takes the place of one of that address's waiting connections (idle, or still sending
    /// its head). One client holding every slot with idle connections then locks nobody out, while a
    /// single busy client (or many clients behind one address) still gets the whole limit when
    /// nobody else wants in. Returns true when a place was freed.
    private func evictForFairness(newcomer client: String?) -> Bool {
        let mine = client.map { connectionsPerClient[$0, default: 0] } ?? 0
        guard let (heaviest, count) = connectionsPerClient.max(by: { $0.value < $1.value }), count > mine + 1,
              let victim = connections.values.first(where: {
                  $0.counted && $0.client == heaviest && $0.state.isEvictable && $0.outputOffset >= $0.output.count
              })
        else { return false }
        evictions += 1
        closeConnection(victim)
        return true
    }

    private func adopt(_ fd: Int32, peer: String, tcp: Bool, client: String?) {
        if tcp {
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        // Past the limit, a bounded number of extra sockets get a 503 (`acceptConnections` stops
        // accepting while that quota is used up, so none is closed unanswered).
        let overLimit = countedConnections >= configuration.maxConnections && !evictForFairness(newcomer: client)
        nextID += 1
        let now = Self.now()
        let state = HTTPConnectionState(id: nextID, remoteAddress: peer, limits: limits,
                                        requestIDPrefix: requestIDPrefix, now: now)
        let connection = Connection(fd: fd, state: state, counted: !overLimit, client: client)
        if let client, !overLimit { connectionsPerClient[client, default: 0] += 1 }
        connections[fd] = connection
        fdByID[nextID] = fd
        if overLimit { rejecting += 1 } else { countedConnections += 1 }
        openConnections.add(1, ordering: .relaxed)
        register(fd, events: 0)
        if overLimit {
            perform(connection.state.reject(now: now), on: connection)
        } else {
            perform([], on: connection)
        }
    }

    /// Takes the listener out of epoll (level-triggered, it would otherwise wake the loop in a spin).
    private func pauseAccepting(_ listener: ListeningSocket) {
        guard !acceptPaused else { return }
        acceptPaused = true
        var event = epoll_event()
        event.data.fd = listener.fd
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, listener.fd, &event)
    }

    /// A slot or a 503 quota place came free: accept again.
    private func resumeAccepting() {
        guard acceptPaused, let listener else { return }
        acceptPaused = false
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = listener.fd
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, listener.fd, &event)
    }

    /// Out of descriptors: free the spare, accept and drop one connection, take the spare back.
    private func shedOneConnection(_ listener: ListeningSocket) {
        guard spareFD >= 0 else { return }
        SystemCall.close(spareFD)
        if case .success(let fd) = SystemCall.retrying({ chttp_accept4(listener.fd, nil, nil, ListeningSocket.socketFlags) }) {
            SystemCall.close(fd)
        }
        spareFD = open("/dev/null", O_RDONLY | O_CLOEXEC)
    }

    func closeConnection(_ connection: Connection) {
        guard connections[connection.fd] === connection else { return }
        connection.stream?.cancel()
        connection.stream = nil
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, connection.fd, nil)
        connections[connection.fd] = nil
        fdByID[connection.state.id] = nil
        if connection.counted { countedConnections -= 1 } else { rejecting -= 1 }
        if connection.counted, let client = connection.client {
            let left = connectionsPerClient[client, default: 1] - 1
            connectionsPerClient[client] = left > 0 ? left : nil
        }
        openConnections.subtract(1, ordering: .relaxed)
        SystemCall.close(connection.fd)
        if acceptPaused { resumeAccepting() }
    }

    // MARK: - Inbox, timers, shutdown

    func drainInbox() {
        var counter: UInt64 = 0
        _ = read(wakeFD, &counter, 8)
        let (completions, shutdownRequested) = inbox.withLock { inbox in
            let taken = inbox.completions
            inbox.completions = []
            return (taken, inbox.shutdownRequested)
        }
        let now = Self.now()
        // Shutdown first: a response completing in the same batch then goes out with `Connection: close`.
        if shutdownRequested, !shuttingDown { beginShutdown(now: now) }
        for (id, response) in completions {
            guard let fd = fdByID[id], let connection = connections[fd], connection.state.isHandling else {
                response.stream?.cancel()
                continue
            }
            if let stream = response.stream { startStream(stream, on: connection) }
            perform(connection.state.responded(response, now: now), on: connection)
        }
        pumpStreams()
        drainInlineAnswers()
    }

    /// At the shutdown deadline: answer every request still being handled 503, close the rest, and
    /// allow one linger period for those answers to be sent and the input drained.
    func abandonInFlight(now: HTTPConnectionState.Instant) {
        abandonedInFlight = true
        shutdownDeadline = now.monotonic + limits.lingerTimeout
        for connection in Array(connections.values) where connections[connection.fd] === connection {
            perform(connection.state.abandon(now: now), on: connection)
        }
    }

    private func beginShutdown(now: HTTPConnectionState.Instant) {
        shuttingDown = true
        shutdownDeadline = now.monotonic + max(0, configuration.shutdownTimeout)
        closeListener()
        for connection in Array(connections.values) where connections[connection.fd] === connection {
            perform(connection.state.shutdown(now: now), on: connection)
        }
    }

    private func closeListener() {
        guard let listener else { return }
        _ = epoll_ctl(epollFD, EPOLL_CTL_DEL, listener.fd, nil)
        SystemCall.close(listener.fd)
        if let path = listener.unixPath { unlink(path) }
        self.listener = nil
    }

    func runTimers(now: HTTPConnectionState.Instant) {
        nextDeadline = .infinity
        for connection in Array(connections.values) where connections[connection.fd] === connection {
            perform(connection.state.tick(now: now), on: connection)
        }
    }

    /// The epoll_wait timeout: until the nearest connection deadline (or the shutdown deadline).
    func timeoutMilliseconds(now: HTTPConnectionState.Instant) -> Int32 {
        let until = shuttingDown ? min(nextDeadline, shutdownDeadline) : nextDeadline
        guard until.isFinite else { return -1 }
        let milliseconds = ((until - now.monotonic) * 1000).rounded(.up)
        return Int32(max(0, min(milliseconds, 60_000)))
    }

    /// Releases every descriptor once the loop has exited; late completions are dropped from now on.
    func finish() {
        closeListener()
        for connection in Array(connections.values) { closeConnection(connection) }
        flushAccessLog()
        inbox.withLock { inbox in
            inbox.closed = true
            inbox.completions = []
        }
        pool.stop()
        priorityPool.stop()
        SystemCall.close(wakeFD)
        SystemCall.close(epollFD)
        if spareFD >= 0 { SystemCall.close(spareFD) }
    }

    // MARK: - epoll plumbing

    func register(_ fd: Int32, events: UInt32) {
        var event = epoll_event()
        event.events = events
        event.data.fd = fd
        _ = epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event)
    }

    func updateInterest(_ connection: Connection) {
        var wanted: UInt32 = connection.state.wantsRead ? EPOLLIN.rawValue : 0
        if connection.state.wantsRead {
            connection.inputWaiting = false
        } else if connection.interest & EPOLLIN.rawValue != 0, !connection.inputWaiting {
            // Reading pauses while a handler runs, but EPOLLIN stays registered until input really
            // arrives (then `handle` sets `inputWaiting` and it comes off): a request/response
            // round trip then needs no epoll_ctl at all instead of two.
            wanted |= EPOLLIN.rawValue
        }
        if connection.stream != nil { wanted |= EPOLLRDHUP.rawValue }
        if connection.outputOffset < connection.output.count { wanted |= EPOLLOUT.rawValue }
        guard wanted != connection.interest else { return }
        connection.interest = wanted
        var event = epoll_event()
        event.events = wanted
        event.data.fd = connection.fd
        _ = epoll_ctl(epollFD, EPOLL_CTL_MOD, connection.fd, &event)
    }

    /// Wakes `epoll_wait` (called with the inbox lock held, so the eventfd cannot be closed meanwhile).
    func wake() {
        var one: UInt64 = 1
        _ = write(wakeFD, &one, 8)
    }

    static func now() -> HTTPConnectionState.Instant {
        var monotonic = timespec()
        var wall = timespec()
        clock_gettime(CLOCK_MONOTONIC, &monotonic)
        clock_gettime(CLOCK_REALTIME, &wall)
        return .init(monotonic: Double(monotonic.tv_sec) + Double(monotonic.tv_nsec) / 1e9,
                     wall: Double(wall.tv_sec) + Double(wall.tv_nsec) / 1e9)
    }
}
