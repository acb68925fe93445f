import FoundationEssentials
import Glibc
import Core
import YAMLSubset
import Basics

extension ConfigLoader {
    static let execKeys = ["max_output_bytes"]

    /// Reads the optional top-level `exec` block: `{max_output_bytes: 16M}` (K, M, G suffixes as for memory).
    static func exec(_ node: YAMLNode, reader: ConfigReader) throws(ConfigError) -> ExecSettings {
        var settings = ExecSettings()
        if reader.isNull(node) { return settings }
        let entries = try reader.mapping(node, "\"exec\"")
        try reader.checkKeys(entries, allowed: execKeys, "in \"exec\"")
        if let value = node["max_output_bytes"], !reader.isNull(value) {
            let text = try reader.string(value, "\"max_output_bytes\" in \"exec\"")
            guard let bytes = ResourceSpec.parseMemory(text) else {
                throw reader.fail(.invalidValue, "Invalid size \(text.quotedForMessage) for \"max_output_bytes\" in \"exec\": expected a whole number of bytes greater than zero, optionally followed by K, M, G or T (for example 16M).", at: value)
            }
            settings.maxOutputBytes = bytes
        }
        return settings
    }
}
