import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics

/// What `prune-images` decided for one image.
public struct ImagePruneDecision: Sendable {
    public var image: Image
    /// True when the image is (or, dry-run, would be) removed.
    public var remove: Bool
    /// Why: `in_use` (a profile's current image), `pinned` (live sandboxes booted it), `building`,
    /// `within_budget`, `over_budget` (least recently used beyond `images.max_bytes`), `unused` (no
    /// budget set), `failed`, `changed` (with apply: it changed, or a sandbox pinned it, meanwhile).
    public var reason: String
    /// How many live sandboxes booted it (`image.pins` when planned).
    public var pins: Int { image.pins }
}

// Pruning the images cache (docs/images.md, "Pruning"): images profiles use are kept; failed rows
// go; other ready images are kept most recently used first while they fit the budget.
extension SandboxService {
    /// Plans (and with `apply`, carries out) the pruning; `maxBytes` overrides `images.max_bytes`.
    public func pruneImages(apply: Bool, maxBytes: Int64? = nil) throws(SandboxerError) -> [ImagePruneDecision] {
        let all = try images()
        let inUse = imagesInUse(all)
        // Images live sandboxes booted stay whatever their state or age: their recreate needs them.
        let pinned = Set(all.filter { $0.pins > 0 && !inUse.contains($0.id) && $0.state != .building }.map(\.id))
        let budget = maxBytes ?? config.images.maxBytes
        var decisions: [ImagePruneDecision] = []
        var used: Int64 = all.filter { inUse.contains($0.id) || pinned.contains($0.id) }.reduce(0) { $0 + $1.sizeBytes }
        let unused = all.filter { $0.state == .ready && !inUse.contains($0.id) && !pinned.contains($0.id) }
            .sorted { ($0.lastUsedAt ?? $0.createdAt) > ($1.lastUsedAt ?? $1.createdAt) }
        for image in all where inUse.contains(image.id) {
            decisions.append(ImagePruneDecision(image: image, remove: false, reason: "in_use"))
        }
        for image in all where pinned.contains(image.id) {
            decisions.append(ImagePruneDecision(image: image, remove: false, reason: "pinned"))
        }
        for image in unused {
            if let budget, used + image.sizeBytes <= budget {
                used += image.sizeBytes
                decisions.append(ImagePruneDecision(image: image, remove: false, reason: "within_budget"))
            } else {
                decisions.append(ImagePruneDecision(image: image, remove: true, reason: budget == nil ? "unused" : "over_budget"))
            }
        }
        for image in all where image.state != .ready && !pinned.contains(image.id) {
            decisions.append(ImagePruneDecision(image: image, remove: image.state == .failed,
                                                reason: image.state == .failed ? "failed" : "building"))
        }
        guard apply else { return decisions }
        var done: [ImagePruneDecision] = []
        for decision in decisions {
            guard decision.remove else { done.append(decision); continue }
            let image = decision.image
            // Conditional on no pin: a create that pinned it since the plan keeps it.
            guard try storeCall({ () throws(StoreError) in try store.deleteUnpinnedImage(id: image.id, expecting: [image.state]) }) else {
                var now = image
                now.pins = (try? store.pins(imageId: image.id).count) ?? image.pins
                done.append(ImagePruneDecision(image: now, remove: false, reason: now.pins > 0 ? "pinned" : "changed"))
                continue
            }
            removeUnreferencedArtifacts(image.artifacts)
            if let log = image.logPath { unlink(log) }
            done.append(decision)
        }
        return done
    }

    /// Ids of the images profiles use: for each profile with a build, the ready image of its current
    /// cache key; when the key cannot be computed (builder not loadable), its newest ready image.
    func imagesInUse(_ all: [Image]) -> Set<String> {
        var ids: Set<String> = []
        for profile in config.profiles.values {
            guard let spec = profile.build else { continue }
            if let builder = try? backends.builder(named: spec.builder),
               let inputs = try? buildInputs(spec, builder: builder, profile: profile.name) {
                if let image = all.first(where: { $0.cacheKey == inputs.cacheKey && $0.state == .ready }) { ids.insert(image.id) }
            } else if let newest = all.first(where: { $0.profile == profile.name && $0.state == .ready }) {
                ids.insert(newest.id)
            }
        }
        return ids
    }
}
