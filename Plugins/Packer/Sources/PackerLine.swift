/// One line of `packer -machine-readable` output: `timestamp,target,type,data...`.
///
/// Packer escapes a comma inside a field as `%!(PACKER_COMMA)` and a newline as the two characters
/// `\n` (a carriage return as `\r`), so splitting on `,` is exact; `data` holds the fields unescaped.
/// Anything else (a Go panic, a plugin writing straight to the terminal) is not a machine-readable
/// line: `parse` answers nil and the caller keeps it as plain text.
public struct PackerLine: Sendable, Equatable {
    /// Unix seconds packer stamped the line with.
    public var timestamp: Int64
    /// The build the line is about (`null`), or empty for packer itself.
    public var target: String
    /// `ui`, `artifact`, `artifact-count`, `error`, `error-count`, `version`…
    public var type: String
    /// The remaining fields, unescaped.
    public var data: [String]

    public init(timestamp: Int64, target: String, type: String, data: [String]) {
        self.timestamp = timestamp; self.target = target; self.type = type; self.data = data
    }

    /// The longest line the parser looks at; longer input is not machine-readable output.
    public static let maxBytes = 1 << 20

    /// Parses one line (without its newline); nil when it is not machine-readable output.
    public static func parse(_ line: Substring) -> PackerLine? {
        guard line.utf8.count <= maxBytes else { return nil }
        var text = line
        if text.hasSuffix("\r") { text = text.dropLast() }
        let fields = text.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count >= 3, let stamp = Int64(fields[0]), stamp >= 0 else { return nil }
        let type = fields[2]
        guard !type.isEmpty, type.utf8.allSatisfy(isTypeByte), fields[1].utf8.allSatisfy(isTargetByte) else { return nil }
        return PackerLine(timestamp: stamp, target: unescape(fields[1]), type: String(type),
                          data: fields.dropFirst(3).map(unescape))
    }

    /// Convenience for a whole `String`.
    public static func parse(_ line: String) -> PackerLine? { parse(line[...]) }

    /// Undoes packer's escapes: `%!(PACKER_COMMA)` → `,`, `\n` → newline, `\r` → carriage return.
    public static func unescape(_ field: Substring) -> String {
        guard field.contains("%") || field.contains("\\") else { return String(field) }
        var out = ""
        out.reserveCapacity(field.utf8.count)
        var rest = field[...]
        while let c = rest.first {
            if c == "%", rest.hasPrefix(comma) {
                out.append(","); rest = rest.dropFirst(comma.count)
            } else if c == "\\", let next = rest.dropFirst().first, next == "n" || next == "r" {
                out.append(next == "n" ? "\n" : "\r"); rest = rest.dropFirst(2)
            } else {
                out.append(c); rest = rest.dropFirst()
            }
        }
        return out
    }

    static let comma = "%!(PACKER_COMMA)"

    /// Types are lowercase words with dashes (`artifact-count`).
    static func isTypeByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
    }

    /// Targets are build names: no control characters.
    static func isTargetByte(_ b: UInt8) -> Bool { b >= 0x20 && b != 0x7f }
}
