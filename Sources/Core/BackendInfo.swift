import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// The free-form `info` a backend returned from `create` or `restore` (addresses, ports, times),
/// bounded before the store keeps it: a plugin cannot make every row, and every `list`, huge.
public enum BackendInfo {
    /// Bytes of compact JSON kept per sandbox (4 KiB).
    public static let maxBytes = 4096
    /// The member added when members had to be dropped: how many were.
    public static let droppedKey = "sandboxer.dropped_keys"

    /// `info` as the store keeps it: every member while the compact JSON stays within `maxBytes`,
    /// taken in key order; members that do not fit are dropped and counted under `droppedKey`.
    /// An empty object is nil (nothing to show).
    public static func bounded(_ info: [String: JSONValue]) -> JSONValue? {
        guard !info.isEmpty else { return nil }
        if size(of: .object(info)) <= maxBytes { return .object(info) }
        // Room for the marker member: its key and a count of up to 19 digits.
        var budget = maxBytes - (JSONText.quote(droppedKey).utf8.count + 22)
        var kept: [String: JSONValue] = [:]
        var dropped = 0
        for key in info.keys.sorted() {
            let member = JSONText.quote(key).utf8.count + 2 + size(of: info[key]!)
            if member <= budget {
                kept[key] = info[key]
                budget -= member
            } else {
                dropped += 1
            }
        }
        kept[droppedKey] = .number(Double(dropped))
        return .object(kept)
    }

    /// Bytes of `value` as compact JSON.
    static func size(of value: JSONValue) -> Int {
        value.rendered(pretty: false).utf8.count - 1   // without the trailing newline
    }

    /// The stored text of `info` (compact JSON), nil for none.
    public static func text(_ info: JSONValue?) -> String? {
        info.map { String($0.rendered(pretty: false).dropLast()) }
    }

    /// Reads stored text back; text that is not a JSON object reads as nil.
    public static func parse(_ text: String?) -> JSONValue? {
        // The store's own object reader (not JSONDecoder: Codable's first use per process costs more than a CLI's rows).
        guard let text, let members = JSONValue.storedObject(text) else { return nil }
        return .object(members)
    }
}
