import CHTTPShims
import FoundationEssentials
import Glibc

// Streamed bodies on the loop thread: after a streamed response's head is written, the connection
// takes the producer's queued bytes whenever its own output has drained, so at most one queue's
// worth (`HTTPBodyStream.capacity`) plus one send buffer is held per connection. The state machine
// sees one long write: its write timer restarts with every batch, and `written` is reported only
// once the body has ended.
extension HTTPEventLoop {
    /// Ties `stream` to `connection` before its head is queued.
    func startStream(_ stream: HTTPBodyStream, on connection: Connection) {
        connection.stream = stream
        let chunked = connection.state.handlingVersion != "HTTP/1.0"
        stream.attach(chunked: chunked) { [weak self] in self?.streamWake() }
    }

    /// A producer queued bytes or ended: wake the loop (any thread).
    func streamWake() {
        inbox.withLock { inbox in
            guard !inbox.closed else { return }
            wake()
        }
    }

    /// Gives every streaming connection whose output has drained its next batch (loop thread).
    func pumpStreams() {
        for connection in Array(connections.values) where connection.stream != nil {
            guard connections[connection.fd] === connection, connection.outputOffset >= connection.output.count else { continue }
            if !continueStream(connection) {
                // The body ended with nothing more to send: finish the response as usual.
                perform([], on: connection)
            }
        }
    }

    /// Called when `connection`'s output has drained. True while its body still streams (more
    /// output was queued, or the producer has not written more yet); false once it has ended.
    func continueStream(_ connection: Connection) -> Bool {
        guard let stream = connection.stream else { return false }
        connection.state.wroteSome(now: Self.now())
        let (bytes, finished) = stream.take()
        if finished { connection.stream = nil }
        if !bytes.isEmpty {
            connection.output = bytes
            connection.outputOffset = 0
            updateInterest(connection)
            return true
        }
        if finished { return false }
        updateInterest(connection)
        return true
    }
}
