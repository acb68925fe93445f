import FoundationEssentials
import Glibc
import Core
import Backends
import PluginProtocol

// The round trip a backend lives by: create → status → exec → set_timeout → inventory →
// (snapshots) → destroy, then destroy again and calls on a sandbox that never existed.
extension CheckSession {
    static let lifecycleRules = ["lifecycle.create", "lifecycle.status", "request.unknown-fields", "exec.run", "timeout.set",
                                 "inventory.labels", "concurrency.invoke", "snapshot.take", "snapshot.restore", "snapshot.delete",
                                 "lifecycle.destroy", "lifecycle.status-after-destroy", "lifecycle.destroy-twice",
                                 "lifecycle.unknown-ref"] + execStreamRules

    func lifecycleRules() {
        guard declares(Capability.lifecycle) else {
            describeUnknownFields()
            concurrencyRule()
            for rule in Self.lifecycleRules where !results.contains(where: { $0.rule == rule }) {
                record(.skip, rule, "\(Capability.lifecycle) is not declared")
            }
            return
        }
        createRule()
        guard let sandbox else {
            describeUnknownFields()
            concurrencyRule()
            for rule in Self.lifecycleRules where !results.contains(where: { $0.rule == rule }) && rule != "lifecycle.unknown-ref" {
                record(.skip, rule, "no sandbox (lifecycle.create failed)")
            }
            unknownRefRule()
            return
        }
        statusRule(sandbox)
        unknownFieldsRule(sandbox)
        execRule(sandbox)
        runExecStreamRules(sandbox)
        timeoutRule(sandbox)
        inventoryRule(sandbox)
        concurrencyRule()
        snapshotRules(sandbox)
        destroyRules(sandbox)
        unknownRefRule()
    }

    func createRule() {
        let request = ids.create(ids.sandboxId)
        let started = ContinuousClock.now
        switch call(Operation.create, request, as: CreateResponse.self, timeout: timeout(for: Operation.create)) {
        case .failure(let error):
            record(.fail, "lifecycle.create", "create failed: \(Self.describe(error))")
        case .success(let created) where created.backendRef.isEmpty:
            record(.fail, "lifecycle.create", "create answered an empty backend_ref")
        case .success(let created):
            let ref = SandboxRef(sandboxId: request.sandboxId, backendRef: created.backendRef)
            sandbox = ref
            leftovers.append(ref)
            let ms = (ContinuousClock.now - started).components
            let elapsed = ms.seconds * 1000 + ms.attoseconds / 1_000_000_000_000_000
            record(.pass, "lifecycle.create", "created \(created.backendRef) for \(request.sandboxId) in \(elapsed) ms (info: \(created.info.keys.sorted().joined(separator: ", ")))")
        }
    }

    func statusRule(_ sandbox: SandboxRef) {
        switch call(Operation.status, sandbox, as: StatusResponse.self) {
        case .failure(let error):
            record(.fail, "lifecycle.status", "status of the new sandbox failed: \(Self.describe(error))")
        case .success(let status) where status.state != "running":
            record(.fail, "lifecycle.status", "status of the new sandbox answered state \(status.state.debugDescription); a created sandbox is \"running\"")
        case .success:
            record(.pass, "lifecycle.status", "the new sandbox is running")
        }
    }

    /// `request.unknown-fields` where there is no sandbox: describe alone.
    func describeUnknownFields() {
        let result = call(Operation.describe, Self.body(EmptyResponse(), extra: Self.unknownFields))
        if case .success = result {
            record(.pass, "request.unknown-fields", "describe ignores unknown fields")
        } else {
            record(.fail, "request.unknown-fields", "describe with unknown fields answered \(Self.codeName(result)); readers MUST ignore unknown fields")
        }
    }

    func unknownFieldsRule(_ sandbox: SandboxRef) {
        var wrong: [String] = []
        let described = call(Operation.describe, Self.body(EmptyResponse(), extra: Self.unknownFields))
        if case .failure = described { wrong.append("describe answered \(Self.codeName(described))") }
        let status = call(Operation.status, sandbox, as: StatusResponse.self, extra: Self.unknownFields)
        switch status {
        case .success(let s) where s.state == "running": break
        case .success(let s): wrong.append("status answered state \(s.state.debugDescription)")
        case .failure: wrong.append("status answered \(Self.codeName(status))")
        }
        if wrong.isEmpty {
            record(.pass, "request.unknown-fields", "describe and status ignore unknown fields")
        } else {
            record(.fail, "request.unknown-fields", wrong.joined(separator: ", ") + " with unknown fields; readers MUST ignore unknown fields")
        }
    }

    func execRule(_ sandbox: SandboxRef) {
        guard declares(Capability.exec) else { return record(.skip, "exec.run", "\(Capability.exec) is not declared") }
        let request = ExecRequest(sandboxId: sandbox.sandboxId, backendRef: sandbox.backendRef, argv: ["echo", "sandboxer-plugin-check"],
                                  env: ["SANDBOXER_CHECK": "1"], timeoutSeconds: 60)
        switch call(Operation.exec, request, as: ExecResponse.self, timeout: timeout(for: Operation.exec)) {
        case .failure(let error):
            record(.fail, "exec.run", "exec failed: \(Self.describe(error))")
        case .success(let ran):
            guard Data(base64Encoded: ran.stdoutB64) != nil, Data(base64Encoded: ran.stderrB64) != nil else {
                return record(.fail, "exec.run", "exec answered stdout_b64 or stderr_b64 that is not base64")
            }
            record(.pass, "exec.run", "exit code \(ran.exitCode), \(ran.stdout.count) bytes of stdout, \(ran.stderr.count) of stderr\(ran.timedOut ? ", timed out" : "")")
        }
    }

    func timeoutRule(_ sandbox: SandboxRef) {
        guard declares(Capability.timeout) else { return record(.skip, "timeout.set", "\(Capability.timeout) is not declared") }
        let request = SetTimeoutRequest(sandboxId: sandbox.sandboxId, backendRef: sandbox.backendRef, timeoutSeconds: 3600)
        switch call(Operation.setTimeout, request, as: EmptyResponse.self) {
        case .failure(let error):
            record(.fail, "timeout.set", "set_timeout failed: \(Self.describe(error))")
        case .success:
            let after = call(Operation.status, sandbox, as: StatusResponse.self)
            if case .success(let s) = after, s.state == "running" {
                record(.pass, "timeout.set", "set_timeout 3600 s answers ok; the sandbox keeps running")
            } else {
                record(.fail, "timeout.set", "after set_timeout 3600 s, status answered \(Self.codeName(after)) (state not running)")
            }
        }
    }

    func inventoryRule(_ sandbox: SandboxRef) {
        guard declares(Capability.inventory) else { return record(.skip, "inventory.labels", "\(Capability.inventory) is not declared") }
        switch call(Operation.inventory, InventoryRequest(hostId: ids.hostId), as: InventoryResponse.self) {
        case .failure(let error):
            record(.fail, "inventory.labels", "inventory failed: \(Self.describe(error))")
        case .success(let inventory):
            guard let item = inventory.resources.first(where: { $0.backendRef == sandbox.backendRef }) else {
                return record(.fail, "inventory.labels", "inventory (\(inventory.resources.count) resources) does not list \(sandbox.backendRef), which create just made")
            }
            let wanted = ids.labels(sandbox.sandboxId)
            let missing = wanted.keys.sorted().filter { item.labels[$0] != wanted[$0] }
            if missing.isEmpty {
                let count = inventory.resources.count
                record(.pass, "inventory.labels", "lists \(sandbox.backendRef) with its ownership labels (\(count) resource\(count == 1 ? "" : "s") in all)")
            } else {
                record(.fail, "inventory.labels", "lists \(sandbox.backendRef) without the label\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")) that create gave it; every resource MUST carry them")
            }
        }
    }

    func destroyRules(_ sandbox: SandboxRef) {
        switch call(Operation.destroy, sandbox, as: EmptyResponse.self, timeout: timeout(for: Operation.destroy)) {
        case .failure(let error):
            record(.fail, "lifecycle.destroy", "destroy failed: \(Self.describe(error))")
            record(.skip, "lifecycle.status-after-destroy", "destroy failed")
            record(.skip, "lifecycle.destroy-twice", "destroy failed")
            return
        case .success:
            leftovers.removeAll { $0 == sandbox }
            self.sandbox = nil
            record(.pass, "lifecycle.destroy", "destroyed \(sandbox.backendRef)")
        }
        let gone = call(Operation.status, sandbox, as: StatusResponse.self)
        switch gone {
        case .failure(let error) where error.code == .notFound:
            record(.pass, "lifecycle.status-after-destroy", "status answers not_found")
        case .success(let s) where s.state == "stopped":
            record(.pass, "lifecycle.status-after-destroy", "status answers stopped (the resource is still going); not_found once it is gone")
        default:
            record(.fail, "lifecycle.status-after-destroy", "status of a destroyed sandbox answered \(Self.codeName(gone))\(Self.stateSuffix(gone)); it MUST answer not_found when the sandbox is gone")
        }
        let again = call(Operation.destroy, sandbox, as: EmptyResponse.self, timeout: timeout(for: Operation.destroy))
        if Self.isDone(again) {
            record(.pass, "lifecycle.destroy-twice", "a second destroy answers \(Self.codeName(again))")
        } else {
            record(.fail, "lifecycle.destroy-twice", "a second destroy answered \(Self.codeName(again)); destroy MUST be idempotent (not_found or ok)")
        }
    }

    func unknownRefRule() {
        let ref = SandboxRef(sandboxId: ids.unknownId, backendRef: ids.unknownRef)
        var wrong: [String] = []
        let status = call(Operation.status, ref, as: StatusResponse.self)
        if case .failure(let error) = status, error.code == .notFound {} else {
            wrong.append("status answered \(Self.codeName(status)) (want not_found)")
        }
        let destroyed = call(Operation.destroy, ref, as: EmptyResponse.self, timeout: timeout(for: Operation.destroy))
        if !Self.isDone(destroyed) { wrong.append("destroy answered \(Self.codeName(destroyed)) (want not_found or ok)") }
        if declares(Capability.exec) {
            let ran = call(Operation.exec, ExecRequest(sandboxId: ref.sandboxId, backendRef: ref.backendRef, argv: ["true"], timeoutSeconds: 10),
                           as: ExecResponse.self, timeout: timeout(for: Operation.exec))
            if case .failure(let error) = ran, error.code == .notFound {} else {
                wrong.append("exec answered \(Self.codeName(ran)) (want not_found)")
            }
        }
        if wrong.isEmpty {
            record(.pass, "lifecycle.unknown-ref", "calls on a sandbox that never existed answer not_found")
        } else {
            record(.fail, "lifecycle.unknown-ref", "on a sandbox that never existed: " + wrong.joined(separator: ", "))
        }
    }

    /// Destroys and deletes whatever a rule left behind; failures here are not rules.
    func cleanUp() {
        for ref in leftovers {
            _ = call(Operation.destroy, ref, as: EmptyResponse.self, timeout: timeout(for: Operation.destroy))
        }
        leftovers = []
        for snapshot in leftoverSnapshots {
            _ = call(Operation.deleteSnapshot, snapshot, as: EmptyResponse.self, timeout: timeout(for: Operation.deleteSnapshot))
        }
        leftoverSnapshots = []
    }

    /// ok, or not_found: both mean "gone" for destroy and delete_snapshot.
    static func isDone<T>(_ result: Result<T, BackendError>) -> Bool {
        switch result {
        case .success: true
        case .failure(let error): error.code == .notFound
        }
    }

    static func stateSuffix(_ result: Result<StatusResponse, BackendError>) -> String {
        if case .success(let s) = result { return " with state \(s.state.debugDescription)" }
        return ""
    }
}
