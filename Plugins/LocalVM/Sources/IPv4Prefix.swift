import Foundation
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

/// The pool sandbox networks are carved from: one /30 per sandbox (host .1, sandbox .2).
struct NetworkPool: Sendable, Equatable {
    let prefix: IPv4Prefix

    /// The default pool: private, and far from the ranges home routers and Docker pick.
    static let defaultCIDR = "10.231.0.0/16"

    /// Parses and checks a `network_pool` value: private IPv4, /8 to /30.
    init(cidr: String) throws(PluginError) {
        guard let prefix = IPv4Prefix(cidr: cidr) else {
            throw PluginError(.invalidRequest, "The localvm 'network_pool' must be an IPv4 network in CIDR form with no host bits set, such as \(Self.defaultCIDR), not '\(cidr)'.")
        }
        guard prefix.length >= 8, prefix.length <= 30, prefix.isPrivate else {
            throw PluginError(.invalidRequest, "The localvm 'network_pool' \(cidr) must be a private network (10/8, 172.16/12, 192.168/16 or 100.64/10) between /8 and /30.")
        }
        self.prefix = prefix
    }

    /// The default pool, built without parsing (a test checks it equals `defaultCIDR`).
    static let fallback = NetworkPool(prefix: IPv4Prefix(base: 0x0ae7_0000, length: 16))

    private init(prefix: IPv4Prefix) { self.prefix = prefix }

    /// How many /30s the pool holds.
    var slotCount: Int { 1 << (30 - prefix.length) }

    /// The /30 of slot `i`.
    func subnet(_ slot: Int) -> IPv4Prefix { IPv4Prefix(base: prefix.base + UInt32(slot) * 4, length: 30) }
    /// The host end's address in slot `i` (.1 of its /30).
    func hostAddress(_ slot: Int) -> UInt32 { prefix.base + UInt32(slot) * 4 + 1 }
    /// The sandbox's address in slot `i` (.2 of its /30).
    func sandboxAddress(_ slot: Int) -> UInt32 { prefix.base + UInt32(slot) * 4 + 2 }
}
