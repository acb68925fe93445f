import CLocalVM
import FoundationEssentials
import Glibc
import PluginKit

extension LocalVMPlugin {
    /// Runs one command inside a running sandbox and returns its exit code and output.
    public func exec(_ request: ExecRequest, call: PluginCall) throws(PluginError) -> ExecResponse {
        var stdin: Data?
        if let b64 = request.stdinB64 {
            guard let data = Data(base64Encoded: b64) else {
                throw PluginError(.invalidRequest, "stdin_b64 is not valid base64.")
            }
            stdin = data
        }
        // One byte over the host's cap tells that the output was longer (and is then cut off).
        let cap = request.maxOutputBytes.map { Int(clamping: max(0, min($0, Int64(Launcher.maxOutput - 1)))) }
        let outcome = try withExecTarget("exec", sandboxId: request.sandboxId, argv: request.argv, env: request.env,
                                         timeoutSeconds: request.timeoutSeconds) { (pidfd, fds, env) throws(PluginError) in
            try Launcher.exec(initPidfd: pidfd, cgroupFds: fds, argv: request.argv, env: env, stdin: stdin,
                              timeoutMs: request.timeoutSeconds.map { $0 * 1000 }, maxOutput: cap.map { $0 + 1 } ?? Launcher.maxOutput)
        }
        var stderr = outcome.stderr
        if outcome.execErrno != 0 {
            stderr.append(Data("sandboxer: \(request.argv.first ?? ""): \(String(cString: strerror(outcome.execErrno)))\n".utf8))
        }
        guard let cap else {
            return ExecResponse(exitCode: outcome.exitCode, stdout: outcome.stdout, stderr: stderr, timedOut: outcome.timedOut)
        }
        return ExecResponse(exitCode: outcome.exitCode, stdout: outcome.stdout.prefix(cap), stderr: stderr.prefix(cap),
                            timedOut: outcome.timedOut, stdoutTruncated: outcome.stdout.count > cap,
                            stderrTruncated: stderr.count > cap)
    }

    /// The sandbox's meta, or not_found when the sandbox does not exist at all.
    func loadMeta(_ paths: SandboxLayout) throws(PluginError) -> SandboxMeta {
        if let meta = try SandboxMeta.load(paths.meta) { return meta }
        if FileOps.exists(paths.dir) || cgroups.exists(paths.sandboxId) {
            throw PluginError(.conflict, "The sandbox \(paths.sandboxId) has no metadata (it is being created or was damaged).")
        }
        throw PluginError(.notFound, "No localvm sandbox \(paths.sandboxId) exists on this host.")
    }
}
