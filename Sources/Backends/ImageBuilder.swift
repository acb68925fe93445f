import FoundationEssentials
import Glibc
import Core
import PluginProtocol

/// What the host's image service needs from a builder (`sandboxer.build/1`). A loaded plugin
/// (`Backend`) is one; tests may supply an in-process fake.
public protocol ImageBuilder: AnyObject, Sendable {
    /// The builder's name in the host config (`builders:`).
    var name: String { get }
    /// Capability strings the plugin declared.
    var capabilities: [String] { get }
    /// `describe`: its `info` carries the versions of the builder's tools (the cache key needs them).
    func describe(timeout: Double?) throws(BackendError) -> DescribeResponse
    /// `build` (see `Backend.build`): artifacts in `output_dir`; cancelled on the deadline or `cancel`.
    func build(_ r: BuildRequest, timeout: Double?, stopGrace: Double,
               cancel: (@Sendable () -> Bool)?) throws(BackendError) -> BuildResponse
}

extension Backend: ImageBuilder {}
