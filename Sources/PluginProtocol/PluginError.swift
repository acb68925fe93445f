/// An error crossing the plugin boundary: one code from the ABI's closed list and a message.
public struct PluginError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The ABI's closed list of result codes (`sbx_code` in the header), minus success.
    public enum Code: Int32, Sendable, CaseIterable, CustomStringConvertible {
        case notImplemented = 1
        case notFound = 2
        case invalidRequest = 3
        case conflict = 4
        case unavailable = 5
        case quota = 6
        case `internal` = 7

        /// The snake_case name used in JSON and messages (`not_found`, ...).
        public var description: String {
            switch self {
            case .notImplemented: "not_implemented"
            case .notFound: "not_found"
            case .invalidRequest: "invalid_request"
            case .conflict: "conflict"
            case .unavailable: "unavailable"
            case .quota: "quota"
            case .internal: "internal"
            }
        }
    }

    /// What kind of failure this is.
    public var code: Code
    /// One sentence for a person; never holds a secret.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// Shorthand for an operation the plugin does not offer.
    public static func notImplemented(_ operation: String) -> PluginError {
        PluginError(.notImplemented, "The operation '\(operation)' is not implemented by this plugin.")
    }
}
