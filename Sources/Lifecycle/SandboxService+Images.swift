import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics

/// A line of a build's progress, as it happens: the builder's log lines, and the host's own steps.
public typealias BuildProgress = @Sendable (String) -> Void

// The images cache (docs/images.md): look a profile's image up by its cache key, build it when it is
// missing (or join the build already running for the key), list and remove images.
extension SandboxService {
    /// How long a build may run when the builder's `timeouts:` names no `build` deadline.
    static let defaultBuildSeconds: Double = 3600
    /// How often a create waiting for another process's build reads the build's row.
    static let buildPollSeconds: Double = 0.05

    /// Every image, newest first.
    public func images() throws(SandboxerError) -> [Image] {
        try storeCall { () throws(StoreError) in try store.images() }
    }

    /// The image `id`, or a not-found error.
    public func image(_ id: String) throws(SandboxerError) -> Image {
        guard ImageID.isWellFormed(id) else {
            throw SandboxerError(.notFound, "No image with id '\(id)': image ids look like img-0123456789abcdef.")
        }
        guard let image = try storeCall({ () throws(StoreError) in try store.image(id: id) }) else {
            throw SandboxerError(.notFound, "No image with id '\(id)'.")
        }
        return image
    }

    /// The ready image of `profile` for its current inputs: the cached one, or the one a build
    /// running for the same key makes (waited for), or a new build's. `force` builds even when a
    /// ready image exists (it then replaces it); `allowBuild` false fails fast instead of building.
    public func ensureImage(profile name: String, force: Bool = false, allowBuild: Bool = true,
                            progress: BuildProgress? = nil) throws(SandboxerError) -> Image {
        let profile = try self.profile(name)
        guard let spec = profile.build else {
            throw SandboxerError(.invalidArgument, "The profile '\(profile.name)' has no build block: its image is \(profile.image.map { "'\($0)', named" } ?? "the backend's default"), not built.")
        }
        let builder: Backend
        do { builder = try backends.builder(named: spec.builder) } catch {
            throw SandboxerError(error.code, "The build of profile '\(profile.name)' failed at step 'load builder \(spec.builder)': \(error.message)")
        }
        let bootKinds = try bootArtifactKinds(profile)
        let inputs = try buildInputs(spec, builder: builder, profile: profile.name)
        let deadline = builder.deadlines.resolve(Operation.build, requested: Self.defaultBuildSeconds) ?? Self.defaultBuildSeconds
        var replacing = force
        // Each round either returns, or saw the key's row change (taken, finished, or reconciled).
        let giveUp = Date().addingTimeInterval(deadline + 60)
        while Date() < giveUp {
            if let live = try storeCall({ () throws(StoreError) in try store.liveImage(cacheKey: inputs.cacheKey) }) {
                switch live.state {
                case .ready where !replacing:
                    if artifactsPresent(live) { return live }
                    try retire(live, "Its artifacts are missing from \(imagesDirectory); it will be rebuilt.")
                    continue
                case .ready:
                    try retire(live, "Replaced by a forced rebuild.")
                    replacing = false
                    continue
                default:
                    if let owner = live.owner, owner.isAlive {
                        progress?("waiting for build \(ImageID.buildId(of: live.id)) of image \(live.id) (process \(owner.pid))")
                        try waitWhileBuilding(live.id, until: giveUp)
                    } else {
                        _ = try finishInterruptedBuild(live)
                    }
                    continue
                }
            }
            guard allowBuild else {
                throw SandboxerError(.conflict, "The image of profile '\(profile.name)' is not built (cache key \(inputs.cacheKey.prefix(12))…); run 'sandboxer build \(profile.name)' first, or create without --no-build.")
            }
            let started = now
            let id = ImageID.make()
            let row = Image(id: id, profile: profile.name, builder: spec.builder, cacheKey: inputs.cacheKey,
                            state: .building, logPath: buildLogPath(id), owner: ProcessIdentity.current(), createdAt: started, updatedAt: started)
            do {
                try store.insert(row)
            } catch {
                if error.code == .conflict { continue }   // another create took the key first: join it
                throw SandboxerError(.store, error.message)
            }
            return try runBuild(row, spec: spec, builder: builder, inputs: inputs, bootKinds: bootKinds,
                                deadline: deadline, progress: progress)
        }
        throw SandboxerError(.unavailable, "Gave up waiting for the build of profile '\(profile.name)' after \(Int(deadline + 60)) s.")
    }

    /// Removes an image: its row, and its artifact files unless another image row shares them.
    /// A building image cannot be removed while its process runs, nor one that live sandboxes booted
    /// (`image_in_use`) unless `force`: those sandboxes keep running, but their recreate builds again.
    /// The returned image's `pins` counts the sandboxes that used it when it was removed.
    public func removeImage(_ id: String, force: Bool = false) throws(SandboxerError) -> Image {
        var image = try self.image(id)
        if image.state == .building, let owner = image.owner, owner.isAlive {
            throw SandboxerError(.conflict, "Image \(id) is being built by process \(owner.pid); wait for it or stop that process.")
        }
        if force {
            image.pins = try storeCall { () throws(StoreError) in try store.pins(imageId: id) }.count
            guard try storeCall({ () throws(StoreError) in try store.deleteImage(id: id, expecting: [image.state]) }) else {
                throw SandboxerError(.conflict, "Image \(id) changed while it was being removed; try again.")
            }
        } else if !(try storeCall({ () throws(StoreError) in try store.deleteUnpinnedImage(id: id, expecting: [image.state]) })) {
            let pins = try storeCall { () throws(StoreError) in try store.pins(imageId: id) }
            if pins.count > 0 { throw imageInUse(image, pins) }
            throw SandboxerError(.conflict, "Image \(id) changed while it was being removed; try again.")
        }
        removeUnreferencedArtifacts(image.artifacts)
        if let log = image.logPath { unlink(log) }
        removeWorkDirectory(image.id)
        return image
    }

    /// The refusal of removing an image live sandboxes booted: how many, one of them, and the way out.
    func imageInUse(_ image: Image, _ pins: ImagePins) -> SandboxerError {
        let who = pins.count == 1 ? "1 live sandbox (\(pins.example ?? "-"))"
            : "\(pins.count) live sandboxes (for example \(pins.example ?? "-"))"
        return SandboxerError(.imageInUse, "Image \(image.id) of profile '\(image.profile)' is in use by \(who), which booted it; destroy \(pins.count == 1 ? "it" : "them") first, or remove the image anyway with --force (HTTP: ?force=true): \(pins.count == 1 ? "that sandbox keeps" : "those sandboxes keep") running, but \(pins.count == 1 ? "its" : "their") recreate will then build the image again.")
    }

    /// A create or recreate whose chosen image was removed before its intent could pin it.
    func imageRemovedMeanwhile(_ image: Image, profile: String) -> SandboxerError {
        SandboxerError(.conflict, "The image \(image.id) of profile '\(profile)' was removed (image-rm or prune-images) while this request was starting; nothing was changed. Try again: the image will be built again.")
    }

    /// The artifact kinds the profile's backend boots. A backend that boots none cannot use a built
    /// image: a config error, found at first use because plugins load lazily (docs/images.md).
    func bootArtifactKinds(_ profile: Profile) throws(SandboxerError) -> [String]? {
        let backend = try backends.backend(named: profile.backend)
        // Only a loaded plugin answers describe; in-process fakes (tests) are not checked.
        guard let plugin = backend as? Backend else { return nil }
        let described: DescribeResponse
        do { described = try plugin.describe(timeout: backends.timeouts.other) } catch { throw error.hostError }
        let kinds = described.bootArtifactKinds ?? []
        guard !kinds.isEmpty else {
            throw SandboxerError(.config, "The profile '\(profile.name)' builds its image, but its backend '\(profile.backend)' boots no built artifacts (its describe declares no boot_artifact_kinds); give the profile an image instead of a build (checked at first use: plugins load lazily).")
        }
        return kinds
    }

    /// Reads the build's inputs with the builder's describe (its version and tool version).
    func buildInputs(_ spec: BuildSpec, builder: Backend, profile: String) throws(SandboxerError) -> ImageInputs {
        let raw: Data
        do { raw = try builder.invoke(Operation.describe, Data("{}".utf8), timeout: backends.timeouts.other) } catch {
            throw SandboxerError(error.hostError.code, "The build of profile '\(profile)' failed at step 'describe builder \(spec.builder)': \(error.message)")
        }
        let described = (try? JSONDecoder().decode(JSONValue.self, from: raw)) ?? .object([:])
        let version = described["version"]?.stringValue ?? ""
        // The tool's version: `info.tool_version`, or the Packer builder's `info.packer_version`.
        let tool = described["info"]?["tool_version"]?.stringValue ?? described["info"]?["packer_version"]?.stringValue
        do {
            return try ImageInputs.read(spec, builderName: spec.builder, builderVersion: version, toolVersion: tool,
                                        secret: { name in backends.secret(name) })
        } catch {
            throw SandboxerError(error.code, "The build of profile '\(profile)' failed at step 'read inputs': \(error.message)")
        }
    }

    /// Polls the image's row until it is no longer building, its owner is gone, or `until` passes.
    func waitWhileBuilding(_ id: String, until: Date) throws(SandboxerError) {
        while Date() < until {
            guard let row = try storeCall({ () throws(StoreError) in try store.image(id: id) }),
                  row.state == .building, let owner = row.owner, owner.isAlive else { return }
            usleep(UInt32(Self.buildPollSeconds * 1_000_000))
        }
    }

    /// Marks a ready image failed (so its key can be built again), keeping its files for prune.
    func retire(_ image: Image, _ why: String) throws(SandboxerError) {
        var changed = image
        changed.state = .failed
        changed.error = why
        changed.updatedAt = now
        _ = try storeCall { () throws(StoreError) in try store.update(changed, expecting: [.ready]) }
    }

    /// Whether every artifact file of a ready image is still in the content-addressed store.
    func artifactsPresent(_ image: Image) -> Bool {
        image.artifacts.allSatisfy { FileManager.default.fileExists(atPath: $0.path) }
    }

    /// For a create from a profile with a build: its ready image (built or joined first, unless
    /// `noBuild`) and the artifact the backend boots. Nil for profiles that name an image.
    func imageToBoot(_ profile: Profile, options: CreateOptions) throws(SandboxerError) -> (image: Image, artifact: BuildArtifact)? {
        guard profile.build != nil else { return nil }
        let image = try ensureImage(profile: profile.name, allowBuild: !options.noBuild, progress: options.buildProgress)
        let kinds = try bootArtifactKinds(profile)
        guard let artifact = image.artifacts.first(where: { kinds?.contains($0.kind) ?? true }) else {
            throw SandboxerError(.config, "The image \(image.id) of profile '\(profile.name)' has no artifact its backend '\(profile.backend)' boots (\(kinds?.joined(separator: ", ") ?? "-")).")
        }
        touch(image)
        return (image, artifact)
    }

    /// Records that a create booted `image`; best effort (a failed touch only skews pruning).
    func touch(_ image: Image) {
        try? store.touchImage(id: image.id, at: now)
    }
}

// Asynchronous builds for the HTTP front's `Prefer: respond-async` create.
extension SandboxService {
    /// When the profile's image is ready, nil. Otherwise its build, started on a thread of its own
    /// if none runs yet, returned as soon as its `building` row exists (at most a few seconds).
    public func startImageBuild(profile name: String) throws(SandboxerError) -> Image? {
        let profile = try self.profile(name)
        guard let spec = profile.build else { return nil }
        let builder = try backends.builder(named: spec.builder)
        let key = try buildInputs(spec, builder: builder, profile: profile.name).cacheKey
        if let live = try storeCall({ () throws(StoreError) in try store.liveImage(cacheKey: key) }) {
            if live.state == .ready && artifactsPresent(live) { return nil }
            if live.state == .building, live.owner?.isAlive == true { return live }
        }
        PosixThread.detachNewThread { [self] in _ = try? ensureImage(profile: name) }
        // The thread inserts the row after reading the same inputs: a bounded poll of the row. A
        // quick build may already be ready: the answer is still the row (the client then sees it ready).
        let until = Date().addingTimeInterval(10)
        while Date() < until {
            if let live = try storeCall({ () throws(StoreError) in try store.liveImage(cacheKey: key) }) {
                return live
            }
            usleep(UInt32(Self.buildPollSeconds * 1_000_000))
        }
        throw SandboxerError(.unavailable, "The build of profile '\(name)' did not start within 10 s; try again.")
    }
}
