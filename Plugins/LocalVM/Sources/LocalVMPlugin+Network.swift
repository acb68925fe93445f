import CLocalVM
import FoundationEssentials
import Glibc
import PluginKit

/// `network: bridge`: a veth pair per sandbox, a /30 from the pool, packet filter set elements and
/// an optional port forwarder. The order of making and unmaking is what keeps a crash from
/// leaking or double-leasing: the lease is written (durably, under the network lock) before
/// anything else exists and removed only after everything else is gone, and filter elements are
/// in place before the link exists (an unknown `sbx*` link passes nothing).
extension LocalVMPlugin {
    var leases: LeaseStore { LeaseStore(dataDir: config.dataDir) }

    /// The label on every network resource of a sandbox: link alias, filter element comments.
    func networkLabel(_ sandboxId: String) -> String { "sandboxer:\(networkTag):\(sandboxId)" }

    /// The host-side link name of a sandbox: `sbx` + 12 hex digits of a hash of this backend's tag
    /// and the sandbox id (IFNAMSIZ allows 15), the same every time it is computed.
    func linkName(_ sandboxId: String) -> String {
        NetFilter.linkPrefix + String(String(Self.fnv1a(networkTag + ":" + sandboxId), radix: 16).leftPadded(to: 16).suffix(12))
    }

    /// A short tag for this backend instance (same data_dir and cgroup_parent: same tag).
    static func networkTag(dataDir: String, cgroupParent: String) -> String {
        String(String(fnv1a(dataDir + "\u{0}" + cgroupParent), radix: 16).leftPadded(to: 16).prefix(8))
    }

    /// FNV-1a, 64 bits: a stable hash for names (not for security).
    static func fnv1a(_ text: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    /// What a bridged create has prepared before the init starts.
    struct PreparedNetwork {
        var lease: NetworkLease
        var bridge: Launcher.Bridge
        var listeners: [PortForwarder.Listener]
        var helper: String?
    }

    /// Checks the host can do it, binds published ports, takes a lease and adds filter elements.
    /// The caller launches the init with `bridge`, then calls `startForwarder`.
    func prepareNetwork(_ request: CreateRequest, options: NetworkOptions) throws(PluginError) -> PreparedNetwork {
        guard NetFilter.available else {
            throw PluginError(.unavailable, "network 'bridge' needs nftables: \(NetFilter.nft) is missing (Debian package nftables).")
        }
        let helper = options.publish.isEmpty ? nil : try PortForwarder.helper(configured: config.forwardHelper)
        let ours = "sandboxer:\(networkTag):"
        try HostNetwork.checkPool(config.networkPool) { $0.hasPrefix(ours) }
        let listeners = try PortForwarder.listen(options.publish)
        do {
            let pool = config.networkPool
            let lease = try leases.withLock { () throws(PluginError) -> NetworkLease in
                try reconcileLocked()
                let slot = try freeSlot(pool)
                let lease = NetworkLease(
                    sandboxId: request.sandboxId, labels: request.labels, createdAtMs: nowMs(), slot: slot,
                    subnet: pool.subnet(slot).description, hostAddress: IPv4Prefix.format(pool.hostAddress(slot)),
                    sandboxAddress: IPv4Prefix.format(pool.sandboxAddress(slot)), link: linkName(request.sandboxId),
                    egress: options.egress.rawValue, allowSandboxes: options.allowSandboxes,
                    published: listeners.map { .init(targetPort: $0.publish.targetPort, hostAddress: $0.publish.hostAddress, hostPort: $0.hostPort) },
                    forwarderPid: nil, forwarderStartTime: nil)
                try leases.save(lease)
                return lease
            }
            try NetFilter.add(lease, label: networkLabel(request.sandboxId))
            let bridge = Launcher.Bridge(
                hostLink: lease.link, alias: networkLabel(request.sandboxId), hostAddress: pool.hostAddress(lease.slot),
                sandboxAddress: pool.sandboxAddress(lease.slot), prefixLength: 30,
                route: options.egress == .nat ? IPv4Prefix(base: 0, length: 0) : options.allowSandboxes ? pool.prefix : nil,
                forwarding: options.egress == .nat || options.allowSandboxes)
            return PreparedNetwork(lease: lease, bridge: bridge, listeners: listeners, helper: helper)
        } catch {
            listeners.forEach { close($0.fd) }
            throw error
        }
    }

    /// Starts the port forwarder once the sandbox runs, in the sandbox's v2 cgroup (one
    /// `cgroup.kill` there ends it with the sandbox), and records it in the lease.
    func startForwarder(_ prepared: PreparedNetwork) throws(PluginError) {
        guard let helper = prepared.helper, !prepared.listeners.isEmpty else { return }
        let procs = cgroups.v2Dir(prepared.lease.sandboxId) + "/cgroup.procs"
        let cgroupFd = open(procs, O_WRONLY | O_CLOEXEC)
        if cgroupFd < 0 { throw FileOps.failure("open", procs) }
        defer { close(cgroupFd) }
        let identity = try PortForwarder.spawn(helper: helper, sandboxId: prepared.lease.sandboxId,
                                               sandboxAddress: prepared.lease.sandboxAddress,
                                               listeners: prepared.listeners, cgroupFd: cgroupFd)
        var lease = prepared.lease
        lease.forwarderPid = identity.pid
        lease.forwarderStartTime = identity.startTime
        try leases.withLock { () throws(PluginError) in try leases.save(lease) }
    }

    /// The lowest /30 no lease holds and no route or address of the host touches.
    private func freeSlot(_ pool: NetworkPool) throws(PluginError) -> Int {
        var used = Set<Int>()
        for id in leases.ids() { if let lease = try leases.load(id) { used.insert(lease.slot) } }
        let busy = HostNetwork.inUse().map(\.prefix).filter { $0.overlaps(pool.prefix) }
        for slot in 0..<pool.slotCount where !used.contains(slot) {
            let subnet = pool.subnet(slot)
            if !busy.contains(where: { $0.overlaps(subnet) }) { return slot }
        }
        throw PluginError(.quota, "The localvm network_pool \(pool.prefix) has no free /30 left for another bridged sandbox.")
    }

    /// Removes everything of a sandbox's network (idempotent): forwarder, filter elements, link, lease.
    func teardownNetwork(_ sandboxId: String) throws(PluginError) {
        try leases.withLock { () throws(PluginError) in
            // A damaged lease cannot say what it held: clean up by label instead, then drop it.
            let lease = try? leases.load(sandboxId)
            try teardownLocked(sandboxId, lease: lease)
        }
    }

    /// Whether a sandbox has any network resource on the host (so destroy has work to do).
    func hasNetwork(_ sandboxId: String, meta: SandboxMeta?) -> Bool {
        meta?.network == "bridge" || leases.exists(sandboxId) || HostNetwork.linkExists(linkName(sandboxId))
    }

    private func teardownLocked(_ sandboxId: String, lease: NetworkLease?) throws(PluginError) {
        let label = networkLabel(sandboxId)
        if let lease, let pid = lease.forwarderPid, let start = lease.forwarderStartTime,
           let fd = ProcessIdentity(pid: pid, startTime: start).openPidfd() {
            _ = clvm_pidfd_signal(fd, SIGKILL)
            _ = clvm_pidfd_wait_exit(fd, 5000)
            close(fd)
        }
        if !NetFilter.available {
            // Without nft nothing could have been added (create refuses); nothing to remove either.
        } else if let lease {
            try NetFilter.remove(lease, label: label)
        } else {
            try NetFilter.delete(try NetFilter.labelled(label).filter { $0.comment == label })
        }
        let link = linkName(sandboxId)
        if HostNetwork.linkExists(link) {
            let alias = HostNetwork.alias(of: link)
            // Empty: a launcher that died between making the link and labelling it.
            if alias == label || alias.isEmpty { try HostNetwork.deleteLink(link) }
            else { host.log(.warning, "localvm: link \(link) carries the label '\(alias)', not \(label); left alone") }
        }
        try leases.remove(sandboxId)
    }

    /// Frees the leases of sandboxes that are gone (their directory was removed by a destroy or a
    /// failed create that died before it freed the lease). Call holding the network lock.
    /// A sandbox's directory exists before its lease is written and is removed only after the
    /// lease is freed, so a lease without its directory is always a leftover.
    func reconcileLocked() throws(PluginError) {
        for id in leases.ids() {
            guard let paths = try? layout(id), !FileOps.exists(paths.dir) else { continue }
            try teardownLocked(id, lease: try? leases.load(id))
            host.log(.info, "localvm: freed the network lease of vanished sandbox \(id)")
        }
    }

    /// Network facts for create and status responses.
    func networkInfo(_ sandboxId: String) -> JSONValue? {
        guard let lease = try? leases.load(sandboxId) else { return nil }
        return .object([
            "link": .string(lease.link),
            "subnet": .string(lease.subnet),
            "host_address": .string(lease.hostAddress),
            "sandbox_address": .string(lease.sandboxAddress),
            "egress": .string(lease.egress),
            "allow_sandboxes": .bool(lease.allowSandboxes),
            "published": .array(lease.published.map {
                .object(["target_port": .number(Double($0.targetPort)), "host_address": .string($0.hostAddress),
                         "host_port": .number(Double($0.hostPort))])
            }),
        ])
    }
}
