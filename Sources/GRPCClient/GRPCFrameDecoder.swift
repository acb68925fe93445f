/// Cuts a response body into gRPC messages as its bytes arrive, in chunks of any size.
///
/// Refuses compressed frames (the client offers no compression, so one is a protocol error) and
/// frames above `maxMessageBytes`, checking the length before buffering anything of the payload.
public struct GRPCFrameDecoder: Sendable {
    public let maxMessageBytes: Int
    private var header: [UInt8] = []
    private var payload: [UInt8] = []
    private var expected: Int?

    public init(maxMessageBytes: Int) { self.maxMessageBytes = maxMessageBytes }

    /// Whether the bytes so far end on a frame boundary (else the body ended inside a message).
    public var isAtBoundary: Bool { header.isEmpty && expected == nil }

    /// Consumes `chunk`, calling `deliver` with each message it completes, in order.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ deliver: ([UInt8]) throws(GRPCStatus) -> Void) throws(GRPCStatus) {
        var index = 0
        while index < chunk.count {
            if let length = expected {
                let take = min(length - payload.count, chunk.count - index)
                payload.append(contentsOf: chunk[index..<index + take])
                index += take
            } else {
                header.append(chunk[index])
                index += 1
                guard header.count == GRPCFrame.headerLength else { continue }
                expected = try Self.checkHeader(header, limit: maxMessageBytes)
                header.removeAll(keepingCapacity: true)
                payload = []
                payload.reserveCapacity(min(expected ?? 0, 64 << 10))
            }
            if let length = expected, payload.count == length {
                expected = nil
                let message = payload
                payload = []
                try deliver(message)
            }
        }
    }

    /// Convenience for arrays (tests, fuzzing).
    public mutating func feed(_ bytes: [UInt8], _ deliver: ([UInt8]) throws(GRPCStatus) -> Void) throws(GRPCStatus) {
        // withUnsafeBytes rethrows untyped errors: carry the status out by hand.
        var failure: GRPCStatus?
        bytes.withUnsafeBytes { buffer in
            do throws(GRPCStatus) { try feed(buffer, deliver) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// The payload length a frame header announces, or why the frame is refused.
    static func checkHeader(_ header: [UInt8], limit: Int) throws(GRPCStatus) -> Int {
        let length = header[1...4].reduce(0) { $0 << 8 | Int($1) }
        switch header[0] {
        case 0: break
        case 1:
            throw GRPCStatus(code: .internal, message: "The server sent a compressed message; this client does not offer compression and refuses it.")
        default:
            throw GRPCStatus(code: .internal, message: "The server sent a message frame with the invalid flag byte \(header[0]).")
        }
        guard length <= limit else {
            throw GRPCStatus(code: .resourceExhausted, message: "The server sent a message of \(length) bytes, above the client's limit of \(limit) bytes.")
        }
        return length
    }
}
