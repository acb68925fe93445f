import CCurl

/// Recognising an answer libcurl received and then lost, so the call can ask once more.
///
/// A server may answer a call from its request headers alone, before the client has sent the
/// message (an unknown method, bad credentials, a wrong content-type): a trailers-only HEADERS
/// with END_STREAM, then RST_STREAM(NO_ERROR) to stop the upload, as RFC 9113 section 8.1 allows
/// (grpclib does exactly this for an unknown method). The client must keep that answer.
///
/// libcurl 7.88 (Debian 12) sends a request's HEADERS and its DATA in separate steps, reading the
/// socket in between. When the answer and the reset arrive together in that gap, its
/// `cf_h2_recv` copies the header lines into the receive buffer, sees the stream closed and reset,
/// handles the (clean) close and returns 0 instead of the header bytes: they never reach the
/// header callback, and the headers API keeps only `:status`. The pending upload then fails with
/// CURLE_HTTP2_STREAM and no error text (`cf_h2_send`: "stream N closed", an info message). The
/// server's status is gone; `early_server.py` in the tests reproduces this on every call by
/// advertising a zero flow-control window, and it was seen under load with grpclib in CI. (8.0
/// has the same code; by 8.4 the rewritten filter keeps such an answer and drops the unsent
/// upload, so there this signature does not occur.)
///
/// gRPC's PROTOCOL-HTTP2.md ("Early Server Closure") names this exact sequence, so a status that
/// arrived must win. Asking again is safe only because the message never reached the server in
/// full: curl's upload count is below the framed message's size, so the server cannot have run
/// the call on it (gRPC frameworks start unary and server-streaming handlers once the message is
/// in; only a raw-stream handler that answers without reading its request could see a call
/// twice). The second attempt is made once, within what is left of the deadline; a second loss
/// is reported as the transport failure it is.
extension GRPCClient {
    /// What one attempt left behind that tells whether curl lost an early answer.
    struct AttemptTrace: Equatable {
        var result: CURLcode
        /// curl's error text; empty when it recorded none.
        var detail: String
        /// Whether anything of a response reached the client's callbacks (a status line, a
        /// failure they recorded, or a cancellation).
        var sawResponse: Bool
        /// Request bytes curl took from the client (CURLINFO_SIZE_UPLOAD_T); nil when unknown.
        var uploaded: Int?
        /// The framed request message's size.
        var requestBytes: Int
    }

    /// Whether the attempt matches curl losing a server's early answer, and may be made again.
    ///
    /// All of these must hold: curl failed the stream (CURLE_HTTP2_STREAM) without a reason of
    /// its own, which in 7.88 only happens after it handled a clean close of a stream whose final
    /// response headers it had received; none of those headers reached us; and the message was
    /// not handed over in full. Any other failure, or one after the whole message went out, is
    /// never retried: the server may have acted on it.
    static func lostEarlyAnswer(_ trace: AttemptTrace) -> Bool {
        guard trace.result == CURLE_HTTP2_STREAM, trace.detail.isEmpty, !trace.sawResponse,
              let uploaded = trace.uploaded else { return false }
        return uploaded >= 0 && uploaded < trace.requestBytes
    }

    /// Request bytes the last transfer on the handle took from the client, or nil.
    func uploadedBytes() -> Int? {
        // CURLINFO_SIZE_UPLOAD_T writes a curl_off_t through the `long *` of ccurl_get_long; both
        // are Swift's Int on 64-bit Linux, and this line stops the build where they are not.
        let _: curl_off_t.Type = Int.self
        var uploaded = 0
        return ccurl_get_long(handle, CURLINFO_SIZE_UPLOAD_T, &uploaded) == CURLE_OK ? uploaded : nil
    }
}
