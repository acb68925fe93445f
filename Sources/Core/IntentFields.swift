import Foundation
import Basics
import PluginProtocol

/// Reads the flat string fields of a stored intent (`request` column) or of an event's data.
package struct IntentFields {
    private let fields: [String: String]
    package init(_ json: String) {
        fields = (try? JSONDecoder().decode([String: String].self, from: Data(json.utf8))) ?? [:]
    }
    package subscript(key: String) -> String? { fields[key] }
    /// Every field, to copy into a new intent.
    package var all: [String: String] { fields }
}

