import CLocalVM
import FoundationEssentials
import Glibc
import PluginKit

extension LocalVMPlugin {
    /// Destroys a sandbox: kills every process, removes its network, unmounts, removes its cgroups
    /// and moves its directory to the trash (removed in the background; `trash.drain()` waits).
    /// Nothing there at all answers not_found (which the host counts as done).
    public func destroy(_ request: SandboxRef, call: PluginCall) throws(PluginError) {
        let paths = try layout(request.sandboxId)
        let id = request.sandboxId
        let hasDir = FileOps.exists(paths.dir)
        let meta = try? SandboxMeta.load(paths.meta)
        let hasNetwork = hasNetwork(id, meta: meta)
        guard hasDir || cgroups.exists(id) || hasNetwork else {
            throw PluginError(.notFound, "No localvm sandbox \(id) exists on this host.")
        }

        // One cgroup.kill ends the whole tree (init, execs, their children), then wait until empty.
        try cgroups.killAll(id)
        // Streamed commands died with the cgroup: reap their helpers and close their pipes.
        execStreams.releaseAll(sandboxId: id)
        // The init by identity too, in case its cgroups were tampered with.
        if let meta, meta.initPid > 0 {
            let identity = ProcessIdentity(pid: meta.initPid, startTime: meta.initStartTime)
            if let fd = identity.openPidfd() {
                _ = clvm_pidfd_signal(fd, SIGKILL)
                let rc = clvm_pidfd_wait_exit(fd, 5000)
                close(fd)
                if rc != 1 { throw PluginError(.internal, "The init of sandbox \(id) (pid \(meta.initPid)) did not exit within 5 seconds of SIGKILL.") }
            }
        }
        // The forwarder went with the cgroup; the link would go with the namespace, but only
        // asynchronously: remove it, the filter elements and the lease now (the lease last).
        if hasNetwork { try teardownNetwork(id) }
        try cgroups.remove(id)
        // No process of the sandbox is left: its host id range may go to the next one.
        try uids.release(id)
        // Nothing of the sandbox runs any more: the directory goes to the trash in one rename and is
        // removed after the answer (TrashBin). The sandbox mounted only in its own namespace, which
        // died with it (its control tmpfs too: CLocalVM/ctl.c); what is mounted under its directory
        // in the host's namespace (the disk, a control tmpfs of an earlier version, anything someone
        // else put there) is detached first: a detach waits for an RCU grace period (measured 7-18 ms
        // per destroy under load), which a sandbox without a disk no longer pays.
        if hasDir { try trash.discard(paths.dir, sandboxId: id) }
        host.log(.info, "localvm sandbox \(id) destroyed")
    }

    /// Lazily unmounts every mount of this process's namespace at or below `dir`, deepest first.
    static func unmountAll(under dir: String) throws(PluginError) { try MountTable.detachAll(under: dir) }

    /// Mount points (from /proc/self/mountinfo) at or below `dir`.
    static func mountPoints(under dir: String) -> [String] { MountTable.points(under: dir) }
}
