import CCurl
@testable import GRPCClient
import Testing

/// When the client may ask again after a failed attempt: only for the signature of libcurl losing
/// a server's early answer, and never once the whole message was handed over.
struct GRPCLostAnswerRuleTests {
    typealias Trace = GRPCClient.AttemptTrace

    /// The signature: CURLE_HTTP2_STREAM without curl's own reason, no response seen, message not all sent.
    static let lost = Trace(result: CURLE_HTTP2_STREAM, detail: "", sawResponse: false, uploaded: 0, requestBytes: 5)

    @Test func theSignatureIsRetried() {
        #expect(GRPCClient.lostEarlyAnswer(Self.lost))
        var partial = Self.lost
        partial.uploaded = 4
        #expect(GRPCClient.lostEarlyAnswer(partial))
    }

    @Test func aMessageHandedOverInFullIsNeverRetried() {
        var trace = Self.lost
        trace.uploaded = 5
        #expect(!GRPCClient.lostEarlyAnswer(trace))
        trace.uploaded = nil   // unknown counts as sent
        #expect(!GRPCClient.lostEarlyAnswer(trace))
    }

    @Test(arguments: [CURLE_OK, CURLE_HTTP2, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_OPERATION_TIMEDOUT, CURLE_ABORTED_BY_CALLBACK, CURLE_COULDNT_CONNECT])
    func otherResultsAreNotRetried(_ result: CURLcode) {
        var trace = Self.lost
        trace.result = result
        #expect(!GRPCClient.lostEarlyAnswer(trace))
    }

    @Test func curlsOwnReasonOrASeenResponseIsNotRetried() {
        var reasoned = Self.lost
        reasoned.detail = "HTTP/2 stream 3 was not closed cleanly: CANCEL (err 8)"
        #expect(!GRPCClient.lostEarlyAnswer(reasoned))
        var seen = Self.lost
        seen.sawResponse = true
        #expect(!GRPCClient.lostEarlyAnswer(seen))
    }
}
