import FoundationEssentials
import Glibc
import PluginKit

extension LocalVMPlugin {
    /// running (init alive with its recorded start time), stopped (still on disk), or not_found.
    public func status(_ request: SandboxRef, call: PluginCall) throws(PluginError) -> StatusResponse {
        let paths = try layout(request.sandboxId)
        if let meta = try SandboxMeta.load(paths.meta) {
            let running = meta.initPid > 0 && ProcessIdentity(pid: meta.initPid, startTime: meta.initStartTime).isRunning
            return StatusResponse(state: running ? "running" : "stopped", info: info(meta, paths: paths))
        }
        if FileOps.exists(paths.dir) || cgroups.exists(request.sandboxId) {
            // No metadata (a create cut short, or damage): judge by what its cgroups hold.
            let running = !cgroups.pids(request.sandboxId).isEmpty
            return StatusResponse(state: running ? "running" : "stopped",
                                  info: ["cgroups": .array(cgroups.dirs(request.sandboxId).map { .string($0) }),
                                         "metadata": "missing"])
        }
        throw PluginError(.notFound, "No localvm sandbox \(request.sandboxId) exists on this host.")
    }

    /// Every sandbox of this backend on this host: from `<data_dir>/sandboxes/*/meta.json`, the
    /// cgroup trees, network leases and labelled links (without metadata: empty labels).
    public func inventory(_ request: InventoryRequest, call: PluginCall) throws(PluginError) -> InventoryResponse {
        var items: [String: InventoryItem] = [:]
        let sandboxesDir = config.dataDir + "/sandboxes"
        for name in FileOps.list(sandboxesDir) where LocalVMConfig.isSafeName(name, maxLength: 64) && !name.hasPrefix(".") {
            guard FileOps.isDirectory(sandboxesDir + "/" + name) else { continue }
            let meta = try? SandboxMeta.load(sandboxesDir + "/" + name + "/meta.json")
            items[name] = InventoryItem(backendRef: name, sandboxId: meta?.sandboxId ?? name,
                                        labels: meta?.labels ?? [:], createdAtMs: meta?.createdAtMs)
        }
        for id in cgroups.listIds() where items[id] == nil {
            items[id] = InventoryItem(backendRef: id, sandboxId: id, labels: [:], createdAtMs: nil)
        }
        // Network leftovers of a sandbox that is otherwise gone: a lease (with its labels), or a
        // link labelled by this backend. destroy removes them like any sandbox.
        for lease in leases.all() where items[lease.sandboxId] == nil {
            items[lease.sandboxId] = InventoryItem(backendRef: lease.sandboxId, sandboxId: lease.sandboxId,
                                                   labels: lease.labels, createdAtMs: lease.createdAtMs)
        }
        let ours = "sandboxer:\(networkTag):"
        for link in HostNetwork.links() where link.hasPrefix(NetFilter.linkPrefix) {
            let alias = HostNetwork.alias(of: link)
            guard alias.hasPrefix(ours) else { continue }
            let id = String(alias.dropFirst(ours.count))
            guard LocalVMConfig.isSafeName(id, maxLength: 64), items[id] == nil else { continue }
            items[id] = InventoryItem(backendRef: id, sandboxId: id, labels: [:], createdAtMs: nil)
        }
        return InventoryResponse(resources: items.keys.sorted().compactMap { items[$0] })
    }
}
