import FoundationEssentials
import Glibc
import Basics
import Synchronization

/// A response body produced while it is being sent: a handler returns a response carrying one, and
/// after the head has gone out its `producer` runs on the handler's worker thread, writing the body
/// piece by piece (chunked transfer coding on HTTP/1.1; on HTTP/1.0 the close ends the body).
///
/// Memory stays bounded: `write` blocks while more than `capacity` bytes wait to be sent, so a slow
/// reader slows the producer down. When the client goes away (or the server shuts down) `write`
/// answers false and `isCancelled` turns true: the producer should stop and clean up. A streamed
/// response always closes its connection after the body.
public final class HTTPBodyStream: Sendable, Equatable {
    public typealias Producer = @Sendable (HTTPBodyStream) -> Void

    private struct State {
        /// Pieces written and not yet taken; framed (chunked or not) only when taken, since the
        /// producer may write before the loop knows the request's HTTP version.
        var queued: [Data] = []
        var queuedBytes = 0
        var finished = false
        /// The terminating zero-length chunk has been handed to the loop.
        var lastChunkTaken = false
        var cancelled = false
        var chunked = true
        var wake: (@Sendable () -> Void)?
    }

    let producer: Producer
    /// Run once the producer has returned (see `whenFinished`).
    private let finishers = Mutex<[@Sendable () -> Void]>([])
    /// Most bytes waiting to be sent before `write` blocks.
    public let capacity: Int
    private let condition = Condition()
    nonisolated(unsafe) private var state = State()  // guarded by `condition` (reason: Condition has no payload)

    public init(capacity: Int = 256 << 10, producer: @escaping Producer) {
        self.capacity = max(1, capacity)
        self.producer = producer
    }

    public static func == (lhs: HTTPBodyStream, rhs: HTTPBodyStream) -> Bool { lhs === rhs }

    /// Queues `data` for sending, waiting while the queue is full. False once the client is gone.
    @discardableResult
    public func write(_ data: Data) -> Bool {
        guard !data.isEmpty else { return !isCancelled }
        condition.lock()
        while !state.cancelled, state.queuedBytes >= capacity { condition.wait() }
        guard !state.cancelled else { condition.unlock(); return false }
        let wasEmpty = state.queued.isEmpty
        state.queued.append(data)
        state.queuedBytes += data.count
        let wake = wasEmpty ? state.wake : nil
        condition.unlock()
        wake?()
        return true
    }

    /// True once the client is gone or the server dropped the response.
    public var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return state.cancelled
    }

    // MARK: - The server's side

    /// The loop starts sending: `wake` is called (from the producer's thread) when bytes arrive
    /// in an empty queue or the body ends.
    func attach(chunked: Bool, wake: @escaping @Sendable () -> Void) {
        condition.lock()
        state.chunked = chunked
        state.wake = wake
        let pending = !state.queued.isEmpty || state.finished
        condition.unlock()
        if pending { wake() }
    }

    /// Everything queued so far, and whether the body has ended (then these are its last bytes).
    func take() -> (bytes: [UInt8], finished: Bool) {
        condition.lock()
        defer { condition.unlock() }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(state.queuedBytes + state.queued.count * 12 + 5)
        for piece in state.queued {
            if state.chunked { bytes.append(contentsOf: Array("\(String(piece.count, radix: 16))\r\n".utf8)) }
            bytes.append(contentsOf: piece)
            if state.chunked { bytes.append(contentsOf: [13, 10]) }
        }
        if state.finished, !state.cancelled, state.chunked, !state.lastChunkTaken {
            bytes.append(contentsOf: Array("0\r\n\r\n".utf8))
            state.lastChunkTaken = true
        }
        state.queued = []
        state.queuedBytes = 0
        condition.broadcast()
        return (bytes, state.finished)
    }

    /// The client is gone or the response was dropped: writes fail from now on.
    func cancel() {
        condition.lock()
        state.cancelled = true
        state.queued = []
        state.queuedBytes = 0
        state.wake = nil
        condition.broadcast()
        condition.unlock()
    }

    /// Calls `body` once the producer has returned (also when the client left first): for what a
    /// handler holds for as long as its body streams, such as a place among the long requests.
    public func whenFinished(_ body: @escaping @Sendable () -> Void) {
        finishers.withLock { $0.append(body) }
    }

    /// Runs the producer, then ends the body (the last chunk).
    func run() {
        producer(self)
        condition.lock()
        state.finished = true
        let wake = state.wake
        condition.unlock()
        wake?()
        for finish in finishers.withLock({ list in defer { list = [] }; return list }) { finish() }
    }
}
