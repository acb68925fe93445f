import FoundationEssentials
import Glibc
import Basics

/// The state of one call while libcurl runs it: headers and trailers as they arrive, the body cut
/// into messages and handed on, the first failure, and the cancellation check.
///
/// Used only on the thread inside `curl_easy_perform`, through an unretained pointer the client
/// keeps alive for the whole call.
final class GRPCCallCollector {
    private(set) var headers: [(name: String, value: String)] = []
    private(set) var trailers: [(name: String, value: String)] = []
    private(set) var httpStatus: Int?
    /// The first reason the client aborted the transfer from a callback.
    private(set) var failure: GRPCStatus?
    private(set) var messageCount = 0
    private(set) var cancelled = false
    private var decoder: GRPCFrameDecoder
    private var headerBytes = 0
    private var headerBlockDone = false
    private var checkedContentType = false
    private let maxHeaderBytes: Int
    private let isCancelled: (@Sendable () -> Bool)?
    private let deliver: ([UInt8]) throws(GRPCStatus) -> Void

    init(maxMessageBytes: Int, maxHeaderBytes: Int, isCancelled: (@Sendable () -> Bool)?,
         deliver: @escaping ([UInt8]) throws(GRPCStatus) -> Void) {
        self.decoder = GRPCFrameDecoder(maxMessageBytes: maxMessageBytes)
        self.maxHeaderBytes = maxHeaderBytes
        self.isCancelled = isCancelled
        self.deliver = deliver
    }

    /// Whether the body ended between messages.
    var endedOnBoundary: Bool { decoder.isAtBoundary }

    /// Body bytes; false aborts the transfer (a refused frame, or the handler said stop).
    func body(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard failure == nil else { return false }
        if !checkedContentType {
            checkedContentType = true
            let type = headers.value(of: "content-type") ?? ""
            guard type == "application/grpc" || type.hasPrefix("application/grpc+") || type.hasPrefix("application/grpc;") else {
                let code = httpStatus == 200 ? GRPCStatus.Code.unknown : GRPCStatus.Code(httpStatus: httpStatus ?? 0)
                failure = GRPCStatus(code: code, message: "The server answered HTTP \(httpStatus ?? 0) with content-type '\(type.prefix(64))' instead of a gRPC response.")
                return false
            }
        }
        do {
            try decoder.feed(chunk) { (message: [UInt8]) throws(GRPCStatus) in
                messageCount += 1
                try deliver(message)
            }
            return true
        } catch {
            failure = error
            return false
        }
    }

    /// One header line. The first block is the response headers; lines after it are trailers.
    func header(_ line: UnsafeRawBufferPointer) -> Bool {
        headerBytes += line.count
        guard headerBytes <= maxHeaderBytes else {
            failure = failure ?? GRPCStatus(code: .resourceExhausted, message: "The server's headers and trailers exceeded the client's limit of \(maxHeaderBytes) bytes.")
            return false
        }
        let text = String(decoding: line, as: UTF8.self).trimmed()
        if text.hasPrefix("HTTP/") {
            let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
            // Interim answers (an h2c upgrade's 101) are followed by the real one.
            if (100..<200).contains(status) { return true }
            // gRPC needs HTTP/2 (trailers); an HTTP/1.1 answer means the server did not negotiate it.
            guard text.hasPrefix("HTTP/2") else {
                failure = failure ?? GRPCStatus(code: .unavailable, message: "The server did not answer over HTTP/2, which gRPC requires.")
                return false
            }
            headers.removeAll()
            headerBlockDone = false
            httpStatus = status
            return true
        }
        if text.isEmpty { headerBlockDone = true; return true }
        guard let colon = text.firstIndex(of: ":") else { return true }
        let name = text[..<colon].lowercased()
        let value = String(text[text.index(after: colon)...]).trimmingSpaces()
        if headerBlockDone { trailers.append((name, value)) } else { headers.append((name, value)) }
        return true
    }

    /// libcurl's progress callback: true aborts the transfer.
    func shouldAbort() -> Bool {
        if failure != nil { return true }
        if let isCancelled, isCancelled() { cancelled = true; return true }
        return false
    }

    /// The status the server sent: from the trailers, or from the single header block of a
    /// trailers-only answer; nil when there was none.
    var serverStatus: GRPCStatus? {
        if let status = GRPCStatus.fromHeaders(status: trailers.value(of: "grpc-status"), message: trailers.value(of: "grpc-message")) {
            return status
        }
        return GRPCStatus.fromHeaders(status: headers.value(of: "grpc-status"), message: headers.value(of: "grpc-message"))
    }
}
