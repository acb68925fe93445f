import FoundationEssentials
import Glibc
import PluginKit

/// The packet filter of bridged sandboxes: one nftables table, `inet sandboxer`, shared by every
/// LocalVM backend on the host. Its rules are fixed and match sandbox links by the name prefix
/// `sbx`; what differs per sandbox is only set membership, so a sandbox adds and removes elements
/// (each with a comment naming it) and never rules.
///
/// What the rules enforce (see docs/backends/localvm.md):
/// - a link named `sbx*` that is not in `links` passes nothing (fail closed: elements are added
///   before the link exists); no IPv6 from sandboxes; no spoofed source addresses (`fib`);
/// - a sandbox opens no connection to the host itself (input: replies only);
/// - between two sandboxes only when both are in `peers` (allow_sandboxes);
/// - out to anywhere else only from a link in `nat`, masqueraded; towards a sandbox only replies.
struct NetFilter: Sendable {
    static let nft = "/usr/sbin/nft"
    static let table = "inet sandboxer"
    static let linkPrefix = "sbx"

    /// True when the nft command is installed.
    static var available: Bool { access(nft, X_OK) == 0 }

    /// The table with its sets and rules, created in one transaction (`create` fails if it exists).
    static let skeleton = """
    create table \(table) { comment "sandboxer localvm: bridged sandbox isolation, egress and peers (v1)"; }
    add set \(table) links { type ifname; comment "host ends of sandbox links"; }
    add set \(table) nat { type ifname; comment "links whose sandbox has egress nat"; }
    add set \(table) peers { type ifname; comment "links whose sandbox may reach other peers"; }
    add set \(table) nat_sources { type ipv4_addr; comment "sandbox addresses with egress nat"; }
    add chain \(table) prerouting { type filter hook prerouting priority raw; policy accept; }
    add rule \(table) prerouting iifname "\(linkPrefix)*" iifname != @links drop
    add rule \(table) prerouting iifname "\(linkPrefix)*" meta nfproto ipv6 drop
    add rule \(table) prerouting iifname "\(linkPrefix)*" fib saddr . iif oif missing drop
    add chain \(table) input { type filter hook input priority filter; policy accept; }
    add rule \(table) input iifname "\(linkPrefix)*" ct state established,related accept
    add rule \(table) input iifname "\(linkPrefix)*" drop
    add chain \(table) forward { type filter hook forward priority filter; policy accept; }
    add rule \(table) forward iifname "\(linkPrefix)*" oifname "\(linkPrefix)*" iifname @peers oifname @peers accept
    add rule \(table) forward iifname "\(linkPrefix)*" oifname "\(linkPrefix)*" drop
    add rule \(table) forward iifname "\(linkPrefix)*" iifname @nat accept
    add rule \(table) forward iifname "\(linkPrefix)*" drop
    add rule \(table) forward oifname "\(linkPrefix)*" ct state established,related accept
    add rule \(table) forward oifname "\(linkPrefix)*" drop
    add chain \(table) postrouting { type nat hook postrouting priority srcnat; policy accept; }
    add rule \(table) postrouting ip saddr @nat_sources oifname != "\(linkPrefix)*" masquerade

    """

    /// The elements one sandbox needs, from its lease.
    static func elements(_ lease: NetworkLease) -> [(set: String, value: String)] {
        var result = [("links", "\"\(lease.link)\"")]
        if lease.egress == NetworkOptions.Egress.nat.rawValue {
            result.append(("nat", "\"\(lease.link)\""))
            result.append(("nat_sources", lease.sandboxAddress))
        }
        if lease.allowSandboxes { result.append(("peers", "\"\(lease.link)\"")) }
        return result
    }

    /// Adds the sandbox's elements, creating the table first when it is missing.
    static func add(_ lease: NetworkLease, label: String) throws(PluginError) {
        let script = elements(lease).map { "add element \(table) \($0.set) { \($0.value) comment \"\(label)\" }\n" }.joined()
        if (try? run(["-f", "-"], input: script)) != nil { return }
        // Most likely the table is missing (first use, or someone flushed the ruleset). Losing a
        // race to create it is fine: the other creator made the same table.
        _ = try? run(["-f", "-"], input: skeleton)
        try run(["-f", "-"], input: script)
    }

    /// Removes every element a sandbox of this lease could hold (idempotent: each is added, then
    /// deleted, in one transaction, so a missing one is no error). A missing table means nothing to do.
    static func remove(_ lease: NetworkLease, label: String) throws(PluginError) {
        let all = [("links", "\"\(lease.link)\""), ("nat", "\"\(lease.link)\""), ("peers", "\"\(lease.link)\""),
                   ("nat_sources", lease.sandboxAddress)]
        let script = all.map { "add element \(table) \($0.0) { \($0.1) }\ndelete element \(table) \($0.0) { \($0.1) }\n" }.joined()
        do { try run(["-f", "-"], input: script) } catch {
            if !tableExists() { return }
            throw error
        }
    }

    /// Every element whose comment starts with `labelPrefix`: (set, value, comment).
    static func labelled(_ labelPrefix: String) throws(PluginError) -> [(set: String, value: String, comment: String)] {
        guard tableExists() else { return [] }
        let out = try run(["-j", "list", "table"] + table.split(separator: " ").map(String.init), input: nil)
        guard let json = try? JSONDecoder().decode(JSONValue.self, from: out),
              let items = json["nftables"]?.arrayValue else {
            throw PluginError(.internal, "nft printed a listing of table \(table) that is not the JSON it documents.")
        }
        var result: [(String, String, String)] = []
        for item in items {
            guard let set = item["set"], let name = set["name"]?.stringValue, let elems = set["elem"]?.arrayValue else { continue }
            for e in elems {
                guard let inner = e["elem"], let comment = inner["comment"]?.stringValue, comment.hasPrefix(labelPrefix) else { continue }
                let value = inner["val"]?.stringValue ?? ""
                result.append((name, value, comment))
            }
        }
        return result
    }

    /// Deletes the listed elements in one transaction.
    static func delete(_ elements: [(set: String, value: String, comment: String)]) throws(PluginError) {
        guard !elements.isEmpty else { return }
        let script = elements.map { e in
            let value = e.set == "nat_sources" ? e.value : "\"\(e.value)\""
            return "delete element \(table) \(e.set) { \(value) }\n"
        }.joined()
        try run(["-f", "-"], input: script)
    }

    static func tableExists() -> Bool {
        guard available else { return false }
        return (try? run(["-t", "list", "table"] + table.split(separator: " ").map(String.init), input: nil)) != nil
    }

    /// Runs nft with `input` as its standard input; returns its standard output (at most 16 MiB).
    @discardableResult
    static func run(_ args: [String], input: String?) throws(PluginError) -> Data {
        guard available else {
            throw PluginError(.unavailable, "network 'bridge' needs nftables: \(nft) is missing (Debian package nftables).")
        }
        let inFd = try SnapshotArchive.unlinkedTempFile()
        defer { close(inFd) }
        if let input {
            let bytes = Array(input.utf8)
            guard pwrite(inFd, bytes, bytes.count, 0) == bytes.count else { throw FileOps.failure("write", "the nft script") }
        }
        let outFd = try SnapshotArchive.unlinkedTempFile()
        defer { close(outFd) }
        try SnapshotArchive.run(nft, args, stdin: inFd, stdout: outFd, what: "nft \(args.first ?? "") run")
        let size = min(Int(lseek(outFd, 0, SEEK_END)), 16 << 20)
        guard size > 0 else { return Data() }
        var buffer = [UInt8](repeating: 0, count: size)
        let n = pread(outFd, &buffer, size, 0)
        return Data(buffer.prefix(max(0, n)))
    }
}
