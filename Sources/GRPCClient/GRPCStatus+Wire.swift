import FoundationEssentials
import Glibc
import Basics

/// Reading `grpc-status` and `grpc-message` off the wire.
extension GRPCStatus {
    /// A status from the two header values; nil when `grpc-status` is absent.
    /// A value that is not a known code reads as UNKNOWN, as the spec requires.
    static func fromHeaders(status: String?, message: String?) -> GRPCStatus? {
        guard let status else { return nil }
        let text = percentDecoded(message ?? "")
        guard let number = Int(status.trimmingSpaces()), let code = Code(rawValue: number) else {
            let shown = status.count <= 16 ? status : String(status.prefix(16)) + "…"
            let note = "The server sent an invalid grpc-status '\(shown)'."
            return GRPCStatus(code: .unknown, message: text.isEmpty ? note : "\(note) Its message: \(text)", fromServer: true)
        }
        return GRPCStatus(code: code, message: text, fromServer: true)
    }

    /// `grpc-message` is percent-encoded UTF-8. A broken escape stays as it is (the spec forbids
    /// throwing the message away); invalid UTF-8 becomes U+FFFD.
    static func percentDecoded(_ value: String) -> String {
        let bytes = Array(value.utf8)
        guard bytes.contains(UInt8(ascii: "%")) else { return value }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
               let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) {
                out.append(high << 4 | low)
                index += 3
            } else {
                out.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
