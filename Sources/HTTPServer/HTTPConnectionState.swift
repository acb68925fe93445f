import FoundationEssentials
import Glibc

/// One connection's protocol state as a pure state machine: the event loop reports what happened
/// (bytes arrived, a handler answered, output drained, time passed) and performs the returned
/// actions. No sockets, no threads and no clock reads here, so every timeout is testable.
///
/// Requests on a connection are handled one at a time, in order (pipelined ones wait in `queue`),
/// and reading pauses while a handler runs: a slow handler cannot make the server buffer unbounded
/// input, and responses can never be reordered.
struct HTTPConnectionState {
    /// The limits a connection enforces (from `HTTPServerConfiguration`).
    struct Limits: Sendable {
        var maxHeaderBytes = 16 * 1024
        var maxBodyBytes = 1 << 20
        var headerReadTimeout: Double = 10
        var idleTimeout: Double = 60
        /// After the final response, how long unread input is drained so the close does not reset
        /// the connection (an RST can destroy a 413 before the client reads it).
        var lingerTimeout: Double = 2
        /// The most input drained while lingering before closing anyway.
        var lingerBytes = 1 << 20
    }

    /// A point in time: monotonic seconds for deadlines, Unix seconds for Date headers and logs.
    struct Instant: Sendable {
        var monotonic: Double
        var wall: Double
    }

    /// What the event loop must do, in order.
    enum Action: Equatable {
        /// Run the handler for this request on a worker; report with `responded`.
        case dispatch(HTTPRequest)
        /// Queue these bytes for sending; report `written` when all queued output is sent.
        case write([UInt8])
        /// Hand this entry to the access log.
        case log(AccessLogEntry)
        /// After queued output is sent: shut down writing, report `written`, keep draining input.
        case closeGracefully
        /// Close the socket now, discarding anything unsent.
        case closeNow
    }

    private struct Current {
        var method: String
        var path: String
        var version: String
        var keepAlive: Bool
        var requestID: String
        var startedAt: Double
    }

    private enum Phase {
        /// Reading (or idle between requests).
        case reading
        /// A handler is running for `Current`.
        case handling(Current)
        /// A response is being sent; close afterwards when `close`.
        case writing(close: Bool)
        /// Writing is shut down; draining input until EOF, the byte cap or the linger deadline.
        case lingering(since: Double, discarded: Int)
        case closed
    }

    let id: UInt64
    let remoteAddress: String
    private let limits: Limits
    /// `<requestIDPrefix>-<id in hex>-`: a generated request id is this and the request's sequence
    /// number (made once per connection, not interpolated per request).
    private let connectionRequestIDPrefix: String
    private var parser: HTTPRequestParser
    private var phase = Phase.reading
    private var queue: [HTTPRequestParser.Event] = []
    private var lastActivity: Double
    private var headStartedAt: Double?
    private var peerClosed = false
    private var shuttingDown = false
    /// Answered 503 at the shutdown deadline (see `abandon`).
    private var abandoned = false
    private var sequence: UInt64 = 0

    init(id: UInt64, remoteAddress: String, limits: Limits, requestIDPrefix: String, now: Instant) {
        self.id = id
        self.remoteAddress = remoteAddress
        self.limits = limits
        self.connectionRequestIDPrefix = requestIDPrefix + "-" + String(id, radix: 16) + "-"
        self.parser = HTTPRequestParser(maxHeaderBytes: limits.maxHeaderBytes, maxBodyBytes: limits.maxBodyBytes)
        self.lastActivity = now.monotonic
    }

    /// A connection over the limit: it is answered 503 at once and closed.
    mutating func reject(now: Instant) -> [Action] {
        fail(.overloaded, now: now)
    }

    /// Whether the connection may be closed to make room for another client: it waits for a request
    /// (idle, or mid-head) and has nothing dispatched, queued or half-received as a body.
    var isEvictable: Bool {
        guard case .reading = phase, queue.isEmpty, !parser.isReadingBody else { return false }
        return true
    }

    /// Whether the loop should read from the socket now.
    var wantsRead: Bool {
        switch phase {
        case .reading, .lingering: return true
        case .handling, .writing, .closed: return false
        }
    }

    /// Whether a handler is running for this connection.
    var isHandling: Bool {
        if case .handling = phase { return true }
        return false
    }

    /// The HTTP version of the request whose handler runs (nil when none runs).
    var handlingVersion: String? {
        if case .handling(let current) = phase { return current.version }
        return nil
    }

    /// When `tick` must next be called (nil: no timer while a handler runs).
    var deadline: Double? {
        switch phase {
        case .reading:
            if parser.isReadingBody { return lastActivity + limits.headerReadTimeout }
            if let headStartedAt { return headStartedAt + limits.headerReadTimeout }
            // A connection that has sent nothing yet gets the header timeout, not the keep-alive one:
            // idle slots are not free for clients that never speak.
            if sequence == 0 { return lastActivity + limits.headerReadTimeout }
            return lastActivity + limits.idleTimeout
        case .writing: return lastActivity + limits.idleTimeout
        case .lingering(let since, _): return since + limits.lingerTimeout
        case .handling, .closed: return nil
        }
    }

    /// Bytes arrived from the peer.
    mutating func received(_ bytes: UnsafeRawBufferPointer, now: Instant) -> [Action] {
        lastActivity = now.monotonic
        switch phase {
        case .closed:
            return []
        case .lingering(let since, let discarded):
            guard discarded + bytes.count <= limits.lingerBytes else { return close() }
            phase = .lingering(since: since, discarded: discarded + bytes.count)
            return []
        case .reading, .handling, .writing:
            let events = parser.feed(bytes)
            queue.append(contentsOf: events)
            if parser.hasPartialRequest, !parser.isReadingBody {
                if headStartedAt == nil || events.contains(where: { if case .request = $0 { true } else { false } }) {
                    headStartedAt = now.monotonic
                }
            } else {
                headStartedAt = nil
            }
            return advance(now: now)
        }
    }

    /// Convenience for tests: `received` with an array.
    mutating func received(_ bytes: [UInt8], now: Instant) -> [Action] {
        bytes.withUnsafeBytes { received($0, now: now) }
    }

    /// The peer shut down its side (read returned 0).
    mutating func peerClosed(now: Instant) -> [Action] {
        peerClosed = true
        switch phase {
        case .lingering: return close()
        case .reading: return advance(now: now)
        case .handling, .writing, .closed: return []
        }
    }

    /// The handler for the current request returned.
    mutating func responded(_ response: HTTPResponse, now: Instant) -> [Action] {
        guard case .handling(let current) = phase else { return [] }
        // A streamed body is delimited by the close on HTTP/1.0, and always ends its connection.
        let keepAlive = current.keepAlive && !shuttingDown && !peerClosed && response.stream == nil
        let headOnly = current.method == "HEAD"
        var actions: [Action] = [
            .write(response.wireBytes(version: current.version, headOnly: headOnly, keepAlive: keepAlive,
                                      requestID: current.requestID, date: HTTPResponse.httpDate(now.wall))),
            .log(AccessLogEntry(timestamp: Date(timeIntervalSince1970: now.wall), method: current.method,
                                path: current.path, status: response.status, bytes: headOnly ? 0 : response.body.count,
                                durationSeconds: now.monotonic - current.startedAt,
                                remoteAddress: remoteAddress, requestId: current.requestID)),
        ]
        lastActivity = now.monotonic
        phase = .writing(close: !keepAlive)
        if !keepAlive {
            queue.removeAll()
            actions.append(.closeGracefully)
        }
        return actions
    }

    /// All queued output was sent (and, after `closeGracefully`, writing was shut down).
    mutating func written(now: Instant) -> [Action] {
        lastActivity = now.monotonic
        guard case .writing(let close) = phase else { return [] }
        if close {
            phase = .lingering(since: now.monotonic, discarded: 0)
            // An answer given at the shutdown deadline lingers too: its connection may hold unread
            // input (reading pauses while a handler runs), and closing over it would reset the answer.
            return (shuttingDown && !abandoned) || peerClosed ? self.close() : []
        }
        phase = .reading
        // A pipelined head that arrived while the handler ran gets a fresh header timer.
        if parser.hasPartialRequest, !parser.isReadingBody { headStartedAt = now.monotonic }
        return advance(now: now)
    }

    /// Some queued output was sent: the peer is reading, so the write timer restarts.
    mutating func wroteSome(now: Instant) {
        lastActivity = now.monotonic
    }

    /// Time passed: fire whichever timer is due.
    mutating func tick(now: Instant) -> [Action] {
        guard let deadline, now.monotonic >= deadline else { return [] }
        switch phase {
        case .reading:
            if parser.hasPartialRequest { return fail(.headerTimeout, now: now) }
            return close()
        case .writing, .lingering:
            return close()
        case .handling, .closed:
            return []
        }
    }

    /// The server is shutting down: finish the request in flight (answered with `Connection: close`),
    /// drop queued pipelined requests, close idle connections now.
    mutating func shutdown(now: Instant) -> [Action] {
        shuttingDown = true
        queue.removeAll()
        switch phase {
        case .reading, .lingering: return close()
        case .writing(close: false):
            phase = .writing(close: true)
            return [.closeGracefully]
        case .handling, .writing, .closed: return []
        }
    }

    /// The shutdown deadline passed. A request whose handler still runs is answered 503 (with
    /// `Retry-After`) and closed gracefully, so its client gets an answer rather than a bare close; the
    /// handler's late response is discarded (`responded` ignores it outside `handling`). Any other
    /// connection is closed now.
    mutating func abandon(now: Instant) -> [Action] {
        shuttingDown = true
        queue.removeAll()
        guard case .handling(let current) = phase else { return close() }
        abandoned = true
        let error = HTTPProtocolError.shuttingDown
        var response = HTTPResponse.error(error.status, code: error.code, message: error.message)
        response.headers.set("Retry-After", "1")
        phase = .writing(close: true)
        lastActivity = now.monotonic
        return [
            .write(response.wireBytes(version: current.version, headOnly: current.method == "HEAD", keepAlive: false,
                                      requestID: current.requestID, date: HTTPResponse.httpDate(now.wall))),
            .log(AccessLogEntry(timestamp: Date(timeIntervalSince1970: now.wall), method: current.method,
                                path: current.path, status: error.status, bytes: response.body.count,
                                durationSeconds: now.monotonic - current.startedAt,
                                remoteAddress: remoteAddress, requestId: current.requestID)),
            .closeGracefully,
        ]
    }

    /// Works through queued events while no request is in flight.
    private mutating func advance(now: Instant) -> [Action] {
        var actions: [Action] = []
        while case .reading = phase, !queue.isEmpty {
            switch queue.removeFirst() {
            case .continueExpected:
                actions.append(.write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)))
            case .error(let error):
                return actions + fail(error, now: now)
            case .request(var request):
                sequence += 1
                let requestID = Self.acceptableRequestID(request.headers["X-Request-Id"])
                    ?? connectionRequestIDPrefix + String(sequence)
                request.headers.set("X-Request-Id", requestID)
                request.remoteAddress = remoteAddress
                phase = .handling(Current(method: request.method, path: request.path, version: request.version,
                                          keepAlive: request.keepAlive, requestID: requestID,
                                          startedAt: now.monotonic))
                return actions + [.dispatch(request)]
            }
        }
        if case .reading = phase, shuttingDown || (peerClosed && queue.isEmpty) {
            return actions + close()
        }
        return actions
    }

    /// Answers `error` (JSON body), logs it, and closes gracefully.
    private mutating func fail(_ error: HTTPProtocolError, now: Instant) -> [Action] {
        sequence += 1
        let requestID = connectionRequestIDPrefix + String(sequence)
        let response = HTTPResponse.error(error.status, code: error.code, message: error.message)
        queue.removeAll()
        phase = .writing(close: true)
        lastActivity = now.monotonic
        return [
            .write(response.wireBytes(version: "HTTP/1.1", headOnly: false, keepAlive: false, requestID: requestID,
                                      date: HTTPResponse.httpDate(now.wall))),
            .log(AccessLogEntry(timestamp: Date(timeIntervalSince1970: now.wall), method: "-", path: "-",
                                status: error.status, bytes: response.body.count, durationSeconds: 0,
                                remoteAddress: remoteAddress, requestId: requestID)),
            .closeGracefully,
        ]
    }

    private mutating func close() -> [Action] {
        if case .closed = phase { return [] }
        phase = .closed
        return [.closeNow]
    }

    /// A client's X-Request-Id is echoed only if it is short, visible ASCII (it ends up in logs).
    private static func acceptableRequestID(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.utf8.count),
              value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") }) else { return nil }
        return value
    }
}
