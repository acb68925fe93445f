import Core
import YAMLSubset
import Basics
import PluginProtocol

// Builders (`builders:`), a profile's `build:` block, and the images cache's `images:` block
// (docs/images.md). Builders are plugins declared and loaded exactly like backends.
extension ConfigLoader {
    static let buildKeys = ["builder", "template", "vars"]
    static let imagesKeys = ["max_bytes"]

    /// The top-level `builders:` map: name → `plugin`, `config`, `timeouts`, `max_response`.
    static func builders(_ node: YAMLNode?, reader: ConfigReader, environment: [String: String],
                         baseDirectory: String, cwd: String) throws(ConfigError) -> [String: BackendConfig] {
        guard let node, !reader.isNull(node) else { return [:] }
        var builders: [String: BackendConfig] = [:]
        for (key, value) in try reader.mapping(node, "\"builders\"") {
            try reader.checkName(key, "builder")
            builders[key.name] = try backend(key, value, reader: reader, environment: environment,
                                             baseDirectory: baseDirectory, cwd: cwd, role: "builder")
        }
        return builders
    }

    /// A profile's `build: {builder, template, vars}`; nil when the profile has none. A profile may
    /// name an `image` or a `build`, not both.
    static func build(_ key: YAMLKey, _ profileNode: YAMLNode, reader: ConfigReader, builders: [String: BackendConfig],
                      baseDirectory: String, cwd: String) throws(ConfigError) -> BuildSpec? {
        guard let node = profileNode["build"], !reader.isNull(node) else { return nil }
        let what = "profile \(key.name.quotedForMessage)"
        if let image = profileNode["image"], !reader.isNull(image) {
            throw reader.fail(.invalidValue, "The \(what) has both \"image\" and \"build\": name a ready image or build one, not both.", at: node)
        }
        let entries = try reader.mapping(node, "\"build\" in \(what)")
        try reader.checkKeys(entries, allowed: buildKeys, "in the build of \(what)")
        guard let builderNode = node["builder"], !reader.isNull(builderNode) else {
            throw reader.fail(.missingKey, "The build of \(what) needs a \"builder\" key naming one of the builders.", at: node)
        }
        let builder = try reader.string(builderNode, "\"builder\" in the build of \(what)")
        guard builders[builder] != nil else {
            let defined = builders.keys.sorted()
            let list = defined.isEmpty ? "no builders are defined" : "defined: \(defined.joined(separator: ", "))"
            throw reader.fail(.invalidValue, "The build of \(what) names builder \(builder.quotedForMessage), which is not defined under \"builders\" (\(list)).",
                              at: builderNode)
        }
        guard let templateNode = node["template"], !reader.isNull(templateNode) else {
            throw reader.fail(.missingKey, "The build of \(what) needs a \"template\" key: a template file or a directory of them.", at: node)
        }
        let template = ConfigPaths.absolute(try reader.string(templateNode, "\"template\" in the build of \(what)"),
                                            base: baseDirectory, cwd: cwd)
        var vars: [String: String] = [:]
        if let varsNode = node["vars"], !reader.isNull(varsNode) {
            vars = try stringMap(varsNode, field: "vars", what: "the build of \(what)", reader: reader) { name in
                if name == BuildSpec.outputDirVar { return "The var \"output_dir\" in the build of \(what) is set by the host; remove it." }
                return isEnvironmentName(name) ? nil
                    : "Invalid var name \(name.quotedForMessage) in the build of \(what): use letters, digits and \"_\", not starting with a digit."
            }
            for (name, value) in vars where value.hasPrefix(BuildSpec.filePrefix) {
                let path = String(value.dropFirst(BuildSpec.filePrefix.count))
                guard !path.isEmpty else {
                    throw reader.fail(.invalidValue, "The var \(name.quotedForMessage) in the build of \(what) is \"file:\" without a path.", at: varsNode)
                }
                vars[name] = BuildSpec.filePrefix + ConfigPaths.absolute(path, base: baseDirectory, cwd: cwd)
            }
        }
        return BuildSpec(builder: builder, template: template, vars: vars)
    }

    /// The top-level `images: {max_bytes: 20G}`.
    static func images(_ node: YAMLNode, reader: ConfigReader) throws(ConfigError) -> ImageSettings {
        var settings = ImageSettings()
        if reader.isNull(node) { return settings }
        let entries = try reader.mapping(node, "\"images\"")
        try reader.checkKeys(entries, allowed: imagesKeys, "in \"images\"")
        if let maxNode = node["max_bytes"], !reader.isNull(maxNode) {
            let text = try reader.string(maxNode, "\"max_bytes\" in \"images\"")
            guard let bytes = ResourceSpec.parseMemory(text) else {
                throw reader.fail(.invalidValue, "Invalid max_bytes \(text.quotedForMessage) in \"images\": expected a size in bytes, optionally followed by K, M, G or T (for example 20G).",
                                  at: maxNode)
            }
            settings.maxBytes = bytes
        }
        return settings
    }
}
