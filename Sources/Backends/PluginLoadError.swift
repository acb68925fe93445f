import Core
import Config
import PluginProtocol
import Basics
/// Why a plugin could not be loaded, or a backend could not be made from it.
///
/// `message` is one line that names the file, the plugin's name and version when known, and both
/// ABI versions when they matter, e.g.
/// `Cannot load plugin /x/libfoo.so (plugin foo 0.3.0, ABI 2.0): this host speaks plugin ABI 1.0.`
public struct PluginLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, as a value a caller can switch on.
    public enum Code: String, Sendable, CaseIterable {
        /// The path given is not absolute (the loader never searches a library path).
        case notAbsolute
        /// No regular file at the path.
        case notFound
        /// The file or its directory is writable by group or others.
        case insecurePermissions
        /// dlopen refused the file (not a shared library, missing dependency, wrong architecture…).
        case dlopenFailed
        /// The library does not export `sandboxer_plugin_entry_v1`.
        case missingEntry
        /// The entry function returned NULL: the plugin refused this host.
        case refused
        /// The plugin's ABI major differs from the host's.
        case abiMismatch
        /// The plugin's table is too small for ABI 1.0 or lacks a required field.
        case malformedTable
        /// `instance_create` or the first `describe` failed.
        case instanceFailed
    }

    /// What kind of failure this is.
    public var code: Code
    /// One line for a person.
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
