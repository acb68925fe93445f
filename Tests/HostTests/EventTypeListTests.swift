import Foundation
import Testing
@testable import PluginProtocol
@testable import Core

/// `SandboxEventType` is the one list of event types: webhook filters take it as it is, and the docs
/// must describe exactly it.
@Suite struct EventTypeListTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The names in the first column of the table under `## Types and their data` in docs/events.md.
    static func documentedTypes() throws -> [String] {
        let docs = try String(contentsOf: repo.appendingPathComponent("docs/events.md"), encoding: .utf8)
        let section = try #require(docs.components(separatedBy: "## Types and their data").dropFirst().first)
            .components(separatedBy: "\n## ").first ?? ""
        let row = try NSRegularExpression(pattern: #"^\| `([a-z_]+)` \|"#, options: .anchorsMatchLines)
        return row.matches(in: section, range: NSRange(section.startIndex..., in: section)).compactMap { m in
            Range(m.range(at: 1), in: section).map { String(section[$0]) }
        }
    }

    @Test func docsEventsDocumentsExactlyTheTypes() throws {
        let documented = try Self.documentedTypes()
        #expect(documented.count == Set(documented).count, "a type is documented twice: \(documented)")
        let known = Set(SandboxEventType.allCases.map(\.rawValue))
        #expect(Set(documented).subtracting(known).isEmpty, "documented but never written: \(Set(documented).subtracting(known).sorted())")
        #expect(known.subtracting(documented).isEmpty, "written but not documented: \(known.subtracting(documented).sorted())")
    }

    @Test func webhookFiltersKnowExactlyTheTypes() {
        #expect(WebhookSink.eventTypes == SandboxEventType.allCases.map(\.rawValue))
        let sink = WebhookSink(name: "s", url: "http://127.0.0.1:1/", secret: .literal("k"), events: ["ready"])
        #expect(sink.accepts(SandboxEventType.ready.rawValue) && !sink.accepts(SandboxEventType.destroyed.rawValue))
    }

    @Test func docsWebhooksListsTheTypesAFilterTakes() throws {
        let docs = try String(contentsOf: Self.repo.appendingPathComponent("docs/webhooks.md"), encoding: .utf8)
        let row = try #require(docs.components(separatedBy: "\n").first { $0.hasPrefix("| `events` |") })
        let missing = SandboxEventType.allCases.filter { !row.contains("`\($0.rawValue)`") }
        #expect(missing.isEmpty, "docs/webhooks.md's events row misses \(missing.map(\.rawValue))")
    }

    @Test func aStoredTypeThisVersionDoesNotKnowStaysReadable() {
        let future = SandboxEvent(seq: 1, sandboxId: "sbx-1", storedType: "hibernated", at: Date(timeIntervalSince1970: 0), data: [:])
        #expect(future.kind == nil && future.type == "hibernated")
        #expect(SandboxEvent(sandboxId: "sbx-1", type: .orphanReaped, at: Date()).type == "orphan_reaped")
    }
}
