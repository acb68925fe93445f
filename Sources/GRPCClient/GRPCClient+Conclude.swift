import Basics
import CCurl

/// Turning what libcurl and the collector saw into the call's outcome or its status.
extension GRPCClient {
    func conclude(_ result: CURLcode, detail: String, collector: GRPCCallCollector, path: String, timeout: Double?) throws(GRPCStatus) -> GRPCClient.Outcome {
        // A reason our own callbacks recorded beats the curl code it caused (WRITE_ERROR, ABORTED…).
        if let failure = collector.failure { throw failure }
        if collector.cancelled {
            throw GRPCStatus(code: .cancelled, message: "The call to \(path) was cancelled.")
        }
        guard result == CURLE_OK else {
            // The server may have sent its status before the transport failed; it is the better answer.
            if let status = collector.serverStatus, status.code != .ok { throw status }
            throw transportStatus(result, detail: detail, path: path, timeout: timeout)
        }
        guard let status = collector.serverStatus else {
            if let http = collector.httpStatus, http != 200 {
                throw GRPCStatus(code: GRPCStatus.Code(httpStatus: http), message: "The server answered the call to \(path) with HTTP \(http) and no gRPC status.")
            }
            throw GRPCStatus(code: .unknown, message: "The server ended the call to \(path) without a grpc-status.")
        }
        guard status.code == .ok else { throw status }
        guard collector.endedOnBoundary else {
            throw GRPCStatus(code: .internal, message: "The response to \(path) ended in the middle of a message.")
        }
        return Outcome(headers: collector.headers, trailers: collector.trailers, messageCount: collector.messageCount)
    }

    /// The status for a call that got no gRPC status because the transport failed.
    private func transportStatus(_ result: CURLcode, detail: String, path: String, timeout: Double?) -> GRPCStatus {
        var reason = detail.trimmed()
        if reason.isEmpty { reason = String(cString: ccurl_easy_strerror(result)) }
        while reason.hasSuffix(".") { reason.removeLast() }
        switch result {
        case CURLE_OPERATION_TIMEDOUT:
            let limit = timeout.map { "its deadline of \($0) s" } ?? "the connect timeout of \(configuration.connectTimeout) s"
            return GRPCStatus(code: .deadlineExceeded, message: "The call to \(path) at \(target.origin) did not finish within \(limit).")
        case CURLE_ABORTED_BY_CALLBACK:
            return GRPCStatus(code: .cancelled, message: "The call to \(path) was cancelled.")
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            return GRPCStatus(code: .invalidArgument, message: "The call to \(path) at \(target.origin) could not be made: \(reason).")
        case CURLE_OUT_OF_MEMORY:
            return GRPCStatus(code: .resourceExhausted, message: "The call to \(path) ran out of memory: \(reason).")
        default:
            return GRPCStatus(code: .unavailable, message: "The call to \(path) at \(target.origin) failed in transport: \(reason).")
        }
    }
}
