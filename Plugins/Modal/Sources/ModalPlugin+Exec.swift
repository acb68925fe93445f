import Foundation
import GRPCClient
import ProtobufWire
import PluginKit

extension ModalPlugin {
    /// Output kept per stream; more is read to the end (so the exit status is accurate) and dropped.
    static let maxOutputBytes = 16 << 20
    /// Stdin is sent in pieces of this size, each offset-addressed.
    static let stdinChunkBytes = 1 << 20
    /// Exec timeout when the request sets none: Modal kills the exec then, so nothing runs forever.
    static let defaultExecTimeoutSeconds: Int64 = 3_600

    /// `exec` through the task command router: start (with Modal's own kill timer), stdin, stdout and
    /// stderr read to their ends, then the exit code or signal.
    public func exec(_ request: ExecRequest, call: PluginCall) throws(PluginError) -> ExecResponse {
        let sandboxID = try Self.sandboxID(request.backendRef)
        guard !request.argv.isEmpty else { throw PluginError(.invalidRequest, "An exec needs at least one argument.") }
        var stdin: [UInt8] = []
        if let encoded = request.stdinB64 {
            guard let data = Data(base64Encoded: encoded) else { throw PluginError(.invalidRequest, "The exec's stdin_b64 is not valid base64.") }
            stdin = [UInt8](data)
        }
        let limit = min(max(request.timeoutSeconds ?? Self.defaultExecTimeoutSeconds, 1), Self.maxTimeoutSeconds)
        let started = Date()
        let deadline = started.addingTimeInterval(Double(limit) + 30)   // Modal kills at `limit`; the slack is for the answers
        let taskID = try taskID(for: sandboxID, call: call)
        let execID = "sbx-exec-" + UUID().uuidString.lowercased()
        let runner = ExecRunner(plugin: self, taskID: taskID, execID: execID, call: call)

        // Starting is idempotent per exec id, so a retried start never runs the command twice.
        let _: IgnoredResponse = try runner.unary(
            "TaskExecStart", TaskExecStartRequest(taskID: taskID, execID: execID, commandArgs: request.argv,
                                                  timeoutSecs: UInt32(limit), env: request.env))
        var offset = 0
        repeat {
            let end = min(offset + Self.stdinChunkBytes, stdin.count)
            let _: IgnoredResponse = try runner.unary(
                "TaskExecStdinWrite", TaskExecStdinWriteRequest(taskID: taskID, execID: execID, offset: UInt64(offset),
                                                                data: stdin[offset..<end], eof: end == stdin.count))
            offset = end
        } while offset < stdin.count

        let stdout = try runner.readToEnd(.stdout, deadline: deadline)
        let stderr = try runner.readToEnd(.stderr, deadline: deadline)
        let remaining = max(deadline.timeIntervalSinceNow, 1)
        let waited: TaskExecWaitResponse = try runner.unary(
            "TaskExecWait", TaskExecWaitRequest(taskID: taskID, execID: execID), timeout: remaining)
        if let signal = waited.signal {
            // Modal's kill timer sends SIGKILL at `limit`: report it as the timeout it was.
            let timedOut = request.timeoutSeconds != nil && Date().timeIntervalSince(started) >= Double(limit) - 0.5
            return ExecResponse(exitCode: 128 + signal, stdout: Data(stdout), stderr: Data(stderr), timedOut: timedOut)
        }
        return ExecResponse(exitCode: waited.code ?? 0, stdout: Data(stdout), stderr: Data(stderr))
    }

    /// The task running a sandbox (cached); `not_found` once the sandbox has ended.
    func taskID(for sandboxID: String, call: PluginCall) throws(PluginError) -> String {
        if let known = cache.withLock({ $0.tasks[sandboxID] }) { return known }
        let answer: SandboxGetTaskIDResponse = try rpc().api(
            "SandboxGetTaskId", SandboxGetTaskIDRequest(sandboxID: sandboxID, timeout: 10), idempotent: true,
            timeout: config.callTimeout + 10, call: call)
        if let result = answer.taskResult, result.isFinal {
            throw PluginError(.notFound, "The Modal sandbox \(sandboxID) has ended (\(result.statusName)).")
        }
        guard let task = answer.taskID, !task.isEmpty else {
            throw PluginError(.unavailable, "The Modal sandbox \(sandboxID) has no running task yet.")
        }
        cache.withLock { $0.tasks[sandboxID] = task; $0.trim() }
        return task
    }

    /// The command router address and token of a task (cached until refused).
    func routerAccess(taskID: String, refresh: Bool, call: PluginCall) throws(PluginError) -> CommandRouterAccess {
        if !refresh, let known = cache.withLock({ $0.routers[taskID] }) { return known }
        let access: CommandRouterAccess
        do {
            access = try rpc().api("TaskGetCommandRouterAccess", TaskGetCommandRouterAccessRequest(taskID: taskID),
                                   idempotent: true, call: call)
        } catch where error.code == .conflict {
            throw PluginError(.notFound, "The Modal task \(taskID) has finished, so its sandbox is gone.")
        }
        guard !access.url.isEmpty, !access.jwt.isEmpty else {
            throw PluginError(.internal, "Modal's answer to TaskGetCommandRouterAccess has no router address or token.")
        }
        cache.withLock { $0.routers[taskID] = access; $0.trim() }
        return access
    }
}

/// One exec's calls to the command router: a refused token is refreshed once, and stdio streams
/// resume from the last offset after a dropped connection.
struct ExecRunner {
    let plugin: ModalPlugin
    let taskID: String
    let execID: String
    let call: PluginCall

    /// A unary router call; on UNAUTHENTICATED / PERMISSION_DENIED the access is fetched anew once.
    func unary<R: ModalResponse>(_ method: String, _ request: some ModalRequest, timeout: Double? = nil) throws(PluginError) -> R {
        let rpc = try plugin.rpc()
        var access = try plugin.routerAccess(taskID: taskID, refresh: false, call: call)
        do {
            return try rpc.router(method, request, access: access, idempotent: true, timeout: timeout, call: call)
        } catch where error.code == .invalidRequest && isAuthRefusal(error) {
            access = try plugin.routerAccess(taskID: taskID, refresh: true, call: call)
            return try rpc.router(method, request, access: access, idempotent: true, timeout: timeout, call: call)
        }
    }

    private func isAuthRefusal(_ error: PluginError) -> Bool {
        error.message.contains("UNAUTHENTICATED") || error.message.contains("PERMISSION_DENIED")
    }

    /// Reads one output stream from offset 0 to its end (the exec's end), keeping at most
    /// `maxOutputBytes`. A stream cut by the transport resumes at the offset reached, a bounded
    /// number of times; an expired token is refreshed.
    func readToEnd(_ descriptor: TaskExecStdioReadRequest.Descriptor, deadline: Date) throws(PluginError) -> [UInt8] {
        let rpc = try plugin.rpc()
        var kept: [UInt8] = []
        var offset: UInt64 = 0
        var failures = 0
        var refresh = false
        let method = "TaskExecStdioRead"
        while true {
            let access = try plugin.routerAccess(taskID: taskID, refresh: refresh, call: call)
            refresh = false
            var decodeError: PluginError?
            do throws(GRPCStatus) {
                try rpc.routerStream(method, TaskExecStdioReadRequest(taskID: taskID, execID: execID, offset: offset, descriptor: descriptor),
                                     access: access, timeout: max(deadline.timeIntervalSinceNow, 1), call: call) { bytes in
                    do throws(ProtobufWireError) {
                        let chunk = try TaskExecStdioReadResponse(serializedBytes: bytes)
                        offset += UInt64(chunk.data.count)
                        let room = ModalPlugin.maxOutputBytes - kept.count
                        if room > 0 { kept.append(contentsOf: chunk.data.prefix(room)) }
                        return true
                    } catch {
                        decodeError = PluginError(.internal, "Modal's \(method) answer could not be decoded: \(error.message)")
                        return false
                    }
                }
                return kept
            } catch {
                if let decodeError { throw decodeError }
                failures += 1
                let authRefused = error.code == .unauthenticated || error.code == .permissionDenied
                let transient = ModalError.isRetryable(error)
                guard (authRefused || transient), failures < ModalRPC.maxAttempts, !call.isCancelled,
                      deadline.timeIntervalSinceNow > 0 else {
                    throw rpc.map(error, method: method)
                }
                refresh = authRefused
                usleep(UInt32(200_000 << (failures - 1)))
            }
        }
    }
}
