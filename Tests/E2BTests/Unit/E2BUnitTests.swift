import Foundation
import Testing
import PluginKit
@testable import E2B

/// The E2B plugin's pure pieces: wire encodings, the config, retry timing and error mapping.
@Suite struct E2BUnitTests {
    @Test func metadataFilterIsEncodedLikeTheOfficialSDK() {
        // The SDK's wire for {'k': 'v w'}: pairs quoted, form-encoded, then encoded as the query value.
        #expect(QueryEncoding.metadataFilter([("k", "v w")]) == "k%3Dv%252520w")
        #expect(QueryEncoding.metadataFilter([("sandboxer.host", "host-1a")]) == "sandboxer.host%3Dhost-1a")
        #expect(QueryEncoding.metadataFilter([("a", "1"), ("b/c", "x&y")]) == "a%3D1%26b%252Fc%3Dx%252526y")
        #expect(QueryEncoding.strict("standin/snap:default") == "standin%2Fsnap%3Adefault")
    }

    @Test func connectEnvelopesMatchTheGoldenBytes() throws {
        // The SDK's commands.run("echo hi") request envelope, from the contract notes.
        let json = #"{"process":{"cmd":"/bin/bash","args":["-l","-c","echo hi"]},"stdin":false}"#
        let frame = ConnectFrameDecoder.envelope(Array(json.utf8))
        #expect(Array(frame.prefix(5)) == [0x00, 0x00, 0x00, 0x00, 0x4a])

        var decoder = ConnectFrameDecoder(maxPayload: 1024)
        let stream = frame + ConnectFrameDecoder.envelope(Array("{}".utf8), flags: 0x02)
        var frames: [ConnectFrameDecoder.Frame] = []
        // Byte by byte: envelopes may be split anywhere.
        for byte in stream { frames += try [byte].withUnsafeBytes { try decoder.feed($0) } }
        #expect(frames.count == 2)
        #expect(frames[0].payload == Array(json.utf8) && !frames[0].isEndOfStream)
        #expect(frames[1].isEndOfStream && frames[1].payload == Array("{}".utf8))
        #expect(decoder.pendingBytes == 0)

        var small = ConnectFrameDecoder(maxPayload: 10)
        #expect(throws: ConnectFrameDecoder.Failure.tooLarge(74)) { _ = try frame.withUnsafeBytes { try small.feed($0) } }
        var compressed = ConnectFrameDecoder()
        #expect(throws: ConnectFrameDecoder.Failure.compressed) { _ = try [UInt8]([1, 0, 0, 0, 0]).withUnsafeBytes { try compressed.feed($0) } }
    }

    @Test func execStreamReadsEventsAndMapsSignals() {
        let context = E2BContext.sandbox("exec", "sbx-1")
        var started: [UInt32] = []
        let stream = ExecStream(context: context, maxOutput: 4) { pid in started.append(pid) }
        let events = [
            #"{"event":{"start":{"pid":42}}}"#, #"{"event":{"keepalive":{}}}"#,
            #"{"event":{"data":{"stdout":"aGkK"}}}"#, #"{"event":{"data":{"stderr":"b29wcwo="}}}"#,
            #"{"event":{"data":{"stdout":"bW9yZQo="}}}"#, #"{"event":{"end":{"exitCode":-1,"status":"signal: killed"}}}"#,
        ]
        var bytes: [UInt8] = []
        for e in events { bytes += ConnectFrameDecoder.envelope(Array(e.utf8)) }
        bytes += ConnectFrameDecoder.envelope(Array("{}".utf8), flags: 2)
        #expect(bytes.withUnsafeBytes { stream.feed(status: 200, chunk: $0) })
        #expect(started == [42])
        #expect(stream.stdout == Data("hi\nm".utf8))   // bounded at 4 bytes
        #expect(stream.droppedBytes == 4 + 1)   // "more\n" cut to "m", "oops\n" to "oops"
        #expect(stream.stderr == Data("oops".utf8))
        #expect(stream.exit?.code == 137)
        #expect(stream.sawEndOfStream && stream.streamError == nil)

        #expect(ExecStream.exitCode(["exitCode": 3, "exited": true, "status": "exit status 3"]) == 3)
        #expect(ExecStream.exitCode(["exited": true, "status": "exit status 0"]) == 0)
        #expect(ExecStream.exitCode(["exitCode": -1, "status": "signal: terminated"]) == 143)

        let bad = ExecStream(context: context) { _ in }
        let garbage = ConnectFrameDecoder.envelope(Array("not json".utf8))
        #expect(!garbage.withUnsafeBytes { bad.feed(status: 200, chunk: $0) })
        #expect(bad.failure?.code == .internal)
        #expect(bad.failure?.message.hasPrefix("E2B exec of sandbox sbx-1 failed: ") == true)
    }

    @Test func configDefaultsAndRefusals() throws {
        let defaults = try E2BConfig(json: .object([:]))
        #expect(defaults == E2BConfig())
        #expect(defaults.apiURL == "https://api.e2b.app" && defaults.domain == "e2b.app" && defaults.maxTimeoutSeconds == 86_400)
        let local = try E2BConfig(json: .object(["api_url": .string("http://127.0.0.1:8080/"), "max_timeout": .string("1h"),
                                                 "sandbox_url": .string("http://[::1]:9"), "template": .string("python"), "domain": .null]))
        #expect(local.apiURL == "http://127.0.0.1:8080" && local.maxTimeoutSeconds == 3600 && local.template == "python")
        #expect(local.envdURL(sandboxID: "abc", domain: nil) == "http://[::1]:9")
        #expect(defaults.envdURL(sandboxID: "abc", domain: nil) == "https://49983-abc.e2b.app")
        #expect(try E2BConfig(json: .object(["max_timeout": .number(600)])).maxTimeoutSeconds == 600)
        // The host adds data_dir to every backend's config.
        #expect(try E2BConfig(json: .object(["data_dir": .string("/var/lib/sandboxer/backends/e2b")])) == E2BConfig())

        for bad: [String: JSONValue] in [["api_url": .string("http://api.e2b.app")], ["api_url": .string("ftp://x")],
                                         ["api_url": .string("https://x/path")], ["sandbox_url": .string("http://10.0.0.1")],
                                         ["max_timeout": .string("1.5h")], ["max_timeout": .string("0s")], ["domain": .string("a b")],
                                         ["api_key": .string("secret-in-config")], ["template": .string("")]] {
            #expect(throws: PluginError.self, "\(bad)") { _ = try E2BConfig(json: .object(bad)) }
        }
        do { _ = try E2BConfig(json: .object(["apikey": .string("sekrit")])) } catch {
            #expect(!error.message.contains("sekrit"))
        }
    }

    @Test func retryWaitsGrowWithJitterAndHonourRetryAfter() {
        let policy = RetryPolicy()
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, random: 1) == 0.25)
        #expect(policy.delay(afterAttempt: 3, retryAfter: nil, random: 1) == 1.0)
        #expect(policy.delay(afterAttempt: 10, retryAfter: nil, random: 1) == 4.0)
        #expect(policy.delay(afterAttempt: 2, retryAfter: nil, random: 0.5) == 0.25)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 2, random: 0) == 2)
        #expect(policy.delay(afterAttempt: 1, retryAfter: 3600, random: 0) == 30)
        let now = Date(timeIntervalSince1970: 1_700_000_000)
        #expect(RetryPolicy.retryAfter("3", now: now) == 3)
        #expect(RetryPolicy.retryAfter("Tue, 14 Nov 2023 22:13:25 GMT", now: now) == 5)
        #expect(RetryPolicy.retryAfter("soon", now: now) == nil)
        #expect(RetryPolicy.retryAfter(nil, now: now) == nil)
    }

    @Test func statusesMapToTheABICodesInOneSentence() {
        let context = E2BContext.sandbox("create", "sbx-1")
        let body = Array(#"{"code":429,"message":"Too many\nrequests."}"#.utf8)
        let cases: [(Int, PluginError.Code)] = [(400, .invalidRequest), (401, .invalidRequest), (403, .invalidRequest), (404, .notFound),
                                                (409, .conflict), (429, .quota), (500, .unavailable), (502, .unavailable), (503, .unavailable)]
        for (status, code) in cases {
            let error = E2BFailure.status(status, body: body, context: context, secretName: "e2b")
            #expect(error.code == code, "\(status)")
            #expect(error.message.hasPrefix("E2B create of sandbox sbx-1 failed: "))
            #expect(!error.message.contains("\n") && error.message.hasSuffix("."))
        }
        #expect(E2BFailure.status(401, body: [], context: context, secretName: "e2b").message.contains("secret 'e2b'"))
        #expect(E2BPlugin.isUsableId("i8abc-d9") && !E2BPlugin.isUsableId("../x") && !E2BPlugin.isUsableId(""))
        let key = E2BPlugin.idempotencyKey(sandboxId: "sbx-00112233aabbccdd")
        #expect(key.hasPrefix("sbx-00112233aabbccdd-") && key.count == "sbx-00112233aabbccdd-".count + 8)
        #expect(key != E2BPlugin.idempotencyKey(sandboxId: "sbx-00112233aabbccdd"))
    }
}
