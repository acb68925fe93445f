import Core
import YAMLSubset
import Basics
import PluginProtocol

// The host-side keys of a backend entry: how long calls may take and how large answers may be.
// The plugin never sees them (it gets only `config`).
extension ConfigLoader {
    /// Keys a `timeouts:` map accepts: `default`, then every operation of the plugin ABI.
    static let timeoutKeys = ["default", "describe", "create", "status", "destroy", "inventory", "exec", "set_timeout",
                              "snapshot", "restore", "delete_snapshot", "build"]
    /// Bounds of `max_response`: a describe must fit, and a host must not be asked to hold gigabytes.
    static let maxResponseRange: ClosedRange<Int64> = 1024...(1 << 30)

    /// `timeouts: {default: 300s, create: 10m, exec: 1h}`: operation (or `default`) → duration.
    static func callTimeouts(_ node: YAMLNode?, _ what: String, reader: ConfigReader) throws(ConfigError) -> [String: TTLDuration] {
        guard let node, !reader.isNull(node) else { return [:] }
        let entries = try reader.mapping(node, "\"timeouts\" in \(what)")
        try reader.checkKeys(entries, allowed: timeoutKeys, "in the timeouts of \(what)")
        var timeouts: [String: TTLDuration] = [:]
        for (key, value) in entries {
            timeouts[key.name] = try reader.duration(value, "\"\(key.name)\" in the timeouts of \(what)")
        }
        return timeouts
    }

    /// `max_response: 64M`: bytes, or with a binary suffix K, M, G.
    static func maxResponse(_ node: YAMLNode?, _ what: String, reader: ConfigReader) throws(ConfigError) -> Int? {
        guard let node, !reader.isNull(node) else { return nil }
        let text = try reader.string(node, "\"max_response\" in \(what)")
        guard let bytes = ResourceSpec.parseMemory(text), maxResponseRange.contains(bytes) else {
            throw reader.fail(.invalidValue, "Invalid max_response \(text.quotedForMessage) in \(what): expected a size from 1K to 1G, as bytes or with a suffix K, M or G (for example 64M).",
                              at: node)
        }
        return Int(bytes)
    }
}

extension ConfigLoader {
    /// `isolation: process | in_process`: where the backend's plugin runs (nil: the default for its path).
    static func isolation(_ node: YAMLNode?, _ what: String, reader: ConfigReader) throws(ConfigError) -> PluginIsolation? {
        guard let node, !reader.isNull(node) else { return nil }
        let text = try reader.string(node, "\"isolation\" in \(what)")
        guard let isolation = PluginIsolation(rawValue: text) else {
            throw reader.fail(.invalidValue, "Invalid isolation \(text.quotedForMessage) in \(what): expected process or in_process.", at: node)
        }
        return isolation
    }
}
