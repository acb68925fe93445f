import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics

/// A create request as the fronts hand it over.
public struct CreateOptions: Sendable {
    /// The profile; nil means the snapshot's profile with `fromSnapshot`, else `default`.
    public var profile: String?
    /// Requested TTL in the duration grammar (`4h`); nil takes the profile default.
    public var ttl: String?
    public var labels: [String: String]
    /// A retried create with the same key returns the same sandbox.
    public var idempotencyKey: String?
    /// Who creates it (an API token's name); recorded as the label `sandboxer.owner`.
    public var owner: String?
    /// A snapshot (id or name) whose state the sandbox starts from, through the backend's `restore`.
    public var fromSnapshot: String?
    /// Set when a consumer token creates: only profiles open to this consumer may be used. Nil for
    /// operators and the CLI.
    public var consumer: String?
    /// A profile whose image is built (`build:`): fail fast when it is not built yet, instead of building.
    public var noBuild = false
    /// Where the lines of a build this create starts (or waits for) go.
    public var buildProgress: BuildProgress?

    public init(profile: String? = nil, ttl: String? = nil, labels: [String: String] = [:], idempotencyKey: String? = nil,
                owner: String? = nil, fromSnapshot: String? = nil, consumer: String? = nil) {
        self.profile = profile; self.ttl = ttl; self.labels = labels; self.idempotencyKey = idempotencyKey
        self.owner = owner; self.fromSnapshot = fromSnapshot; self.consumer = consumer
    }
}

/// What a create did.
public struct CreateOutcome: Sendable {
    public var sandbox: Sandbox
    /// True when the requested TTL was above the profile's max and was cut to it.
    public var capped: Bool
    /// The TTL asked for (request or profile default), in seconds.
    public var requestedTTLSeconds: Int64
    /// True when an earlier create with the same idempotency key answered.
    public var replayed: Bool
}

extension SandboxService {
    /// Creates a sandbox: validates everything first (bad input writes no row), loads the backend,
    /// writes the `provisioning` intent, calls the backend, then records ready or failed.
    public func create(_ options: CreateOptions) throws(SandboxerError) -> CreateOutcome {
        let snapshot = try options.fromSnapshot.map { (ref: String) throws(SandboxerError) in
            try readySnapshot(ref, owner: options.owner)
        }
        let profile = try profile(options.profile ?? snapshot?.profile ?? "default", visibleTo: options.consumer)
        if let snapshot { try checkRestorable(snapshot, on: profile) }
        let requested: Int64?
        do { requested = try options.ttl.map { (s: String) throws(ConfigError) in try TTLDuration.parse(s).seconds } }
        catch { throw SandboxerError(.invalidArgument, error.message) }
        try LabelRules.validate(options.labels)
        // Keys are scoped to their owner: one consumer's key never finds another's sandbox.
        let scopedKey = options.idempotencyKey.map { key in options.owner.map { "\($0)/\(key)" } ?? key }
        if let key = options.idempotencyKey, let scopedKey {
            guard !key.isEmpty, key.count <= 200 else {
                throw SandboxerError(.invalidArgument, "The idempotency key must be 1 to 200 characters long.")
            }
            if let earlier = try storeCall({ () throws(StoreError) in try store.get(idempotencyKey: scopedKey) }) {
                return try replay(earlier, options: options)
            }
        }
        let grant = TTLRules.grant(requested: requested, defaultSeconds: profile.ttl.defaultTTL.seconds,
                                   maxSeconds: profile.ttl.max.seconds)
        // Load the plugin before writing anything: a missing plugin must leave no row behind.
        let backend = snapshot == nil ? try backends.backend(named: profile.backend) : try snapshotBackend(profile.backend)
        try checkReachable(profile, on: backend)
        // A built image is ready before the intent is written: a failed build leaves no sandbox row.
        let boot = snapshot == nil ? try imageToBoot(profile, options: options) : nil

        let created = now
        var labels = profile.labels
        labels.merge(options.labels) { _, request in request }
        if let owner = options.owner { labels[SandboxLabels.owner] = owner }
        let owner = ProcessIdentity.current()
        let intent = CreateIntent(ttlSeconds: grant.seconds, requestedTTLSeconds: requested ?? profile.ttl.defaultTTL.seconds,
                                  capped: grant.capped, owner: owner)
        var sandbox = Sandbox(
            id: SandboxID.make(), profile: profile.name, backend: profile.backend, state: .provisioning,
            ttlSeconds: grant.seconds, maxTTLSeconds: profile.ttl.max.seconds, idleReapSeconds: profile.ttl.idleReap?.seconds,
            createdAt: created, readyAt: nil, updatedAt: created, expiresAt: nil, labels: labels, backendRef: nil,
            reason: nil, idempotencyKey: scopedKey, request: intent, hostId: hostId,
            expiryWarningSeconds: profile.ttl.expiryWarning?.seconds, sourceSnapshot: snapshot?.id,
            imageId: boot?.image.id)   // the intent pins the image it boots (docs/images.md, "Pinning")
        var createdData: EventData = ["profile": .string(profile.name), "backend": .string(profile.backend),
                                      "ttl": .string(DurationText.format(grant.seconds))]
        if let snapshot { createdData["from_snapshot"] = .string(snapshot.id) }
        let event = SandboxEvent(sandboxId: sandbox.id, type: .created, at: created, data: createdData)
        do {
            try store.insert(sandbox, event: event)
        } catch {
            if error.code == .conflict, let scopedKey,
               let earlier = try storeCall({ () throws(StoreError) in try store.get(idempotencyKey: scopedKey) }) {
                return try replay(earlier, options: options)
            }
            if error.code == .notFound, let boot { throw imageRemovedMeanwhile(boot.image, profile: profile.name) }
            throw SandboxerError(.store, error.message)
        }
        FaultPoint.reach("create.after-intent")

        var request = backendRequest(sandbox, profile: profile, timeoutSeconds: grant.seconds + SandboxMachine.backstopGraceSeconds)
        request.imageArtifact = boot?.artifact
        let response: CreateResponse
        do {
            response = try provision(request, from: snapshot, on: backend)
        } catch {
            var machine = SandboxMachine(sandbox)
            let action = try machine.createFailed(error.message, at: now)
            try commit(machine)
            if action == .destroyBackend { _ = try? backend.destroy(SandboxRef(sandboxId: sandbox.id, backendRef: sandbox.id), timeout: backends.timeouts.destroy) }
            throw error.hostError
        }
        FaultPoint.reach("create.after-backend")
        var machine = SandboxMachine(sandbox)
        _ = try machine.created(backendRef: response.backendRef, info: response.info, at: now)
        FaultPoint.reach("create.before-commit")
        guard try commit(machine) else {
            // Someone reconciled the row meanwhile (it looked interrupted): do not leak what we made.
            _ = try? backend.destroy(SandboxRef(sandboxId: sandbox.id, backendRef: response.backendRef), timeout: backends.timeouts.destroy)
            throw SandboxerError(.conflict, "Sandbox \(sandbox.id) changed while it was being created; it was cleaned up.")
        }
        sandbox = machine.sandbox
        return CreateOutcome(sandbox: sandbox, capped: grant.capped,
                             requestedTTLSeconds: requested ?? profile.ttl.defaultTTL.seconds, replayed: false)
    }

    /// Answers a retried create with the sandbox the first one made.
    private func replay(_ earlier: Sandbox, options: CreateOptions) throws(SandboxerError) -> CreateOutcome {
        if let profile = options.profile, earlier.profile != profile {
            throw SandboxerError(.conflict, "The idempotency key was already used for a create with profile '\(earlier.profile)'.")
        }
        return CreateOutcome(sandbox: earlier, capped: earlier.request.capped,
                             requestedTTLSeconds: earlier.request.requestedTTLSeconds ?? earlier.ttlSeconds, replayed: true)
    }
}
