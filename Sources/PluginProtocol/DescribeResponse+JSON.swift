import FoundationEssentials

extension DescribeResponse {
    /// Reads a `describe` answer without Codable (`JSONReader`): the host asks every plugin it loads
    /// for one, so a CLI command paid Codable's first-use metadata work for it (docs/performance.md
    /// "Codable at instance create"). Accepts what the Codable conformance accepts — unknown members
    /// ignored, `boot_artifact_kinds` and `info` optional (null as absent) — and throws the same
    /// kind of message when it does not fit: "missing key 'x'", "wrong type at 'x'", "malformed JSON".
    public static func read(_ bytes: Data) throws(DescribeReadError) -> DescribeResponse {
        guard let value = JSONReader.parse(bytes) else { throw DescribeReadError("malformed JSON") }
        guard case .object(let members) = value else { throw DescribeReadError("wrong type at ''") }
        func string(_ key: String) throws(DescribeReadError) -> String {
            guard let member = members[key], member != .null else { throw DescribeReadError("missing key '\(key)'") }
            guard let text = member.stringValue else { throw DescribeReadError("wrong type at '\(key)'") }
            return text
        }
        func strings(_ key: String, required: Bool) throws(DescribeReadError) -> [String]? {
            guard let member = members[key], member != .null else {
                if required { throw DescribeReadError("missing key '\(key)'") }
                return nil
            }
            guard let items = member.arrayValue else { throw DescribeReadError("wrong type at '\(key)'") }
            var out: [String] = []
            out.reserveCapacity(items.count)
            for (index, item) in items.enumerated() {
                guard let text = item.stringValue else { throw DescribeReadError("wrong type at '\(key).\(index)'") }
                out.append(text)
            }
            return out
        }
        var info: [String: JSONValue]?
        if let member = members["info"], member != .null {
            guard case .object(let object) = member else { throw DescribeReadError("wrong type at 'info'") }
            info = object
        }
        return DescribeResponse(name: try string("name"), version: try string("version"),
                                capabilities: try strings("capabilities", required: true) ?? [],
                                bootArtifactKinds: try strings("boot_artifact_kinds", required: false), info: info)
    }
}

/// Why a `describe` answer does not fit the message (the part after "does not match the ABI's message: ").
public struct DescribeReadError: Error, Sendable, Equatable {
    public let detail: String
    public init(_ detail: String) { self.detail = detail }
}
