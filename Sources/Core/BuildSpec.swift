import Basics
import PluginProtocol

/// A profile's `build:` block: the image its sandboxes boot is built by `builder` from `template`
/// (docs/images.md), instead of naming a ready-made `image:`.
public struct BuildSpec: Sendable, Equatable {
    /// Name of an entry in `Config.builders`.
    public var builder: String
    /// Absolute path of the template file, or of a directory of template files (resolved against the
    /// config file's directory).
    public var template: String
    /// Variables passed to the template as written; `secret:NAME` and `file:PATH` values are resolved
    /// when a build's inputs are read (docs/images.md, "Variables").
    public var vars: [String: String]

    public init(builder: String, template: String, vars: [String: String] = [:]) {
        self.builder = builder; self.template = template; self.vars = vars
    }

    /// Prefix of a var whose value is the host secret NAME (`secret:NAME`); the key hashes the value.
    public static let secretPrefix = "secret:"
    /// Prefix of a var naming an input file (`file:PATH`, relative to the config file); the key
    /// covers the file's digest and the builder gets the absolute path.
    public static let filePrefix = "file:"
    /// The var the host always sets: the directory the builder leaves its artifacts in.
    public static let outputDirVar = "output_dir"
}
