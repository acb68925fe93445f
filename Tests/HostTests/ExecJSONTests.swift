import FoundationEssentials
import Testing
@testable import PluginProtocol

/// The whole-buffer `exec` messages written and read without `Codable` (`Messages+ExecJSON`) are byte
/// for byte what `JSONEncoder` with `.sortedKeys` writes, and read what `JSONDecoder` reads (and refuse
/// what it refuses, in the same words).
@Suite struct ExecJSONTests {
    static let requests: [ExecRequest] = [
        ExecRequest(sandboxId: "sbx-1", backendRef: "sbx-1", argv: ["true"]),
        ExecRequest(sandboxId: "sbx-2", backendRef: "ref/2", argv: ["sh", "-c", ExecStreamJSONTests.awkward, ""],
                    env: ["A_B": "1", "AB": "2", "a": ExecStreamJSONTests.awkward, "_x": "", "é": "e", "Z": "/"],
                    stdinB64: Data([0, 1, 2, 250, 255]).base64EncodedString(), timeoutSeconds: 30, maxOutputBytes: 1 << 20),
        ExecRequest(sandboxId: "s", backendRef: "r", argv: [], env: [:], stdinB64: "", timeoutSeconds: -1, maxOutputBytes: 0),
    ]

    static let responses: [ExecResponse] = [
        ExecResponse(exitCode: 0, stdout: Data(), stderr: Data()),
        ExecResponse(exitCode: 137, stdout: Data((0..<255).map { UInt8($0) }), stderr: Data("oops/\n".utf8), timedOut: true,
                     stdoutTruncated: true, stderrTruncated: false),
        ExecResponse(exitCode: -1, stdout: Data("x".utf8), stderr: Data(), timedOut: false, stdoutTruncated: nil, stderrTruncated: true),
    ]

    @Test func bothWaysAreJSONEncodersBytes() throws {
        for request in Self.requests {
            #expect(ExecStreamJSONTests.text(request.jsonData) == (try ExecStreamJSONTests.encoded(request)))
            #expect(try ExecRequest(json: request.jsonData) == request)
        }
        for response in Self.responses {
            #expect(ExecStreamJSONTests.text(response.jsonData) == (try ExecStreamJSONTests.encoded(response)))
            #expect(try ExecResponse(json: response.jsonData) == response)
        }
    }

    @Test func aMegabyteOfOutputRoundTrips() throws {
        let bytes = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let response = ExecResponse(exitCode: 3, stdout: bytes, stderr: bytes.prefix(1000))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(response.jsonData == (try encoder.encode(response)))
        let back = try ExecResponse(json: response.jsonData)
        #expect(back == response && back.stdout == bytes)
    }

    @Test func readsWhatJSONDecoderReads() throws {
        let text = #" { "sandbox_id" : "s", "backend_ref":"r", "argv":["a\/b","\u00e9"], "env":{}, "stdin_b64":null, "extra":[1] } "#
        let mine = try ExecRequest(json: Data(text.utf8))
        #expect(mine == (try JSONDecoder().decode(ExecRequest.self, from: Data(text.utf8))))
        let answer = #"{"exit_code":2,"stdout_b64":"eA==","stderr_b64":"","timed_out":false,"stdout_truncated":null}"#
        #expect(try ExecResponse(json: Data(answer.utf8)) == (try JSONDecoder().decode(ExecResponse.self, from: Data(answer.utf8))))
    }

    @Test(arguments: [
        (#"{"backend_ref":"r","argv":[],"env":{}}"#, "missing key 'sandbox_id'"),
        (#"{"sandbox_id":"s","backend_ref":"r","argv":[]}"#, "missing key 'env'"),
        (#"{"sandbox_id":"s","backend_ref":"r","argv":[],"env":{},"max_output_bytes":1.5}"#, "wrong type at 'max_output_bytes'"),
        (#"{"sandbox_id":"s","backend_ref":"r","argv":[],"env":{},"stdin_b64":7}"#, "wrong type at 'stdin_b64'"),
    ])
    func requestRefusesWhatJSONDecoderRefuses(text: String, reason: String) {
        #expect((try? JSONDecoder().decode(ExecRequest.self, from: Data(text.utf8))) == nil, "JSONDecoder reads \(text)")
        do { _ = try ExecRequest(json: Data(text.utf8)); Issue.record("read \(text)") } catch { #expect(error.description == reason) }
    }

    @Test(arguments: [
        (#"{"stdout_b64":"","stderr_b64":"","timed_out":false}"#, "missing key 'exit_code'"),
        (#"{"exit_code":4294967296,"stdout_b64":"","stderr_b64":"","timed_out":false}"#, "wrong type at 'exit_code'"),
        (#"{"exit_code":0,"stderr_b64":"","timed_out":false}"#, "missing key 'stdout_b64'"),
        (#"{"exit_code":0,"stdout_b64":"","stderr_b64":"","timed_out":"no"}"#, "wrong type at 'timed_out'"),
    ])
    func responseRefusesWhatJSONDecoderRefuses(text: String, reason: String) {
        #expect((try? JSONDecoder().decode(ExecResponse.self, from: Data(text.utf8))) == nil, "JSONDecoder reads \(text)")
        do { _ = try ExecResponse(json: Data(text.utf8)); Issue.record("read \(text)") } catch { #expect(error.description == reason) }
    }
}
