import FoundationEssentials
import Glibc
import PluginKit

/// An IPv4 network written as CIDR (`10.231.0.0/16`); addresses are host-order integers.
struct IPv4Prefix: Sendable, Equatable, Hashable, CustomStringConvertible {
    /// The network address (host bits zero).
    let base: UInt32
    /// Prefix length, 0...32.
    let length: Int

    init(base: UInt32, length: Int) {
        self.length = length
        self.base = base & Self.mask(length)
    }

    /// Parses `a.b.c.d/n`; nil unless the text is exactly that with no host bits set.
    init?(cidr: String) {
        let parts = cidr.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = Self.parseAddress(String(parts[0])),
              let n = Int(parts[1]), n >= 0, n <= 32, String(n) == parts[1],
              address & ~Self.mask(n) == 0 else { return nil }
        self.init(base: address, length: n)
    }

    /// The netmask of a prefix length as a host-order integer.
    static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : ~UInt32(0) << UInt32(32 - length) }

    /// Parses a dotted quad (`127.0.0.1`) strictly: four decimal parts 0...255, no leading zeros.
    static func parseAddress(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  part == "0" || part.first != "0", let n = UInt32(part), n <= 255 else { return nil }
            value = value << 8 | n
        }
        return value
    }

    /// Dotted-quad text of a host-order address.
    static func format(_ address: UInt32) -> String {
        "\(address >> 24).\(address >> 16 & 0xff).\(address >> 8 & 0xff).\(address & 0xff)"
    }

    var description: String { "\(Self.format(base))/\(length)" }

    /// Whether `address` lies inside this network.
    func contains(_ address: UInt32) -> Bool { address & Self.mask(length) == base }

    /// Whether the two networks share at least one address.
    func overlaps(_ other: IPv4Prefix) -> Bool { contains(other.base) || other.contains(base) }

    /// Whether the whole network lies in private (RFC 1918) or shared (RFC 6598) address space.
    var isPrivate: Bool {
        let ranges = [IPv4Prefix(base: 0x0a00_0000, length: 8), IPv4Prefix(base: 0xac10_0000, length: 12),
                      IPv4Prefix(base: 0xc0a8_0000, length: 16), IPv4Prefix(base: 0x6440_0000, length: 10)]
        return ranges.contains { $0.length <= length && $0.contains(base) }
    }
}
