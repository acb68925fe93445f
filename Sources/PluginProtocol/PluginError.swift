import PluginABI

/// An error crossing the plugin boundary: one code from the ABI's closed list and a message.
public struct PluginError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The ABI's closed list of result codes (`sbx_code` in the header), minus success. The raw
    /// values are the header's constants, so the header stays the one definition of the numbers.
    public enum Code: Sendable, CaseIterable, CustomStringConvertible, RawRepresentable {
        case notImplemented
        case notFound
        case invalidRequest
        case conflict
        case unavailable
        case quota
        case `internal`
        /// The host cancelled the call (ABI 1.1): not a backend failure. PluginKit sends it only to a
        /// host whose minor accepts it and answers `unavailable` to a 1.0 host.
        case cancelled

        /// The code as the ABI's functions return it.
        public var rawValue: Int32 {
            let code: sbx_code = switch self {
            case .notImplemented: SBX_NOT_IMPLEMENTED
            case .notFound: SBX_NOT_FOUND
            case .invalidRequest: SBX_INVALID_REQUEST
            case .conflict: SBX_CONFLICT
            case .unavailable: SBX_UNAVAILABLE
            case .quota: SBX_QUOTA
            case .internal: SBX_INTERNAL
            case .cancelled: SBX_CANCELLED
            }
            return Int32(code.rawValue)
        }

        /// The code for an ABI result; nil for `SBX_OK` and for anything outside the closed list.
        public init?(rawValue: Int32) {
            guard let code = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
            self = code
        }

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
            case .cancelled: "cancelled"
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

    /// `SBX_OK` as the ABI's functions return it: success, so not one of the `Code`s.
    public static let successCode = Int32(SBX_OK.rawValue)

    /// Shorthand for an operation the plugin does not offer.
    public static func notImplemented(_ operation: String) -> PluginError {
        PluginError(.notImplemented, "The operation '\(operation)' is not implemented by this plugin.")
    }
}
