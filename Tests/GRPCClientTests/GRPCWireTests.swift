@testable import GRPCClient
import Testing

/// Status parsing, timeouts, addresses and metadata checks: no server needed.
@Suite struct GRPCWireTests {
    @Test func allSeventeenCodes() {
        #expect(GRPCStatus.Code.allCases.count == 17)
        #expect(GRPCStatus.Code.allCases.map(\.rawValue) == Array(0...16))
        #expect(GRPCStatus.Code.deadlineExceeded.name == "DEADLINE_EXCEEDED")
        #expect(GRPCStatus.Code.unauthenticated.name == "UNAUTHENTICATED")
    }

    @Test(arguments: [(400, GRPCStatus.Code.internal), (401, .unauthenticated), (403, .permissionDenied), (404, .unimplemented),
                      (429, .unavailable), (502, .unavailable), (503, .unavailable), (504, .unavailable), (500, .unknown), (200, .unknown)])
    func httpStatusMapping(_ http: Int, _ code: GRPCStatus.Code) {
        #expect(GRPCStatus.Code(httpStatus: http) == code)
    }

    @Test(arguments: [
        ("plain", "plain"), ("100%25%20done", "100% done"), ("%E2%9C%93 ok", "✓ ok"),
        ("100%", "100%"), ("%4", "%4"), ("%zz%41", "%zzA"), ("%FF", "\u{FFFD}"), ("", ""),
    ])
    func grpcMessageIsPercentDecoded(_ wire: String, _ text: String) {
        #expect(GRPCStatus.percentDecoded(wire) == text)
    }

    @Test func statusFromHeaders() {
        #expect(GRPCStatus.fromHeaders(status: nil, message: "x") == nil)
        #expect(GRPCStatus.fromHeaders(status: "5", message: "no%20such") == GRPCStatus(code: .notFound, message: "no such", fromServer: true))
        #expect(GRPCStatus.fromHeaders(status: "0", message: nil)?.code == .ok)
        #expect(GRPCStatus.fromHeaders(status: "17", message: nil)?.code == .unknown)
        #expect(GRPCStatus.fromHeaders(status: "abc", message: "m")?.code == .unknown)
    }

    @Test(arguments: [(0.5, "500000u"), (30.0, "30000000u"), (100.0, "100000m"), (1e-10, "1n"),
                      (200_000.0, "200000S"), (1e9, "16666667M"), (1e12, "99999999H")])
    func grpcTimeoutHeader(_ seconds: Double, _ header: String) {
        #expect(GRPCTimeout.headerValue(seconds: seconds) == header)
    }

    @Test(arguments: ["http://127.0.0.1:50051", "http://localhost:1", "http://[::1]:8080", "http://127.9.9.9", "https://api.modal.com",
                      "https://10.0.0.1:443/", "http://[::ffff:127.0.0.1]:1"])
    func acceptedAddresses(_ url: String) throws {
        _ = try GRPCClient(url: url)
    }

    @Test(arguments: [
        ("http://api.modal.com", "only to a loopback host"), ("http://10.0.0.1:50051", "only to a loopback host"),
        ("http://[::2]:1", "only to a loopback host"), ("http://128.0.0.1", "only to a loopback host"),
        ("ftp://127.0.0.1", "http:// or https://"), ("127.0.0.1:50051", "http:// or https://"),
        ("https://user:pw@api.modal.com", "user name or password"), ("https://api.modal.com/v1", "without a path"),
        ("https://api.modal.com/?q=1", "without a path"),
    ])
    func refusedAddresses(_ url: String, _ reason: String) {
        do {
            _ = try GRPCClient(url: url)
            Issue.record("\(url) was accepted")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains(reason), "\(error.message)")
            #expect(!error.message.contains("pw"))
        }
    }

    @Test func metadataIsCheckedWithoutEchoingValues() throws {
        #expect(try GRPCMetadata.headerLines([("X-Modal-Token-Id", "ak-1"), ("empty", "")]) == ["x-modal-token-id: ak-1", "empty;"])
        let secret = "as-SECRET-\u{7}-value"
        for metadata in [[("x-modal-token-secret", secret)], [("x-modal-token-secret", "line\r\nbreak-SECRET")]] {
            do {
                _ = try GRPCMetadata.headerLines(metadata)
                Issue.record("a control character was accepted")
            } catch {
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains("x-modal-token-secret"))
                #expect(!error.message.contains("SECRET"))
            }
        }
        for name in ["content-type", "te", "grpc-timeout", "grpc-status", "bad name", "", "naïve", ":path"] {
            #expect(throws: GRPCStatus.self) { try GRPCMetadata.headerLines([(name, "v")]) }
        }
        // Configured metadata is checked when the client is made.
        #expect(throws: GRPCStatus.self) { try GRPCClient(url: "http://127.0.0.1:1", configuration: GRPCClientConfiguration(metadata: [("te", "x")])) }
    }

    @Test(arguments: ["/modal.client.ModalClient/SandboxCreate", "/a/b"])
    func validPaths(_ path: String) throws { try GRPCMetadata.checkPath(path) }

    @Test(arguments: ["", "/", "Svc/Method", "/Svc", "/Svc/Method/extra", "/Svc/Me thod", "/Svc/M?x=1", "//Method", "/Svc/"])
    func invalidPaths(_ path: String) {
        #expect(throws: GRPCStatus.self) { try GRPCMetadata.checkPath(path) }
    }
}
