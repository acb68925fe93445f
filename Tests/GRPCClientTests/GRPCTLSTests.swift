import Foundation
@testable import GRPCClient
import Testing

/// https:// is HTTP/2 over TLS with verification always on: a server whose certificate the client
/// trusts (a private CA given as `caBundlePath`) works; the same server untrusted fails.
@Suite(.enabled(if: GRPCTestServer.isAvailable && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"),
                "needs python3 with venv and PyPI (grpclib) and /usr/bin/openssl for a TLS gRPC server on loopback"))
struct GRPCTLSTests {
    @Test func verifiedTLSWorksAndUnverifiedFails() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("grpc-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let cert = directory.appendingPathComponent("cert.pem").path, key = directory.appendingPathComponent("key.pem").path
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        openssl.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                             "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
                             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        try #require(openssl.terminationStatus == 0)

        let python = try GRPCTestServer.python.get()
        let server = try GRPCTestServer.start(python: python, arguments: ["--tls-cert", cert, "--tls-key", key]).get()
        defer { server.stop() }

        let trusted = try GRPCClient(url: "https://127.0.0.1:\(server.port)", configuration: GRPCClientConfiguration(caBundlePath: cert))
        for index in 0..<3 {
            #expect(try trusted.unary("/test.Echo/Unary", request: [UInt8(index)], options: GRPCCallOptions(timeout: 10)).message == [UInt8(index)])
        }
        #expect(trusted.connectionsOpened == 1)

        let untrusted = try GRPCClient(url: "https://127.0.0.1:\(server.port)")
        do {
            _ = try untrusted.unary("/test.Echo/Unary", request: [1], options: GRPCCallOptions(timeout: 10))
            Issue.record("an unverified certificate was accepted")
        } catch {
            #expect(error.code == .unavailable)
            #expect(!error.fromServer)
        }
    }
}
