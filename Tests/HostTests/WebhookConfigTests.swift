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

/// The `webhooks:` list: defaults, every validation rule with its exact located error, secret
/// indirection, and the documented example in docs/webhooks.md.
@Suite struct WebhookConfigTests {
    static let base = "backends:\n  b:\n    plugin: /b.so\nprofiles:\n  p:\n    backend: b\n"

    static func parse(_ webhooks: String, environment: [String: String] = ["HOME": "/h"]) throws(ConfigError) -> Config {
        try ConfigLoader.parse(base + webhooks, file: "config.yaml", environment: environment, baseDirectory: "/etc/sandboxer")
    }

    static func failure(_ webhooks: String) -> String {
        do {
            _ = try parse(webhooks)
            return "no error"
        } catch {
            return "\(error.code): \(error)"
        }
    }

    @Test func noWebhooksByDefault() throws {
        #expect(try Self.parse("").webhooks.isEmpty)
        #expect(try Self.parse("webhooks:\n").webhooks.isEmpty)
        #expect(try Self.parse("webhooks: []\n").webhooks.isEmpty)
    }

    @Test func aMinimalSinkGetsTheDefaults() throws {
        let config = try Self.parse("webhooks:\n  - name: ops\n    url: https://hooks.example/x\n    secret: env:HOOK_SECRET\n")
        #expect(config.webhooks == [WebhookSink(name: "ops", url: "https://hooks.example/x", secret: .environment("HOOK_SECRET"))])
        let sink = try #require(config.webhooks.first)
        #expect(sink.events == nil && sink.accepts("orphan_reaped"))
        #expect(sink.timeout == TTLDuration(seconds: 10))
        #expect(sink.maxAttempts == 10)
        #expect(sink.backoff == WebhookBackoff(initial: TTLDuration(seconds: 1), max: TTLDuration(seconds: 600)))
    }

    @Test func everyFieldIsRead() throws {
        let config = try Self.parse("""
            webhooks:
              - name: audit
                url: http://127.0.0.1:9000/hook
                secret: file:secrets/audit
                events: [created, destroyed, failed]
                timeout: 30s
                max_attempts: 3
                backoff: {initial: 5s, max: 1h}
              - {name: chat, url: "https://chat.example/h?k=v", secret: literal-value}

            """)
        #expect(config.webhooks.map(\.name) == ["audit", "chat"])
        let audit = config.webhooks[0]
        #expect(audit.secret == .file("/etc/sandboxer/secrets/audit"), "relative to the config's directory")
        #expect(audit.events == ["created", "destroyed", "failed"])
        #expect(!audit.accepts("ready"))
        #expect(audit.timeout == TTLDuration(seconds: 30))
        #expect(audit.maxAttempts == 3)
        #expect(audit.backoff == WebhookBackoff(initial: TTLDuration(seconds: 5), max: TTLDuration(seconds: 3600)))
        #expect(config.webhooks[1].secret == .literal("literal-value"))
        #expect(config.webhooks[1].url == "https://chat.example/h?k=v")
    }

    static let sink = "webhooks:\n  - name: ops\n    url: https://h.example/x\n    secret: s3cr3t-value\n"

    @Test(arguments: [
        ("webhooks: {ops: 1}\n",
         "invalidValue: config.yaml:7:11: Expected a list of sinks for \"webhooks\", found a mapping."),
        (sink + "    tmeout: 5s\n",
         "unknownKey: config.yaml:11:5: Unknown key \"tmeout\" in a webhook sink (did you mean \"timeout\"?); allowed keys are name, url, secret, events, timeout, max_attempts, backoff."),
        (sink + "    backoff: {initial: 1s, maximum: 5m}\n",
         "unknownKey: config.yaml:11:28: Unknown key \"maximum\" in the backoff of webhook sink \"ops\"; allowed keys are initial, max."),
        ("webhooks:\n  - url: https://h.example/x\n    secret: x\n",
         "missingKey: config.yaml:8:5: Each webhook sink needs a \"name\"."),
        ("webhooks:\n  - name: Ops\n",
         "invalidValue: config.yaml:8:11: Invalid webhook sink name \"Ops\": names are 1 to 63 characters of a-z, 0-9, \"_\" and \"-\", starting with a letter or digit."),
        (sink + "  - name: ops\n    url: https://other.example/\n    secret: y\n",
         "invalidValue: config.yaml:11:11: Two webhook sinks are named \"ops\"; sink names must be unique."),
        ("webhooks:\n  - name: ops\n    secret: x\n",
         "missingKey: config.yaml:8:11: The webhook sink \"ops\" needs a \"url\" (http:// or https://)."),
        ("webhooks:\n  - name: ops\n    url: ftp://h.example/x?token=abc\n    secret: x\n",
         "invalidValue: config.yaml:9:10: The url of webhook sink \"ops\" must be an absolute http:// or https:// URL with a host."),
        ("webhooks:\n  - name: ops\n    url: /relative\n    secret: x\n",
         "invalidValue: config.yaml:9:10: The url of webhook sink \"ops\" must be an absolute http:// or https:// URL with a host."),
        ("webhooks:\n  - name: ops\n    url: https://h.example/\n",
         "missingKey: config.yaml:8:11: The webhook sink \"ops\" needs a \"secret\" to sign deliveries with (a value, env:NAME or file:/path)."),
        ("webhooks:\n  - name: ops\n    url: https://h.example/\n    secret: env:1BAD\n",
         "invalidValue: config.yaml:10:13: The secret of webhook sink \"ops\" names an invalid environment variable after \"env:\": use letters, digits and \"_\", not starting with a digit."),
        ("webhooks:\n  - name: ops\n    url: https://h.example/\n    secret: \"file:\"\n",
         "invalidValue: config.yaml:10:13: The secret of webhook sink \"ops\" needs a path after \"file:\"."),
        ("webhooks:\n  - name: ops\n    url: https://h.example/\n    secret: \"\"\n",
         "invalidValue: config.yaml:10:13: The secret of webhook sink \"ops\" must not be empty."),
        ("webhooks:\n  - name: ops\n    url: https://h.example/\n    secret: [a]\n",
         "invalidValue: config.yaml:10:13: Expected a string for \"secret\" of webhook sink \"ops\", found a list."),
        (sink + "    events: [created, destroy]\n",
         "invalidValue: config.yaml:11:23: Unknown event type \"destroy\" in webhook sink \"ops\" (did you mean \"destroyed\"?); event types are created, ready, ttl_extended, expiry_warning, expired, destroying, destroyed, failed, snapshot_created, snapshot_deleted, recreating, recreated, recreate_failed, orphan_reaped."),
        (sink + "    events: []\n",
         "invalidValue: config.yaml:11:13: The events of webhook sink \"ops\" must name at least one event type (leave \"events\" out to deliver all)."),
        (sink + "    events: created\n",
         "invalidValue: config.yaml:11:13: Expected a list of event types for \"events\" of webhook sink \"ops\", found the value \"created\"."),
        (sink + "    timeout: 10\n",
         "invalidDuration: config.yaml:11:14: Invalid duration \"10\": expected a positive whole number followed by s, m, h or d (for example 30m, 4h, 1d)."),
        (sink + "    max_attempts: 0\n",
         "invalidValue: config.yaml:11:19: Invalid max_attempts \"0\" for webhook sink \"ops\": expected a whole number from 1 to 1000."),
        (sink + "    max_attempts: -3\n",
         "invalidValue: config.yaml:11:19: Invalid max_attempts \"-3\" for webhook sink \"ops\": expected a whole number from 1 to 1000."),
        (sink + "    backoff: {initial: 10m, max: 1m}\n",
         "invalidValue: config.yaml:11:24: The backoff initial 10m of webhook sink \"ops\" is longer than its max 1m."),
        (sink + "    backoff: 5s\n",
         "invalidValue: config.yaml:11:14: Expected a mapping for \"backoff\" of webhook sink \"ops\", found the value \"5s\"."),
    ])
    func invalidSinksFailWithLocatedErrors(text: String, expected: String) {
        let message = Self.failure(text)
        #expect(message == expected)
        #expect(!message.contains("s3cr3t"), "no error quotes the secret")
    }

    @Test func errorsNeverQuoteALiteralSecret() {
        // A secret that is almost an indirection is a literal, and stays unquoted when something else fails.
        let message = Self.failure("webhooks:\n  - name: ops\n    url: nope\n    secret: \"env: s3cr3t\"\n")
        #expect(message.hasPrefix("invalidValue: config.yaml:9:10:"))
        #expect(!message.contains("s3cr3t"))
        #expect(!"\(String(describing: try? Self.parse(Self.sink)))".contains("s3cr3t"), "a printed Config hides it too")
    }

    @Test func secretsResolveFromTheEnvironmentAFileOrTheValue() throws {
        let dir = try StoreDirectory()
        let path = dir.url.appendingPathComponent("secret").path
        try Data("from-a-file\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(try WebhookSecret.file(path).resolve(environment: [:], sink: "s") == Array("from-a-file".utf8))
        #expect(try WebhookSecret.environment("HOOK").resolve(environment: ["HOOK": "from-env"], sink: "s") == Array("from-env".utf8))
        #expect(try WebhookSecret.literal("v").resolve(environment: [:], sink: "s") == Array("v".utf8))
        let missing = dir.url.appendingPathComponent("absent").path
        #expect(throws: ConfigError(code: .io, message: "Cannot read the secret of webhook sink \"s\" from \(missing): No such file or directory.")) {
            try WebhookSecret.file(missing).resolve(environment: [:], sink: "s")
        }
        try Data("\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect(throws: ConfigError(code: .invalidValue, message: "The secret of webhook sink \"s\" (file:\(path)) is empty.")) {
            try WebhookSecret.file(path).resolve(environment: [:], sink: "s")
        }
    }

    /// The ```yaml example of docs/webhooks.md parses (appended to a minimal config) as documented.
    @Test func documentedExampleIsValid() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/webhooks.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        let blocks = text.components(separatedBy: "```yaml\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        let block = try #require(blocks.first)
        let config = try ConfigLoader.parse(Self.base + block, file: "webhooks.md", environment: ["HOME": "/h"], baseDirectory: "/etc/sandboxer")
        #expect(config.webhooks.map(\.name) == ["audit", "chat"])
        #expect(config.webhooks[0].secret == .environment("AUDIT_WEBHOOK_SECRET"))
        #expect(config.webhooks[0].maxAttempts == 10)
        #expect(config.webhooks[1].events == ["created", "expiry_warning", "destroyed", "failed"])
        #expect(config.webhooks[1].secret == .file("/etc/sandboxer/chat-webhook.secret"))
        #expect(config.webhooks[1].backoff == WebhookBackoff(initial: TTLDuration(seconds: 5), max: TTLDuration(seconds: 1800)))
    }
}
