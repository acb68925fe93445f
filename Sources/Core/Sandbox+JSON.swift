import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

extension Sandbox {
    /// The sandbox as both fronts print it: snake_case keys, RFC 3339 UTC times, null when unset.
    public var jsonValue: JSONValue {
        func time(_ d: Date?) -> JSONValue { d.map { .string(RFC3339.format($0)) } ?? .null }
        return .object([
            "id": .string(id), "profile": .string(profile), "backend": .string(backend),
            "state": .string(state.rawValue), "ttl": .string(DurationText.format(ttlSeconds)),
            "ttl_seconds": .number(Double(ttlSeconds)), "max_ttl": .string(DurationText.format(maxTTLSeconds)),
            "idle_reap": idleReapSeconds.map { .string(DurationText.format($0)) } ?? .null,
            "created_at": time(createdAt), "ready_at": time(readyAt), "updated_at": time(updatedAt),
            "expires_at": time(expiresAt), "labels": .object(labels.mapValues { .string($0) }),
            "backend_ref": backendRef.map { .string($0) } ?? .null,
            "reason": reason.map { .string($0.rawValue) } ?? .null, "host_id": .string(hostId),
            "last_activity": lastActivity.map { .string($0) } ?? .null,
            "source_snapshot": sourceSnapshot.map { .string($0) } ?? .null,
            "image_id": imageId.map { .string($0) } ?? .null,
            "info": backendInfo ?? .null,
        ])
    }
}

extension SandboxEvent {
    /// The event as both fronts print it; `data` is embedded as an object.
    public var jsonValue: JSONValue {
        .object(["seq": .number(Double(seq)), "sandbox_id": .string(sandboxId), "type": .string(type),
                 "at": .string(RFC3339.format(at)), "data": data.jsonValue])
    }
}

extension JSONValue {
    /// Pretty, key-sorted JSON text with a trailing newline.
    public func rendered(pretty: Bool = true) -> String {
        if !pretty {
            // Written directly: the API renders on every request and JSONEncoder was its hot spot.
            var out = ""
            write(to: &out)
            return out + "\n"
        }
        // Written directly too: a one-shot `sandboxer create --json` paid JSONEncoder's first use of
        // JSONValue (1.1% of the command's samples, docs/performance.md "The CLI process (session 8)").
        var out = ""
        writePretty(to: &out, indent: 0)
        return out + "\n"
    }
}

extension JSONValue {
    /// Appends pretty JSON text with keys sorted: the document JSONEncoder gives with `.prettyPrinted`,
    /// `.sortedKeys` and `.withoutEscapingSlashes` (two spaces a level, `"key" : value`, an empty
    /// container as an empty line between its brackets); strings are quoted as the compact form
    /// quotes them (`JSONText.quote`: a control character or DEL as `\u00XX`).
    func writePretty(to out: inout String, indent: Int) {
        switch self {
        case .array(let items):
            out += "[\n"
            for (i, item) in items.enumerated() {
                if i > 0 { out += ",\n" }
                out += String(repeating: " ", count: indent + 2)
                item.writePretty(to: &out, indent: indent + 2)
            }
            out += "\n" + String(repeating: " ", count: indent) + "]"
        case .object(let members):
            out += "{\n"
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out += ",\n" }
                out += String(repeating: " ", count: indent + 2)
                out += JSONText.quote(key)
                out += " : "
                members[key]!.writePretty(to: &out, indent: indent + 2)
            }
            out += "\n" + String(repeating: " ", count: indent) + "}"
        default:
            write(to: &out)
        }
    }

    /// Appends compact JSON text with keys sorted (the same document JSONEncoder gives with `.sortedKeys`).
    func write(to out: inout String) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n):
            if n.rounded() == n, abs(n) < 9.0e15 { out += String(Int64(n)) } else if n.isFinite { out += String(n) } else { out += "null" }
        case .string(let s): out += JSONText.quote(s)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            for (i, key) in members.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                out += JSONText.quote(key)
                out += ":"
                members[key]!.write(to: &out)
            }
            out += "}"
        }
    }
}
