import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics

/// The outcome of `extend-ttl`.
public struct ExtendOutcome: Sendable {
    public var sandbox: Sandbox
    public var from: Date
    public var to: Date
    /// True when the extension stopped at the profile's max lifetime.
    public var capped: Bool
    /// A warning when pushing the backend's own deadline failed (the host still enforces the TTL).
    public var backstopWarning: String?
}

extension SandboxService {
    /// Destroys a sandbox. Idempotent: an already destroyed sandbox is returned as it is, and a
    /// backend `not_found` counts as done.
    public func destroy(_ id: String, reason: TerminationReason = .manual) throws(SandboxerError) -> Sandbox {
        try finishDestroy(try get(id), reason: reason)
    }

    /// Drives `sandbox` to destroyed: intent (destroying) first, then the backend, then the outcome.
    /// `eventData` adds details to the `destroyed` event.
    func finishDestroy(_ sandbox: Sandbox, reason: TerminationReason, eventData: EventData = [:]) throws(SandboxerError) -> Sandbox {
        var machine = SandboxMachine(sandbox)
        let action = machine.beginDestroy(reason, owner: ProcessIdentity.current(), at: now)
        guard action == .destroyBackend else { return sandbox }
        if machine.sandbox.state != machine.startState, try !commit(machine) {
            // Another process moved it first; continue from what it wrote.
            let current = try get(sandbox.id)
            return current.state == sandbox.state ? current : try finishDestroy(current, reason: reason, eventData: eventData)
        }
        let current = machine.sandbox
        FaultPoint.reach("destroy.after-intent")
        if let ref = current.backendRef ?? (current.state == .destroying ? current.id : nil) {
            let backend = try backends.backend(named: current.backend)
            store.checkpointAside()   // the log's checkpoint, if due, runs while the backend works
            do {
                try backend.destroy(SandboxRef(sandboxId: current.id, backendRef: ref), timeout: backends.timeouts.destroy)
            } catch where error.code == .notFound {
                // Already gone: that is what destroy wants.
            } catch {
                throw error.hostError
            }
        }
        FaultPoint.reach("destroy.after-backend")
        var done = SandboxMachine(current)
        _ = try done.destroyed(at: now, data: eventData)
        FaultPoint.reach("destroy.before-commit")
        guard try commit(done) else { return try get(sandbox.id) }
        return done.sandbox
    }

    /// Extends a sandbox's deadline by `duration` (grammar `2h`), capped at its max lifetime.
    public func extendTTL(_ id: String, duration: String, by who: String) throws(SandboxerError) -> ExtendOutcome {
        let seconds: Int64
        do { seconds = try TTLDuration.parse(duration).seconds } catch { throw SandboxerError(.invalidArgument, error.message) }
        return try extend(try get(id), bySeconds: seconds, by: who)
    }

    /// Extends `read` (the row as the caller read it) by `seconds`. Another extend or a command may
    /// change the row between the read and the write: the write is conditioned on the state and the
    /// deadline it started from, and on a mismatch the row is read again (a bounded number of times),
    /// so concurrent extends add up instead of one undoing the other.
    func extend(_ read: Sandbox, bySeconds seconds: Int64, by who: String) throws(SandboxerError) -> ExtendOutcome {
        var sandbox = read
        var attempt = 0
        while true {
            var machine = SandboxMachine(sandbox)
            let ext = try machine.extend(bySeconds: seconds, by: who, at: now)
            let written = try storeCall { () throws(StoreError) in
                try store.update(machine.sandbox, expecting: [machine.startState], ifExpiresAt: sandbox.expiresAt,
                                 events: machine.events, from: machine.original)
            }
            if written { return pushed(machine.sandbox, ext) }
            attempt += 1
            guard attempt < 8 else {
                throw SandboxerError(.conflict, "Sandbox \(sandbox.id) kept changing while it was being extended; try again.")
            }
            sandbox = try get(sandbox.id)
        }
    }

    /// The extend's answer, after pushing the new deadline to the backend as its backstop.
    private func pushed(_ sandbox: Sandbox, _ ext: TTLRules.Extension) -> ExtendOutcome {
        var warning: String? = nil
        if let backend = try? backends.backend(named: sandbox.backend) {
            warning = pushBackstop(sandbox, backend: backend,
                                   seconds: TTLRules.remaining(sandbox, now: now) + SandboxMachine.backstopGraceSeconds)
        }
        return ExtendOutcome(sandbox: sandbox, from: ext.from, to: ext.to, capped: ext.capped, backstopWarning: warning)
    }

    /// Runs `argv` in the sandbox. A non-zero exit is a result, not an error.
    public func exec(_ id: String, argv: [String], stdin: Data? = nil, env: [String: String] = [:],
                     timeoutSeconds: Int64? = nil) throws(SandboxerError) -> ExecResponse {
        guard !argv.isEmpty else { throw SandboxerError(.usage, "exec needs a command to run.") }
        let sandbox = try get(id)
        let backend = try backends.backend(named: sandbox.backend)
        guard backend.supports(Capability.exec) else {
            throw SandboxerError(.backend, "Backend \(sandbox.backend) does not support exec.")
        }
        let timeoutSeconds = execTimeout(for: sandbox, requested: timeoutSeconds)
        try beginActivity(sandbox)
        let request = ExecRequest(sandboxId: id, backendRef: sandbox.backendRef ?? id, argv: argv, env: env,
                                  stdinB64: stdin?.base64EncodedString(), timeoutSeconds: timeoutSeconds,
                                  maxOutputBytes: config.exec.maxOutputBytes)
        let result: Result<ExecResponse, BackendError>
        do {
            // The plugin enforces the command's own timeout; the call deadline only guards a stuck plugin.
            let deadline = Double(timeoutSeconds) + 30
            store.checkpointAside()   // the log's checkpoint, if due, runs while the command does
            result = .success(try backend.exec(request, timeout: deadline))
        } catch {
            result = .failure(error)
        }
        endActivity(id)
        switch result {
        case .success(let response): return Self.capped(response, at: config.exec.maxOutputBytes)
        case .failure(let error):
            // A destroy (or an expiry) that took the sandbox away while the command ran explains the
            // backend's failure ("No such process" and the like): that is a conflict with the destroy,
            // not a backend fault.
            if let current = try? get(id), !SandboxState.live.contains(current.state) {
                throw SandboxerError(.conflict, "Sandbox \(id) was \(current.state == .destroying ? "being destroyed" : "ended (\(current.state.rawValue))") "
                                     + "while the command ran, so the command did not finish; the backend said: \(error.hostError.message)")
            }
            throw error.hostError
        }
    }
}

extension SandboxService {
    /// The timeout a command runs with: the request's, else its profile's `exec.timeout` (a profile
    /// since removed: the default), so no command runs unbounded and holds a worker of `serve` for ever.
    func execTimeout(for sandbox: Sandbox, requested: Int64?) -> Int64 {
        requested ?? (config.profiles[sandbox.profile]?.execTimeout ?? Profile.defaultExecTimeout).seconds
    }
}
