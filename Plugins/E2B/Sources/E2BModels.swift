import Foundation

// The JSON of E2B's API that the plugin reads and writes (field names as in E2B's OpenAPI spec).
// Readers ignore fields they do not know; only what the plugin relies on is required.

/// `POST /v2/sandboxes` body (`NewSandboxV2`).
struct NewSandbox: Encodable {
    var templateID: String
    var timeout: Int64
    var metadata: [String: String]
    var envVars: [String: String]
}

/// `POST /sandboxes/{id}/timeout` and `POST /v2/sandboxes/{id}/connect` bodies.
struct TimeoutBody: Encodable {
    var timeout: Int64
}

/// `POST /sandboxes/{id}/snapshots` body.
struct SnapshotBody: Encodable {
    var name: String
}

/// The create and connect answer (`Sandbox`). The tokens are secrets: never logged or returned.
struct CreatedSandbox: Decodable {
    var sandboxID: String
    var templateID: String
    var envdVersion: String
    var envdAccessToken: String?
    var trafficAccessToken: String?
    var domain: String?
}

/// `GET /sandboxes/{id}` (`SandboxDetail`).
struct SandboxDetail: Decodable {
    var sandboxID: String
    var templateID: String
    var state: String
    var startedAt: String?
    var endAt: String?
    var envdAccessToken: String?
    var domain: String?
}

/// One item of `GET /v2/sandboxes` (`ListedSandbox`).
struct ListedSandbox: Decodable {
    var sandboxID: String
    var templateID: String
    var state: String?
    var startedAt: String?
    var endAt: String?
    var metadata: [String: String]?
}

/// The answer of `POST /sandboxes/{id}/snapshots` (`SnapshotInfo`).
struct SnapshotInfo: Decodable {
    var snapshotID: String
    var names: [String]?
}

/// RFC 3339 timestamps as E2B writes them (with or without fractional seconds).
enum E2BTime {
    static func milliseconds(_ text: String?) -> Int64? {
        guard let text else { return nil }
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let date = fractional.date(from: text) ?? plain.date(from: text) else { return nil }
        return Int64((date.timeIntervalSince1970 * 1000).rounded())
    }
}
