import CLocalVM
import FoundationEssentials
import Glibc
import PluginKit

extension LocalVMPlugin {
    /// Moves the sandbox's own deadline to now + timeout_seconds: recorded in meta.json (host clock)
    /// and handed to the init's backstop timer (real clock), which stops the sandbox by itself.
    public func setTimeout(_ request: SetTimeoutRequest, call: PluginCall) throws(PluginError) {
        let paths = try layout(request.sandboxId)
        guard request.timeoutSeconds >= 0 else {
            throw PluginError(.invalidRequest, "timeout_seconds must not be negative.")
        }
        var meta = try loadMeta(paths)
        let identity = ProcessIdentity(pid: meta.initPid, startTime: meta.initStartTime)
        guard meta.initPid > 0, identity.isRunning else {
            throw PluginError(.conflict, "The sandbox \(request.sandboxId) is not running, so it has no timeout to set.")
        }
        meta.deadlineMs = nowMs() + request.timeoutSeconds * 1000
        try meta.save(paths.meta)
        try writeBackstop(paths, meta: meta, identity: identity, seconds: request.timeoutSeconds)
        // Wake the init so it re-reads the deadline now (it would within 60 s anyway).
        identity.signal(SIGUSR1)
    }
}
