import CLocalVM
import FoundationEssentials
import Glibc
import PluginKit

// `sandboxer.exec-stream/1` on LocalVM: the command starts as whole-buffer exec starts it (same C
// helper), and its pipes stay open for the host to read through bounded windows.
extension LocalVMPlugin: ExecStreamPlugin {
    public func execStart(_ request: ExecStartRequest, call: PluginCall) throws(PluginError) -> ExecStartResponse {
        let handle = try withExecTarget("exec_start", sandboxId: request.sandboxId, argv: request.argv, env: request.env,
                                        timeoutSeconds: request.timeoutSeconds) { (pidfd, fds, env) throws(PluginError) in
            try execStreams.add { (handle: String) throws(PluginError) -> ExecStreamSession in
                let process = try Launcher.start(initPidfd: pidfd, cgroupFds: fds, argv: request.argv, env: env,
                                                 stdin: request.stdin ?? false, timeoutSeconds: request.timeoutSeconds)
                return ExecStreamSession(handle: handle, sandboxId: request.sandboxId, process: process,
                                         timeoutSeconds: request.timeoutSeconds)
            }
        }
        return ExecStartResponse(handle: handle)
    }

    public func execRead(_ request: ExecReadRequest, call: PluginCall) throws(PluginError) -> ExecReadResponse {
        let chunk = try execStreams.session(request.handle, sandboxId: request.sandboxId).read(request)
        return ExecReadResponse(data: chunk.data, eof: chunk.eof, nextOffset: chunk.nextOffset)
    }

    public func execWrite(_ request: ExecWriteRequest, call: PluginCall) throws(PluginError) -> ExecWriteResponse {
        let session = try execStreams.session(request.handle, sandboxId: request.sandboxId)
        var data = Data()
        if let b64 = request.dataB64 {
            guard let decoded = Data(base64Encoded: b64) else { throw PluginError(.invalidRequest, "data_b64 is not valid base64.") }
            data = decoded
        }
        guard data.count <= ExecStreamLimits.maxWriteBytes else {
            throw PluginError(.invalidRequest, "exec_write carries at most \(ExecStreamLimits.maxWriteBytes) bytes per call, not \(data.count).")
        }
        return try session.write(data, close: request.close ?? false, waitMs: max(0, request.waitMs ?? 0))
    }

    public func execWait(_ request: ExecWaitRequest, call: PluginCall) throws(PluginError) -> ExecWaitResponse {
        guard request.waitMs >= 0 else { throw PluginError(.invalidRequest, "exec_wait's wait_ms must not be negative.") }
        return try execStreams.session(request.handle, sandboxId: request.sandboxId).wait(waitMs: request.waitMs)
    }

    public func execKill(_ request: ExecKillRequest, call: PluginCall) throws(PluginError) {
        try execStreams.session(request.handle, sandboxId: request.sandboxId).kill(request.signal)
    }

    public func execRelease(_ request: ExecHandleRef, call: PluginCall) throws(PluginError) {
        try execStreams.release(request.handle, sandboxId: request.sandboxId)
    }
}

extension Launcher {
    /// Starts argv inside the sandbox of `initPidfd` and returns its pipes (clvm_exec_start); `cgroupFds`
    /// come from `CgroupLayout.openExecTargets`. The exec helper kills the command at `timeoutSeconds`
    /// whether or not the host still calls (the session then reports it timed out).
    static func start(initPidfd: Int32, cgroupFds: [Int32], argv: [String], env: [String],
                      stdin: Bool, timeoutSeconds: Int64? = nil) throws(PluginError) -> clvm_exec_stream {
        // Whole milliseconds, clamped far beyond any real deadline (Int64 seconds would overflow).
        let timeoutMs = timeoutSeconds.map { min($0, 1 << 40) * 1000 } ?? -1
        var process = clvm_exec_stream()
        var err = [CChar](repeating: 0, count: 512)
        let rc = withCStringArray(argv) { argvp in
            withCStringArray(env) { envp in
                cgroupFds.withUnsafeBufferPointer { fds in
                    var spec = clvm_exec_spec(
                        init_pidfd: initPidfd, cgroup_fds: fds.baseAddress, cgroup_count: fds.count,
                        argv: argvp, envp: envp, stdin_data: nil, stdin_len: 0, has_stdin: stdin ? 1 : 0,
                        timeout_ms: timeoutMs, max_output: 0, command_only_cgroups: CgroupLayout.commandOnlyCgroups,
                        cgroup_fast: 1, helper_fd: InitProgram.execHelperFd)
                    return clvm_exec_start(&spec, &process, &err, err.count)
                }
            }
        }
        guard rc == 0 else {
            throw PluginError(.internal, "Entering the sandbox failed: \(Launcher.text(err)).")
        }
        return process
    }
}
