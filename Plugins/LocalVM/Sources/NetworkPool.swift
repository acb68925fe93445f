import FoundationEssentials
import Glibc
import PluginKit

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
