import Foundation
import Glibc
import PluginKit

/// The Packer builder's config object (the `config:` of its `builders:` entry).
///
/// | key | default | meaning |
/// |---|---|---|
/// | `data_dir` | a private temp dir | where build work dirs (removed after each build) and logs live |
/// | `packer_path` | `packer` on `PATH`, else `/usr/bin/packer` | the packer binary |
/// | `max_log_bytes` | 16 MiB | cap on one build's log file; the rest is counted, not kept |
/// | `stop_grace_seconds` | 10 | after a cancel: how long packer gets to stop its steps after TERM before KILL |
public struct PackerConfig: Sendable, Equatable {
    public var dataDir: String
    public var packerPath: String
    public var maxLogBytes: Int
    public var stopGraceSeconds: Double

    public static let defaultMaxLogBytes = 16 << 20

    public init(_ config: JSONValue) throws(PluginError) {
        let object = config.objectValue ?? [:]
        let known: Set<String> = ["data_dir", "packer_path", "max_log_bytes", "stop_grace_seconds"]
        if let unknown = object.keys.sorted().first(where: { !known.contains($0) }) {
            throw PluginError(.invalidRequest, "The packer builder's config has an unknown key '\(unknown)' (known: \(known.sorted().joined(separator: ", "))).")
        }
        if let dir = object["data_dir"] {
            guard let path = dir.stringValue, path.hasPrefix("/") else {
                throw PluginError(.invalidRequest, "The packer builder's data_dir must be an absolute path.")
            }
            dataDir = path
        } else {
            var template = Array((NSTemporaryDirectory() + "sandboxer-packer.XXXXXX").utf8CString)
            guard let made = mkdtemp(&template) else {
                throw PluginError(.internal, "Cannot make a private data dir for the packer builder: \(String(cString: strerror(errno))).")
            }
            dataDir = String(cString: made)
        }
        if let path = object["packer_path"] {
            guard let p = path.stringValue, p.hasPrefix("/") else {
                throw PluginError(.invalidRequest, "The packer builder's packer_path must be an absolute path.")
            }
            packerPath = p
        } else {
            packerPath = Self.onPath("packer") ?? "/usr/bin/packer"
        }
        maxLogBytes = Self.defaultMaxLogBytes
        if let value = object["max_log_bytes"] {
            guard let n = value.numberValue, n == n.rounded(), n >= 4096, n <= 17_179_869_184 else {
                throw PluginError(.invalidRequest, "The packer builder's max_log_bytes must be an integer from 4096 to 17179869184.")
            }
            maxLogBytes = Int(n)
        }
        stopGraceSeconds = 10
        if let value = object["stop_grace_seconds"] {
            guard let n = value.numberValue, n >= 0, n <= 600 else {
                throw PluginError(.invalidRequest, "The packer builder's stop_grace_seconds must be a number from 0 to 600.")
            }
            stopGraceSeconds = n
        }
    }

    /// The first executable `name` in the host's PATH.
    static func onPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for dir in path.split(separator: ":") where dir.hasPrefix("/") {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
