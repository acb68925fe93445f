import CLocalVM
import FoundationEssentials
import Basics
import Glibc
import PluginKit

/// What the host's own network looks like: its IPv4 routes and addresses, and the links that
/// carry a sandboxer label (their alias).
enum HostNetwork {
    /// One IPv4 network in use on the host: a route or an interface address, on a link.
    struct Use: Sendable, Equatable {
        var link: String
        var prefix: IPv4Prefix
        var what: String
    }

    /// Routes of the main table (`/proc/net/route`) and every interface address with its subnet.
    static func inUse() -> [Use] {
        var result: [Use] = []
        // Iface Destination Gateway Flags RefCnt Use Metric Mask ...: hex of the raw big-endian words.
        if let text = FileOps.readText("/proc/net/route") {
            for line in text.split(separator: "\n").dropFirst() {
                let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard f.count >= 8, let dst = UInt32(f[1], radix: 16), let mask = UInt32(f[7], radix: 16) else { continue }
                let m = UInt32(bigEndian: mask)
                let length = m.nonzeroBitCount
                guard length > 0 else { continue } // the default route overlaps everything by design
                result.append(Use(link: String(f[0]), prefix: IPv4Prefix(base: UInt32(bigEndian: dst), length: length),
                                  what: "route"))
            }
        }
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return result }
        defer { freeifaddrs(list) }
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let addr = entry.pointee.ifa_addr, addr.pointee.sa_family == sa_family_t(AF_INET),
                  let name = entry.pointee.ifa_name else { continue }
            let ip = addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
            var length = 32
            if let mask = entry.pointee.ifa_netmask {
                length = mask.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }.nonzeroBitCount
            }
            let link = String(cString: name)
            result.append(Use(link: link, prefix: IPv4Prefix(base: ip, length: 32), what: "address"))
            if length > 0 && length < 32 { result.append(Use(link: link, prefix: IPv4Prefix(base: ip, length: length), what: "subnet")) }
        }
        return result
    }

    /// The alias (IFLA_IFALIAS) of a link, "" when it has none or does not exist.
    static func alias(of link: String) -> String {
        guard LocalVMConfig.isSafeName(link, maxLength: 15) else { return "" }
        return (FileOps.readText("/sys/class/net/\(link)/ifalias") ?? "").trimmingNewlines()
    }

    /// Names of the host's links.
    static func links() -> [String] { FileOps.list("/sys/class/net").sorted() }

    /// Whether a link of that name exists in the host's namespace.
    static func linkExists(_ name: String) -> Bool { if_nametoindex(name) != 0 }

    /// Deletes a link; true when it was there. Deleting one end of a veth pair deletes both.
    @discardableResult
    static func deleteLink(_ name: String) throws(PluginError) -> Bool {
        let rc = clvm_link_delete(name)
        if rc < 0 { throw FileOps.failure("deleting the network link", name) }
        return rc == 0
    }

    /// Refuses a pool that overlaps a route or address of the host, except on links whose alias
    /// `isOurs` accepts (the sandboxes' own /30s).
    static func checkPool(_ pool: NetworkPool, isOurs: (String) -> Bool) throws(PluginError) {
        var aliases: [String: String] = [:]
        for use in inUse() where use.prefix.overlaps(pool.prefix) {
            let alias = aliases[use.link] ?? alias(of: use.link)
            aliases[use.link] = alias
            if isOurs(alias) { continue }
            throw PluginError(.invalidRequest, "The localvm 'network_pool' \(pool.prefix) overlaps the host's \(use.what) \(use.prefix) on \(use.link): choose a pool no route or address of this host uses.")
        }
    }
}
