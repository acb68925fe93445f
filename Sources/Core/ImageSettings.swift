import Basics

/// The top-level `images:` block: how much disk built images may take before `prune-images` evicts
/// the least recently used ones that no profile uses (docs/images.md, "Pruning").
public struct ImageSettings: Sendable, Equatable {
    /// Budget in bytes for the images cache; nil means unused images are always pruned.
    public var maxBytes: Int64?

    public init(maxBytes: Int64? = nil) { self.maxBytes = maxBytes }
}
