import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics

/// What a recreate did.
public struct RecreateOutcome: Sendable {
    public var sandbox: Sandbox
    /// The backend handle of the instance that was replaced.
    public var previousBackendRef: String?
    /// A warning when pushing the backend's own deadline failed (the host still enforces the TTL).
    public var backstopWarning: String?
}

extension SandboxService {
    /// Replaces a live sandbox's backend instance with a fresh one, or one restored from `fromSnapshot`.
    /// The sandbox keeps its id, labels and TTL anchor: `ready_at` and `expires_at` do not move (the
    /// idle clock restarts, as after any activity). Sequence: intent (`provisioning`, event
    /// `recreating`), destroy the old instance, create or restore the new one, then `ready` (event
    /// `recreated`). If the new instance cannot be made, the sandbox ends `failed`.
    public func recreate(_ id: String, fromSnapshot: String? = nil, owner: String? = nil) throws(SandboxerError) -> RecreateOutcome {
        let sandbox = try get(id)
        let snapshot = try fromSnapshot.map { (ref: String) throws(SandboxerError) in try readySnapshot(ref, owner: owner) }
        let profile = try profile(sandbox.profile)
        guard profile.backend == sandbox.backend else {
            throw SandboxerError(.conflict, "Profile '\(profile.name)' now uses backend \(profile.backend), but sandbox \(id) lives on \(sandbox.backend); destroy it and create a new one.")
        }
        if let snapshot { try checkRestorable(snapshot, on: profile) }
        let backend = snapshot == nil ? try backends.backend(named: sandbox.backend) : try snapshotBackend(sandbox.backend)
        // A profile with `build:` boots its built image, as create does; built (or failed) before the
        // old instance is touched, so a failed build leaves the sandbox as it was.
        let boot = snapshot == nil ? try imageToBoot(profile, options: CreateOptions(profile: profile.name)) : nil

        let process = ProcessIdentity.current()
        // The intent pins the image the new instance boots (none for a snapshot restore).
        var pinning = sandbox
        pinning.imageId = boot?.image.id
        var machine = SandboxMachine(pinning, stored: sandbox)
        try machine.beginRecreate(fromSnapshot: snapshot?.id, owner: process, at: now)
        guard try commit(machine) else {
            throw SandboxerError(.conflict, "Sandbox \(id) changed while the recreate was starting; try again.")
        }
        let intent = machine.sandbox
        if let boot, try storeCall({ () throws(StoreError) in try store.image(id: boot.image.id) }) == nil {
            // A prune removed the image between the build lookup and the pin: nothing was touched yet.
            var back = SandboxMachine(intent)
            back.abandonRecreate(restoring: sandbox, message: "Its image \(boot.image.id) was removed meanwhile.", at: now)
            _ = try? commit(back)
            throw imageRemovedMeanwhile(boot.image, profile: profile.name)
        }
        FaultPoint.reach("recreate.after-intent")
        if let ref = sandbox.backendRef {
            do {
                try backend.destroy(SandboxRef(sandboxId: id, backendRef: ref), timeout: backends.timeouts.destroy)
            } catch where error.code == .notFound {
                // The old instance is already gone (perhaps why it is being recreated).
            } catch {
                // The old instance still stands: undo the intent so the sandbox stays usable as it was.
                var back = SandboxMachine(intent)
                back.abandonRecreate(restoring: sandbox, message: error.message, at: now)
                _ = try? commit(back)
                throw error.hostError
            }
        }
        FaultPoint.reach("recreate.after-old-destroyed")
        let seconds = TTLRules.remaining(intent, now: now) + SandboxMachine.backstopGraceSeconds
        let response: CreateResponse
        do {
            var request = backendRequest(intent, profile: profile, timeoutSeconds: seconds)
            request.imageArtifact = boot?.artifact
            response = try provision(request, from: snapshot, on: backend)
        } catch {
            var failed = SandboxMachine(intent)
            let action = try failed.createFailed("The recreate could not make a new instance: \(error.message)", at: now)
            try commit(failed)
            if action == .destroyBackend {
                _ = try? backend.destroy(SandboxRef(sandboxId: id, backendRef: id), timeout: backends.timeouts.destroy)
            }
            throw error.hostError
        }
        FaultPoint.reach("recreate.after-new-created")
        var done = SandboxMachine(intent)
        try done.recreated(backendRef: response.backendRef, previousRef: sandbox.backendRef, info: response.info, at: now)
        FaultPoint.reach("recreate.before-commit")
        guard try commit(done) else {
            _ = try? backend.destroy(SandboxRef(sandboxId: id, backendRef: response.backendRef), timeout: backends.timeouts.destroy)
            throw SandboxerError(.conflict, "Sandbox \(id) changed while it was being recreated; the new instance was cleaned up.")
        }
        return RecreateOutcome(sandbox: done.sandbox, previousBackendRef: sandbox.backendRef, backstopWarning: nil)
    }

    /// A snapshot that can be restored: ready, and visible to `owner` when one is given.
    func readySnapshot(_ ref: String, owner: String?) throws(SandboxerError) -> Snapshot {
        let snapshot = try resolveSnapshot(ref, owner: owner)
        guard snapshot.state == .ready else {
            throw SandboxerError(.conflict, "Snapshot \(snapshot.id) is \(snapshot.state.rawValue); only ready snapshots can be restored.")
        }
        return snapshot
    }

    /// A snapshot restores only onto the backend that took it.
    func checkRestorable(_ snapshot: Snapshot, on profile: Profile) throws(SandboxerError) {
        guard snapshot.backend == profile.backend else {
            throw SandboxerError(.invalidArgument, "Snapshot \(snapshot.id) was taken on backend \(snapshot.backend), but profile '\(profile.name)' uses \(profile.backend); a snapshot restores only on its own backend.")
        }
    }

    /// The backend's create request for `sandbox` made from `profile`.
    func backendRequest(_ sandbox: Sandbox, profile: Profile, timeoutSeconds: Int64) -> CreateRequest {
        CreateRequest(
            sandboxId: sandbox.id, hostId: hostId, profile: profile.name, image: profile.image,
            resources: ResourceLimits(cpus: profile.resources.cpus, memoryBytes: profile.resources.memoryBytes,
                                      pids: profile.resources.pids, diskBytes: profile.resources.diskBytes),
            network: profile.network, env: profile.env,
            labels: sandbox.labels.merging(ownershipLabels(sandbox)) { _, own in own },
            timeoutSeconds: timeoutSeconds,
            // For backends that cannot extend: the latest deadline any extension can reach (ready_at,
            // or now before ready, plus ttl.max) and the idle reap, each plus the backstop grace.
            latestDeadlineSeconds: max(0, Int64(((sandbox.readyAt ?? now).timeIntervalSince(now)).rounded(.up))
                                       + sandbox.maxTTLSeconds) + SandboxMachine.backstopGraceSeconds,
            idleTimeoutSeconds: sandbox.idleReapSeconds.map { $0 + SandboxMachine.backstopGraceSeconds },
            networkOptions: profile.networkOptions.flatMap { $0.isEmpty ? nil : $0 },
            placement: profile.placement.isEmpty ? nil : profile.placement)
    }

    /// `create`, or `restore` when a snapshot is given.
    func provision(_ request: CreateRequest, from snapshot: Snapshot?, on backend: any SandboxBackend) throws(BackendError) -> CreateResponse {
        store.checkpointAside()   // the log's checkpoint, if due, runs while the backend works
        guard let snapshot else { return try backend.create(request, timeout: backends.timeouts.create) }
        return try backend.restore(RestoreRequest(create: request, snapshotRef: snapshot.backendRef ?? snapshot.id),
                                   timeout: backends.timeouts.create + backends.timeouts.snapshot)
    }
}
