import Foundation
import PluginKit

/// The parts of the hub's `Sandbox` JSON (docs/openapi.yaml) this plugin reads.
struct HubSandbox: Decodable, Sendable {
    var id: String
    var state: String
    var profile: String?
    var labels: [String: String]
    var createdAt: String?
    var expiresAt: String?
    var info: JSONValue?

    enum CodingKeys: String, CodingKey {
        case id, state, profile, labels, createdAt = "created_at", expiresAt = "expires_at", info
    }

    /// Whether the hub still runs it (provisioning counts: it is on its way).
    var isLive: Bool { ["provisioning", "ready", "active"].contains(state) }

    /// `expires_at` as a date.
    var expiresDate: Date? { expiresAt.flatMap(HubSandbox.rfc3339) }

    /// RFC 3339 with or without fractional seconds.
    static func rfc3339(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}

/// One page of the hub's sandbox list.
struct HubSandboxPage: Decodable, Sendable {
    var sandboxes: [HubSandbox]
    var nextCursor: String?
    enum CodingKeys: String, CodingKey { case sandboxes, nextCursor = "next_cursor" }
}
