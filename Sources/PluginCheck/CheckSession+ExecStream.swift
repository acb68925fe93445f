import FoundationEssentials
import Glibc
import Core
import Backends
import PluginProtocol

// `sandboxer.exec-stream/1`: output arrives by stream and offset, byte-exact, with the exit code;
// standard input reaches the command; a kill ends it with the signal; a released handle is gone.
extension CheckSession {
    static let execStreamRules = ["exec-stream.output", "exec-stream.stdin", "exec-stream.kill", "exec-stream.release"]

    /// How long a rule waits for a short command (the plugin's waits are at most 1 s each).
    static let execStreamPatience: Duration = .seconds(30)

    func runExecStreamRules(_ sandbox: SandboxRef) {
        guard declares(Capability.execStream) else {
            for rule in Self.execStreamRules { record(.skip, rule, "\(Capability.execStream) is not declared") }
            return
        }
        streamOutputRule(sandbox)
        streamStdinRule(sandbox)
        streamKillRule(sandbox)
        streamReleaseRule(sandbox)
    }

    /// Starts argv; a failure is recorded against `rule`.
    private func start(_ sandbox: SandboxRef, _ argv: [String], stdin: Bool = false, rule: String) -> ExecHandleRef? {
        let request = ExecStartRequest(sandboxId: sandbox.sandboxId, backendRef: sandbox.backendRef, argv: argv,
                                       env: ["SANDBOXER_CHECK": "1"], stdin: stdin, timeoutSeconds: 60)
        switch call(Operation.execStart, request, as: ExecStartResponse.self) {
        case .failure(let error):
            record(.fail, rule, "exec_start failed: \(Self.describe(error))")
            return nil
        case .success(let started) where started.handle.isEmpty:
            record(.fail, rule, "exec_start answered an empty handle")
            return nil
        case .success(let started):
            return ExecHandleRef(sandboxId: sandbox.sandboxId, handle: started.handle)
        }
    }

    /// Reads one stream to its end; a problem is the message.
    private func readAll(_ ref: ExecHandleRef, _ stream: String) -> Result<Data, CheckProblem> {
        var offset: Int64 = 0
        var data = Data()
        let until = ContinuousClock.now + Self.execStreamPatience
        while ContinuousClock.now < until {
            let request = ExecReadRequest(sandboxId: ref.sandboxId, handle: ref.handle, stream: stream, offset: offset,
                                          maxBytes: 4096, waitMs: 1000)
            switch call(Operation.execRead, request, as: ExecReadResponse.self) {
            case .failure(let error): return .failure(CheckProblem("exec_read of \(stream) failed: \(Self.describe(error))"))
            case .success(let answer):
                guard let bytes = answer.data else { return .failure(CheckProblem("exec_read answered data_b64 that is not base64")) }
                guard bytes.count <= 4096, answer.nextOffset == offset + Int64(bytes.count) else {
                    return .failure(CheckProblem("exec_read answered \(bytes.count) bytes with next_offset \(answer.nextOffset) for offset \(offset) and max_bytes 4096; next_offset MUST be offset + the bytes answered"))
                }
                data.append(bytes)
                offset = answer.nextOffset
                if answer.eof { return .success(data) }
            }
        }
        return .failure(CheckProblem("\(stream) did not reach end of file within \(Self.execStreamPatience)"))
    }

    /// Waits for the end; a problem is the message.
    private func waitExit(_ ref: ExecHandleRef) -> Result<ExecWaitResponse, CheckProblem> {
        let until = ContinuousClock.now + Self.execStreamPatience
        while ContinuousClock.now < until {
            switch call(Operation.execWait, ExecWaitRequest(sandboxId: ref.sandboxId, handle: ref.handle, waitMs: 1000),
                        as: ExecWaitResponse.self) {
            case .failure(let error): return .failure(CheckProblem("exec_wait failed: \(Self.describe(error))"))
            case .success(let answer) where answer.state == ExecWaitResponse.running: continue
            case .success(let answer) where answer.state == ExecWaitResponse.exited && answer.exitCode != nil: return .success(answer)
            case .success(let answer):
                return .failure(CheckProblem("exec_wait answered state \(answer.state.debugDescription) without an exit code; it MUST be \"running\" or \"exited\" with exit_code"))
            }
        }
        return .failure(CheckProblem("the command did not end within \(Self.execStreamPatience)"))
    }

    private func release(_ ref: ExecHandleRef) -> Result<EmptyResponse, BackendError> {
        call(Operation.execRelease, ref, as: EmptyResponse.self)
    }

    func streamOutputRule(_ sandbox: SandboxRef) {
        let rule = "exec-stream.output"
        guard let ref = start(sandbox, ["sh", "-c", "echo sandboxer-plugin-check; echo to-stderr >&2; exit 3"], rule: rule) else { return }
        defer { _ = release(ref) }
        let out = readAll(ref, "stdout"), err = readAll(ref, "stderr"), exit = waitExit(ref)
        switch (out, err, exit) {
        case (.failure(let p), _, _), (_, .failure(let p), _), (_, _, .failure(let p)):
            record(.fail, rule, p.message)
        case (.success(let o), .success(let e), .success(let x)):
            guard o == Data("sandboxer-plugin-check\n".utf8), e == Data("to-stderr\n".utf8), x.exitCode == 3 else {
                return record(.fail, rule, "expected stdout \"sandboxer-plugin-check\\n\", stderr \"to-stderr\\n\", exit 3; got \(o.count) bytes, \(e.count) bytes, exit \(x.exitCode.map(String.init) ?? "none")")
            }
            record(.pass, rule, "stdout and stderr read by offset to end of file, exit code 3")
        }
    }

    func streamStdinRule(_ sandbox: SandboxRef) {
        let rule = "exec-stream.stdin"
        guard let ref = start(sandbox, ["cat"], stdin: true, rule: rule) else { return }
        defer { _ = release(ref) }
        let payload = Data([0, 1, 2, 255, 10]) + Data("sandboxer\n".utf8)
        let wrote = call(Operation.execWrite, ExecWriteRequest(sandboxId: ref.sandboxId, handle: ref.handle, data: payload,
                                                                close: true, waitMs: 5000), as: ExecWriteResponse.self)
        guard case .success(let w) = wrote, w.accepted == payload.count else {
            return record(.fail, rule, "exec_write of \(payload.count) bytes with close answered \(Self.codeName(wrote))\((try? wrote.get()).map { ", accepted \($0.accepted)" } ?? "")")
        }
        switch (readAll(ref, "stdout"), waitExit(ref)) {
        case (.failure(let p), _), (_, .failure(let p)): record(.fail, rule, p.message)
        case (.success(let echoed), .success(let x)):
            guard echoed == payload, x.exitCode == 0 else {
                return record(.fail, rule, "cat echoed \(echoed.count) bytes (expected the \(payload.count) written, byte-exact) and exited \(x.exitCode.map(String.init) ?? "none")")
            }
            record(.pass, rule, "\(payload.count) bytes (binary) written and closed came back through cat; exit 0")
        }
    }

    func streamKillRule(_ sandbox: SandboxRef) {
        let rule = "exec-stream.kill"
        guard let ref = start(sandbox, ["sleep", "600"], rule: rule) else { return }
        defer { _ = release(ref) }
        let first = call(Operation.execWait, ExecWaitRequest(sandboxId: ref.sandboxId, handle: ref.handle, waitMs: 0), as: ExecWaitResponse.self)
        guard case .success(let w) = first, w.state == ExecWaitResponse.running else {
            return record(.fail, rule, "exec_wait with wait_ms 0 on a sleeping command answered \(Self.codeName(first)) \((try? first.get())?.state ?? ""); expected \"running\"")
        }
        let killed = call(Operation.execKill, ExecKillRequest(sandboxId: ref.sandboxId, handle: ref.handle, signal: 9), as: EmptyResponse.self)
        guard case .success = killed else { return record(.fail, rule, "exec_kill 9 answered \(Self.codeName(killed))") }
        switch waitExit(ref) {
        case .failure(let p): record(.fail, rule, p.message)
        case .success(let x) where x.exitCode == 137 && x.signal == 9: record(.pass, rule, "exec_kill 9 ended the command: exit 137, signal 9")
        case .success(let x): record(.fail, rule, "after exec_kill 9 the command ended with exit \(x.exitCode.map(String.init) ?? "none"), signal \(x.signal.map(String.init) ?? "none"); expected 137 and 9")
        }
    }

    func streamReleaseRule(_ sandbox: SandboxRef) {
        let rule = "exec-stream.release"
        guard let ref = start(sandbox, ["sleep", "600"], rule: rule) else { return }
        let released = release(ref)
        guard case .success = released else { return record(.fail, rule, "exec_release of a running command answered \(Self.codeName(released))") }
        let again = release(ref)
        let read = call(Operation.execRead, ExecReadRequest(sandboxId: ref.sandboxId, handle: ref.handle, stream: "stdout", offset: 0,
                                                            maxBytes: 16, waitMs: 0), as: ExecReadResponse.self)
        guard case .failure(let e1) = again, e1.code == .notFound, case .failure(let e2) = read, e2.code == .notFound else {
            return record(.fail, rule, "after exec_release, a second release answered \(Self.codeName(again)) and exec_read \(Self.codeName(read)); both MUST answer not_found")
        }
        record(.pass, rule, "exec_release ends a running command; the handle then answers not_found")
    }
}

/// One sentence saying why a rule failed.
struct CheckProblem: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
