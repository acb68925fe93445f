import PluginABI

/// Severity of a line a plugin logs through the host (`sbx_log_level` in the header, whose
/// constants are the raw values).
public enum PluginLogLevel: Sendable, CaseIterable, Comparable, RawRepresentable {
    case debug
    case info
    case warning
    case error

    /// The level as the host's `log` callback receives it.
    public var rawValue: Int32 {
        let level: sbx_log_level = switch self {
        case .debug: SBX_LOG_DEBUG
        case .info: SBX_LOG_INFO
        case .warning: SBX_LOG_WARNING
        case .error: SBX_LOG_ERROR
        }
        return Int32(level.rawValue)
    }

    /// The level for a value received from a plugin; nil outside the header's list.
    public init?(rawValue: Int32) {
        guard let level = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
        self = level
    }

    public static func < (a: PluginLogLevel, b: PluginLogLevel) -> Bool { a.rawValue < b.rawValue }
}
