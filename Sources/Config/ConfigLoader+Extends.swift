import Core
import YAMLSubset
import Basics
import PluginProtocol

/// `extends:`: a profile built on another one. Resolved on the YAML before a profile is read, so a
/// merged profile is validated exactly like a written-out one and every error still points at the
/// line where the offending value was written (in the child or in an ancestor).
extension ConfigLoader {
    /// Keys whose mappings merge key by key (the child's entries win); every other key the child
    /// sets replaces the ancestor's value whole.
    static let mergingProfileKeys: Set<String> = ["env", "labels", "reach", "resources", "ttl", "snapshots", "network_options",
                                                    "exec", "placement"]

    /// The profile's own mapping with its ancestors' keys merged under it, and the parent's name.
    static func resolveExtends(_ key: YAMLKey, _ node: YAMLNode, profiles: [String: (key: YAMLKey, node: YAMLNode)],
                               reader: ConfigReader) throws(ConfigError) -> (node: YAMLNode, parent: String?) {
        var chain = [key.name]
        var layers: [(name: String, entries: [(key: YAMLKey, value: YAMLNode)])] = []
        var current = (name: key.name, node: node)
        while true {
            let what = "profile \(current.name.quotedForMessage)"
            let entries = try reader.mapping(current.node, what)
            try reader.checkKeys(entries, allowed: profileKeys, "in \(what)")
            layers.append((current.name, entries))
            guard let extendsNode = current.node["extends"], !reader.isNull(extendsNode) else { break }
            let parent = try reader.string(extendsNode, "\"extends\" in \(what)")
            let path = (chain + [parent]).joined(separator: " → ")
            if chain.contains(parent) {
                throw reader.fail(.invalidValue, "The profile \(key.name.quotedForMessage) cannot be resolved: \"extends\" forms a cycle (\(path)).",
                                  at: extendsNode)
            }
            guard let next = profiles[parent] else {
                let defined = profiles.keys.sorted().joined(separator: ", ")
                throw reader.fail(.invalidValue, "The \(what) extends \(parent.quotedForMessage), which is not defined under \"profiles\" (chain: \(path); defined: \(defined)).",
                                  at: extendsNode)
            }
            chain.append(parent)
            current = (parent, next.node)
        }
        var merged: [(key: YAMLKey, value: YAMLNode)] = []
        for layer in layers.reversed() {
            for (k, v) in layer.entries where k.name != "extends" {
                guard let i = merged.firstIndex(where: { $0.key.name == k.name }) else { merged.append((k, v)); continue }
                if mergingProfileKeys.contains(k.name), let base = merged[i].value.mappingEntries, let over = v.mappingEntries {
                    merged[i] = (k, YAMLNode(.mapping(mergeEntries(base, over)), line: v.line, column: v.column))
                } else {
                    merged[i] = (k, v)
                }
            }
        }
        let parent = layers.count > 1 ? layers[1].name : nil
        return (YAMLNode(.mapping(merged), line: node.line, column: node.column), parent)
    }

    /// `base` with `over`'s entries replacing those of the same key and the new ones appended.
    static func mergeEntries(_ base: [(key: YAMLKey, value: YAMLNode)],
                             _ over: [(key: YAMLKey, value: YAMLNode)]) -> [(key: YAMLKey, value: YAMLNode)] {
        var out = base
        for entry in over {
            if let i = out.firstIndex(where: { $0.key.name == entry.key.name }) { out[i] = entry } else { out.append(entry) }
        }
        return out
    }
}
