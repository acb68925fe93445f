import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// Labels the host itself sets on sandboxes (consumers cannot: the `sandboxer.` prefix is reserved).
public enum SandboxLabels {
    /// The API token name that created the sandbox; consumers see only their own.
    public static let owner = "sandboxer.owner"
}

/// Label keys and values consumers may set.
package enum LabelRules {
    package static func validate(_ labels: [String: String]) throws(SandboxerError) {
        for (key, value) in labels {
            let okKey = !key.isEmpty && key.count <= 63 && key.unicodeScalars.allSatisfy {
                $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) || "._-/".unicodeScalars.contains($0)
            }
            guard okKey else {
                throw SandboxerError(.invalidArgument, "Invalid label key \(key.quotedForMessage): use 1 to 63 characters from a-z, A-Z, 0-9, '.', '_', '-' and '/'.")
            }
            guard !key.hasPrefix("sandboxer.") else {
                throw SandboxerError(.invalidArgument, "The label key '\(key)' is reserved: keys starting with 'sandboxer.' belong to the host.")
            }
            guard value.count <= 256 else {
                throw SandboxerError(.invalidArgument, "The value of label '\(key)' is longer than 256 characters.")
            }
            // NUL truncates the value in C consumers (a plugin, a shell); newlines forge log and table lines.
            guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw SandboxerError(.invalidArgument, "The value of label '\(key)' contains a control character (NUL, newline, DEL…): label values are printable text.")
            }
        }
    }
}

