import CLocalVM
import FoundationEssentials
import Glibc
import PluginKit

// Whole-buffer exec and streamed exec start a command the same way: the same checks of the request,
// the same thaw of a sandbox a dead host left frozen, the same handles on the init and the cgroups,
// and the same environment. One place, so the two cannot drift apart.
extension LocalVMPlugin {
    /// Checks a command's request, then runs `body` with the sandbox's init pidfd, the cgroup fds a
    /// command joins and its environment (`NAME=value`, sorted by name); the fds close after `body`.
    /// `operation` names the call in errors ("exec", "exec_start").
    func withExecTarget<T>(_ operation: String, sandboxId: String, argv: [String], env requested: [String: String],
                           timeoutSeconds: Int64?,
                           _ body: (_ initPidfd: Int32, _ cgroupFds: [Int32], _ env: [String]) throws(PluginError) -> T) throws(PluginError) -> T {
        let paths = try layout(sandboxId)
        guard let first = argv.first, !first.isEmpty else {
            throw PluginError(.invalidRequest, "\(operation) needs a non-empty argv.")
        }
        if argv.contains(where: { $0.contains("\0") }) {
            throw PluginError(.invalidRequest, "exec arguments must not contain NUL bytes.")
        }
        if let t = timeoutSeconds, t <= 0 {
            throw PluginError(.invalidRequest, "timeout_seconds must be positive.")
        }
        try thawIfAbandoned(paths)
        let meta = try loadMeta(paths)
        let identity = ProcessIdentity(pid: meta.initPid, startTime: meta.initStartTime)
        guard meta.initPid > 0, let pidfd = identity.openPidfd() else {
            throw PluginError(.conflict, "The sandbox \(sandboxId) is not running (its init has exited).")
        }
        defer { close(pidfd) }
        let fds = try cgroups.openExecTargets(sandboxId)
        defer { fds.forEach { close($0) } }
        var env: [String: String] = ["PATH": InitProgram.path, "HOME": "/root"]
        env.merge(meta.env) { _, new in new }
        env.merge(requested) { _, new in new }
        for (k, v) in env where k.isEmpty || k.contains("=") || k.contains("\0") || v.contains("\0") {
            throw PluginError(.invalidRequest, "The environment variable '\(k)' has an invalid name or value.")
        }
        return try body(pidfd, fds, env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })
    }
}
