import Core
import YAMLSubset
import Basics
import PluginProtocol

extension ConfigError {
    /// Wraps a YAML syntax error, keeping its location.
    public init(_ yaml: YAMLError) {
        self.init(code: .syntax, message: yaml.message, file: yaml.file, line: yaml.line, column: yaml.column)
    }
}
