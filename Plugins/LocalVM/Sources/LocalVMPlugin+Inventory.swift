import Foundation
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

    /// Every sandbox of this backend on this host: from `<data_dir>/sandboxes/*/meta.json` and from
    /// the cgroup trees (a cgroup without metadata is reported with empty labels).
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
        return InventoryResponse(resources: items.keys.sorted().compactMap { items[$0] })
    }
}
