import YAMLSubset
import Config
import Core
import PluginProtocol

/// The OpenAPI document `GET /openapi.json` serves: docs/openapi.yaml, embedded at build time.
///
/// `Sources/API/Resources/openapi.yaml` is a symlink to docs/openapi.yaml, declared in Package.swift
/// as an `.embedInCode` resource, so SwiftPM compiles the file's bytes into the binary: there is one
/// copy of the document, and the server cannot drift from what is committed.
enum OpenAPIDocument {
    /// The document as committed in docs/openapi.yaml.
    static var yaml: String { String(decoding: PackageResources.openapi_yaml, as: UTF8.self) }

    /// The embedded document as JSON.
    static func json() throws(SandboxerError) -> JSONValue { try json(yaml) }

    /// `text` as JSON, parsed with the config's YAML subset parser (the document is written in it).
    /// A document that does not parse, or is not a mapping, is one line naming where and why.
    static func json(_ text: String) throws(SandboxerError) -> JSONValue {
        let value: JSONValue
        do {
            value = try YAMLParser.parse(text, file: "docs/openapi.yaml").jsonValue
        } catch {
            throw SandboxerError(.internal, "The OpenAPI document built into this sandboxer does not parse (\(error.description)); the binary was built from a broken docs/openapi.yaml.")
        }
        guard case .object(let fields) = value, fields["paths"]?.objectValue != nil else {
            throw SandboxerError(.internal, "The OpenAPI document built into this sandboxer is not a mapping with 'paths'; the binary was built from a broken docs/openapi.yaml.")
        }
        return value
    }
}
