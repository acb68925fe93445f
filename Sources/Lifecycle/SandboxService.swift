import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics

/// The host's one code path for every front: lifecycle operations over the store and the backends.
///
/// Intent is written before every backend call and outcomes after, each as a conditional update
/// (`… WHERE state = ?`), so concurrent CLI processes and reapers never act twice.
public final class SandboxService: Sendable {
    public let config: Config
    public let store: SandboxStore
    public let backends: BackendRegistry
    public let clock: any HostClock
    /// Identifies this host on backend resources (label `sandboxer.host`).
    public let hostId: String

    public init(config: Config, store: SandboxStore, backends: BackendRegistry, clock: any HostClock, hostId: String) {
        self.config = config
        self.store = store
        self.backends = backends
        self.clock = clock
        self.hostId = hostId
    }

    /// Now, as the store will keep it (whole milliseconds).
    var now: Date { clock.now().wholeMilliseconds }

    /// The sandbox `id`, or a not-found error.
    public func get(_ id: String) throws(SandboxerError) -> Sandbox {
        guard SandboxID.isWellFormed(id) else {
            throw SandboxerError(.notFound, "No sandbox with id '\(id)': sandbox ids look like sbx-0123456789abcdef.")
        }
        guard let sandbox = try storeCall({ () throws(StoreError) in try store.get(id: id) }) else {
            throw SandboxerError(.notFound, "No sandbox with id '\(id)'.")
        }
        return sandbox
    }

    /// Sandboxes matching `filter`.
    public func list(_ filter: SandboxFilter) throws(SandboxerError) -> [Sandbox] {
        try storeCall { () throws(StoreError) in try store.list(filter) }
    }

    /// Events, oldest first.
    public func events(sandboxId: String?, since: Int64?, limit: Int?) throws(SandboxerError) -> [SandboxEvent] {
        let found = try storeCall { () throws(StoreError) in try store.events(sandboxId: sandboxId, since: since, limit: limit) }
        // An id with no events and no row is a mistake worth saying; a reaped orphan has events but no row.
        if let sandboxId, found.isEmpty, since == nil { _ = try get(sandboxId) }
        return found
    }

    /// Persists a machine's changes if the row still has the state they started from.
    @discardableResult
    func commit(_ machine: SandboxMachine) throws(SandboxerError) -> Bool {
        try storeCall { () throws(StoreError) in
            try store.update(machine.sandbox, expecting: [machine.startState], events: machine.events, from: machine.original)
        }
    }

    /// Runs a store call, turning its error into the fronts' error.
    package func storeCall<T>(_ body: () throws(StoreError) -> T) throws(SandboxerError) -> T {
        do { return try body() } catch { throw SandboxerError(.store, error.message) }
    }

    /// The profile named `name`, or a not-found error listing the ones that exist.
    public func profile(_ name: String) throws(SandboxerError) -> Profile {
        guard let p = config.profiles[name] else {
            let known = config.profiles.keys.sorted().joined(separator: ", ")
            throw SandboxerError(.notFound, "No profile named '\(name)' (profiles: \(known)).")
        }
        return p
    }

    /// The ownership labels every backend resource of `sandbox` carries.
    func ownershipLabels(_ sandbox: Sandbox) -> [String: String] {
        [OwnershipLabel.host: hostId, OwnershipLabel.sandbox: sandbox.id, OwnershipLabel.profile: sandbox.profile]
    }

    /// Pushes the backend-native deadline (remaining TTL plus grace) as a backstop; best effort.
    func pushBackstop(_ sandbox: Sandbox, backend: any SandboxBackend, seconds: Int64) -> String? {
        guard backend.supports(Capability.timeout), let ref = sandbox.backendRef else { return nil }
        do {
            try backend.setTimeout(SetTimeoutRequest(sandboxId: sandbox.id, backendRef: ref, timeoutSeconds: seconds),
                                   timeout: backends.timeouts.other)
            return nil
        } catch {
            return error.hostError.message
        }
    }
}
