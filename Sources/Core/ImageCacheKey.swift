import Basics
import PluginProtocol

/// The cache key of a build: sha256 over a canonical form of everything that decides its output
/// (docs/images.md, "The cache key"). Pure: the caller reads the files and resolves the secrets.
///
/// The canonical form is a versioned list of records `name <byte count>:<bytes>\n`, in a fixed
/// order, with maps sorted by key and template files sorted by relative path (UTF-8 byte order),
/// so equal inputs give equal keys on any host and no field can run into the next.
public struct ImageCacheKey: Sendable, Equatable {
    /// The builder's name in the config (two builders may wrap one tool differently).
    public var builderName: String
    /// The builder plugin's version (`describe`'s `version`).
    public var builderVersion: String
    /// The tool's version the builder reports (`describe`'s `info.tool_version`, e.g. packer's); nil when it reports none.
    public var toolVersion: String?
    /// Every template file: its path relative to the template (the file name for a single file) and bytes.
    public var templateFiles: [(path: String, bytes: [UInt8])]
    /// The vars as the builder receives them, except that secret values are replaced by their
    /// digest and `file:` vars by the file's digest (so moving a file does not change the key).
    public var vars: [String: String]
    /// The host architecture (`uname -m`).
    public var architecture: String

    /// Version of the canonical form; bump it when the form changes, so old keys are not reused.
    public static let formVersion = "sandboxer.image-key/1"

    public init(builderName: String, builderVersion: String, toolVersion: String?, templateFiles: [(path: String, bytes: [UInt8])],
                vars: [String: String], architecture: String) {
        self.builderName = builderName; self.builderVersion = builderVersion; self.toolVersion = toolVersion
        self.templateFiles = templateFiles; self.vars = vars; self.architecture = architecture
    }

    public static func == (a: ImageCacheKey, b: ImageCacheKey) -> Bool { a.canonicalForm == b.canonicalForm }

    /// The bytes the key hashes.
    public var canonicalForm: [UInt8] {
        var out: [UInt8] = []
        func record(_ name: String, _ value: [UInt8]) {
            out += Array("\(name) \(value.count):".utf8)
            out += value
            out.append(0x0A)
        }
        record("form", Array(Self.formVersion.utf8))
        record("builder", Array(builderName.utf8))
        record("builder_version", Array(builderVersion.utf8))
        record("tool_version", Array((toolVersion ?? "").utf8))
        record("architecture", Array(architecture.utf8))
        let files = templateFiles.sorted { Array($0.path.utf8).lexicographicallyPrecedes(Array($1.path.utf8)) }
        record("template_files", Array(String(files.count).utf8))
        for file in files {
            record("path", Array(file.path.utf8))
            record("bytes", file.bytes)
        }
        let names = vars.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
        record("vars", Array(String(names.count).utf8))
        for name in names {
            record("name", Array(name.utf8))
            record("value", Array((vars[name] ?? "").utf8))
        }
        return out
    }

    /// The key: 64 lowercase hex digits.
    public var hex: String { SHA256.hex(SHA256.hash(canonicalForm)) }

    /// What a secret's value contributes to the key: its digest, never the value.
    public static func secretDigest(_ value: String) -> String {
        "secret-sha256:" + SHA256.hex(SHA256.hash(Array(value.utf8)))
    }

    /// The call in a template that would make its output differ on every build (so the key would
    /// lie), or nil: HCL's `timestamp()` and `uuidv4()`, and legacy JSON's `{{timestamp}}`,
    /// `{{isotime}}` and `{{uuid}}`.
    public static func nondeterministicCall(in text: String) -> String? {
        // The builder applies the same rule before it runs a template: one definition for both sides.
        BuildTemplateRules.nondeterministicCalls(in: text).first
    }
}
