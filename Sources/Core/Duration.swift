import Basics
import PluginProtocol
/// A TTL length: a positive whole number of seconds, written `30s`, `15m`, `4h` or `1d`.
/// Named `TTLDuration` so it never shadows `Swift.Duration`.
public struct TTLDuration: Sendable, Equatable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let seconds: Int64

    public init(seconds: Int64) { self.seconds = seconds }

    static let units: [(suffix: Character, seconds: Int64)] = [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)]

    /// Parses exactly `<positive integer without leading zeros><s|m|h|d>`; anything else, including
    /// `0s`, `1h30m`, `1.5h`, `1H` and surrounding spaces, is an `invalidDuration` error.
    public static func parse(_ s: String) throws(ConfigError) -> TTLDuration {
        let invalid = ConfigError(code: .invalidDuration, message:
            "Invalid duration \(s.quotedForMessage): expected a positive whole number followed by s, m, h or d (for example 30m, 4h, 1d).")
        guard let unitChar = s.last, let unit = units.first(where: { $0.suffix == unitChar }) else { throw invalid }
        let digits = s.utf8.dropLast()
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { throw invalid }
        if digits.first == UInt8(ascii: "0") {
            if digits.allSatisfy({ $0 == UInt8(ascii: "0") }) { throw invalid }  // "0s", "00h": not positive
            throw ConfigError(code: .invalidDuration, message:
                "Invalid duration \(s.quotedForMessage): leading zeros are not allowed (write \(String(s.drop(while: { $0 == "0" })))).")
        }
        let tooLarge = ConfigError(code: .invalidDuration, message:
            "Invalid duration \(s.quotedForMessage): it is too large to represent in seconds.")
        var value: Int64 = 0
        for d in digits {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(Int64(d - UInt8(ascii: "0")))
            if o1 || o2 { throw tooLarge }
            value = sum
        }
        let (total, overflow) = value.multipliedReportingOverflow(by: unit.seconds)
        if overflow { throw tooLarge }
        return TTLDuration(seconds: total)
    }

    /// The largest unit that divides exactly: 5400 s → `90m`, 7200 s → `2h`, 86400 s → `1d`.
    public var description: String {
        for unit in Self.units where seconds != 0 && seconds % unit.seconds == 0 {
            return "\(seconds / unit.seconds)\(unit.suffix)"
        }
        return "\(seconds)s"
    }

    public static func < (lhs: TTLDuration, rhs: TTLDuration) -> Bool { lhs.seconds < rhs.seconds }

    /// Decodes the written form (`"4h"`), so JSON bodies and config use the same grammar.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try TTLDuration.parse(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    /// Encodes the written form (`"4h"`).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
