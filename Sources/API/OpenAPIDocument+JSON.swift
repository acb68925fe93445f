import HTTPServer
import YAMLSubset
import Lifecycle
import Webhooks
import Store
import Config
import Core
import Backends
import Basics
import PluginProtocol

extension OpenAPIDocument {
    /// The document as JSON, parsed with the config's YAML subset parser (the document is written in it).
    static func json() throws(YAMLError) -> JSONValue {
        try YAMLParser.parse(yaml, file: "docs/openapi.yaml").jsonValue
    }
}
