import FoundationEssentials
import Glibc

/// An incremental, pure HTTP/1.1 request parser: bytes in, complete requests (or one protocol error)
/// out. No sockets and no clock, so it can be fed byte by byte in tests and by a fuzzer.
///
/// Strict by design (RFC 9112 where it allows a choice): CRLF line endings only (a bare LF or CR is
/// a 400), no obs-fold, single spaces in the request line, origin-form targets, exactly one Host on
/// HTTP/1.1, bodies framed by one Content-Length only (any Transfer-Encoding is a 411). After an
/// error the parser stays failed and ignores further input: the connection is answered and closed.
public struct HTTPRequestParser: Sendable {
    /// What feeding bytes produced, in order.
    public enum Event: Sendable, Equatable {
        /// A complete request (headers and the whole body).
        case request(HTTPRequest)
        /// The client sent `Expect: 100-continue` and waits for a `100 Continue` before its body.
        case continueExpected
        /// The input is not an acceptable request; answer `error.status` and close.
        case error(HTTPProtocolError)
    }

    private enum State: Sendable {
        case head
        case body(HTTPRequest, length: Int)
        case failed
    }

    /// Limit on the request line plus headers, including the blank line that ends them.
    public let maxHeaderBytes: Int
    /// Limit on Content-Length; larger requests are refused before their body is read.
    public let maxBodyBytes: Int

    private var buffer: [UInt8] = []
    /// Index of the first byte not yet consumed.
    private var start = 0
    /// How many bytes of the current head were already searched for its end (no rescans when fed slowly).
    private var scanned = 0
    private var state: State = .head

    public init(maxHeaderBytes: Int = 16 * 1024, maxBodyBytes: Int = 1 << 20) {
        self.maxHeaderBytes = max(maxHeaderBytes, 16)
        self.maxBodyBytes = max(maxBodyBytes, 0)
    }

    /// Adds received bytes and returns every event they complete.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [Event] {
        if case .failed = state { return [] }
        buffer.append(contentsOf: bytes)
        var events: [Event] = []
        while let event = step() {
            events.append(event)
            if case .error = event { break }
        }
        compact()
        return events
    }

    /// Adds received bytes and returns every event they complete.
    public mutating func feed(_ bytes: [UInt8]) -> [Event] {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Whether bytes of an unfinished request are buffered (a head or body is under way).
    public var hasPartialRequest: Bool {
        switch state {
        case .head: return start < buffer.count
        case .body: return true
        case .failed: return false
        }
    }

    /// Whether the head of the current request is complete and its body is being received.
    public var isReadingBody: Bool {
        if case .body = state { return true }
        return false
    }

    /// Whether the parser has reported an error and ignores further input.
    public var hasFailed: Bool {
        if case .failed = state { return true }
        return false
    }

    private var available: Int { buffer.count - start }

    private mutating func step() -> Event? {
        switch state {
        case .failed:
            return nil
        case .body(var request, let length):
            guard available >= length else { return nil }
            request.body = Data(buffer[start..<(start + length)])
            start += length
            state = .head
            return .request(request)
        case .head:
            return stepHead()
        }
    }

    private mutating func stepHead() -> Event? {
        // RFC 9112 §2.2: ignore empty lines received before a request-line (old clients add CRLF after a body).
        while scanned == 0, available >= 2, buffer[start] == 13, buffer[start + 1] == 10 { start += 2 }
        let limit = min(available, maxHeaderBytes)
        var end: Int?
        var i = scanned
        while i < limit {
            if buffer[start + i] == 10 {
                guard i > 0, buffer[start + i - 1] == 13 else {
                    return fail(.badRequest("The request contains a bare LF; lines must end with CRLF."))
                }
                if i >= 3, buffer[start + i - 2] == 10, buffer[start + i - 3] == 13 {
                    end = i + 1
                    break
                }
            }
            i += 1
        }
        guard let end else {
            // Keep the last 3 bytes unscanned so a terminator split across feeds is still seen.
            scanned = max(0, limit - 3)
            if available >= maxHeaderBytes { return fail(.headerTooLarge(limit: maxHeaderBytes)) }
            return nil
        }
        let head = Array(buffer[start..<(start + end - 4)])
        start += end
        scanned = 0
        switch HTTPRequestParser.parseHead(head, maxBodyBytes: maxBodyBytes) {
        case .failure(let error):
            return fail(error)
        case .success(let (request, length, expectContinue)):
            guard length > 0 else { return .request(request) }
            state = .body(request, length: length)
            if expectContinue, available == 0 { return .continueExpected }
            return step()
        }
    }

    private mutating func fail(_ error: HTTPProtocolError) -> Event {
        state = .failed
        buffer = []
        start = 0
        return .error(error)
    }

    private mutating func compact() {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 64 * 1024)
            start = 0
        } else if start > 4096, start * 2 > buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
    }
}
