import Foundation
import Testing
@testable import Basics
@testable import HTTPServer
@testable import YAMLSubset
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Store
@testable import Backends
@testable import Lifecycle
@testable import Webhooks
@testable import API
@testable import CLI

/// The signed message: a fixed vector (computed independently with Python's hmac module), the body's
/// shape, the headers, and `verify` as the documented receiver recipe.
@Suite struct WebhookSignatureTests {
    static let event = SandboxEvent(seq: 42, sandboxId: "sbx-00000000000000aa", type: .created,
                                    at: Date(timeIntervalSince1970: 1_800_000_000), data: [:])
    static let body = #"{"at":"2027-01-15T08:00:00Z","data":{},"id":"evt_0123456789abcdef_42","sandbox_id":"sbx-00000000000000aa","seq":42,"type":"created"}"#
    static let secret = Array("whsec_test_secret".utf8)

    @Test func knownVector() {
        // python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_test_secret", b"1800000000." + BODY, hashlib.sha256).hexdigest())'
        #expect(WebhookSignature.sign(secret: Self.secret, timestamp: 1_800_000_000, body: Array(Self.body.utf8))
                == "v1=0e875f3f10c2a28aebab24b56178bf2137cd7f1b8e6abf9b6e97f394925c7366")
        #expect(WebhookSignature.sign(secret: Array("k".utf8), timestamp: 1, body: [])
                == "v1=37c39ff90c9eaf98b76f1cf1a38399fa408e930f34e04a5179d0dc6489fe9c78")
    }

    @Test func bodyIsTheEventAsTheAPIPrintsItPlusItsId() {
        #expect(String(decoding: WebhookMessage.body(for: Self.event, storeId: "0123456789abcdef"), as: UTF8.self) == Self.body)
        let withData = SandboxEvent(seq: 7, sandboxId: "sbx-1", type: .destroyed, at: Date(timeIntervalSince1970: 0),
                                    data: ["reason": "ttl"])
        #expect(String(decoding: WebhookMessage.body(for: withData, storeId: "ab"), as: UTF8.self)
                == #"{"at":"1970-01-01T00:00:00Z","data":{"reason":"ttl"},"id":"evt_ab_7","sandbox_id":"sbx-1","seq":7,"type":"destroyed"}"#)
    }

    @Test func headersCarryIdTypeTimestampAndSignature() throws {
        let now = Date(timeIntervalSince1970: 1_800_000_123.9)
        let message = WebhookMessage(event: Self.event, storeId: "0123456789abcdef", secret: Self.secret, attempt: 3, now: now)
        let headers = Dictionary(uniqueKeysWithValues: message.headers.map { ($0.name, $0.value) })
        #expect(headers["Content-Type"] == "application/json")
        #expect(headers["Sandboxer-Event-Id"] == "evt_0123456789abcdef_42")
        #expect(headers["Sandboxer-Event-Type"] == "created")
        #expect(headers["Sandboxer-Timestamp"] == "1800000123")
        #expect(headers["Sandboxer-Delivery-Attempt"] == "3")
        let signature = try #require(headers["Sandboxer-Signature"])
        #expect(signature == WebhookSignature.sign(secret: Self.secret, timestamp: 1_800_000_123, body: message.body))
        #expect(WebhookSignature.verify(header: signature, secret: Self.secret, timestamp: "1800000123", body: message.body, now: now))
    }

    @Test func verifyRefusesTamperingWrongKeysAndStaleTimestamps() {
        let body = Array(Self.body.utf8)
        let header = WebhookSignature.sign(secret: Self.secret, timestamp: 1_800_000_000, body: body)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(WebhookSignature.verify(header: header, secret: Self.secret, timestamp: "1800000000", body: body, now: now))
        #expect(!WebhookSignature.verify(header: header, secret: Self.secret, timestamp: "1800000000", body: body + [32], now: now))
        #expect(!WebhookSignature.verify(header: header, secret: Array("other".utf8), timestamp: "1800000000", body: body, now: now))
        #expect(!WebhookSignature.verify(header: header, secret: Self.secret, timestamp: "1800000001", body: body, now: now))
        #expect(!WebhookSignature.verify(header: header, secret: Self.secret, timestamp: "x", body: body, now: now))
        // Inside the tolerance either way, outside it refused.
        #expect(WebhookSignature.verify(header: header, secret: Self.secret, timestamp: "1800000000", body: body,
                                        now: now.addingTimeInterval(300)))
        #expect(!WebhookSignature.verify(header: header, secret: Self.secret, timestamp: "1800000000", body: body,
                                         now: now.addingTimeInterval(301)))
        #expect(!WebhookSignature.verify(header: header, secret: Self.secret, timestamp: "1800000000", body: body,
                                         now: now.addingTimeInterval(-301)))
        // Several signatures (key rotation): any one matching is enough.
        #expect(WebhookSignature.verify(header: "v1=00, " + header, secret: Self.secret, timestamp: "1800000000", body: body, now: now))
    }

    @Test func secretsNeverAppearInDescriptions() {
        let sink = WebhookSink(name: "ops", url: "https://hooks.example/x?token=abc", secret: .literal("hunter2-very-secret"))
        for text in ["\(sink)", String(describing: sink), String(reflecting: sink), "\(sink.secret)", String(reflecting: sink.secret)] {
            #expect(!text.contains("hunter2"), "\(text)")
        }
        var dumped = ""
        dump(sink.secret, to: &dumped)
        #expect(!dumped.contains("hunter2"), "\(dumped)")
        #expect("\(WebhookSecret.environment("HOOK_SECRET"))" == "env:HOOK_SECRET")
    }
}
