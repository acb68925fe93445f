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

/// Webhook filters may only name known event types; this keeps that list equal to the types the
/// host's code actually writes, and to the ones docs/events.md documents.
@Suite struct EventTypeListTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Every `record("type"` and `type: "type"` literal in Sources.
    static func writtenTypes() throws -> Set<String> {
        let root = repo.appendingPathComponent("Sources")
        var found = Set<String>()
        let pattern = try NSRegularExpression(pattern: #"(?:record\(|type: )"([a-z_]+)""#)
        for case let url as URL in FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
        where url.pathExtension == "swift" {
            let text = try String(contentsOf: url, encoding: .utf8)
            for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                found.insert(String(text[Range(m.range(at: 1), in: text)!]))
            }
        }
        return found
    }

    @Test func theWebhookFilterKnowsEveryTypeTheHostWrites() throws {
        let written = try Self.writtenTypes()
        #expect(written.count >= 10, "the scan found too little: \(written.sorted())")
        #expect(written.subtracting(WebhookSink.eventTypes).isEmpty,
                "written but unknown to webhook filters: \(written.subtracting(WebhookSink.eventTypes).sorted())")
    }

    @Test func docsEventsDocumentsEveryType() throws {
        let docs = try String(contentsOf: Self.repo.appendingPathComponent("docs/events.md"), encoding: .utf8)
        let missing = WebhookSink.eventTypes.filter { !docs.contains("| `\($0)` |") }
        #expect(missing.isEmpty, "docs/events.md has no row for \(missing)")
    }
}
