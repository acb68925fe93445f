import FoundationEssentials
import Glibc
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

/// A JSON request body read strictly: malformed JSON is 400; a wrong type, a missing field or an
/// unknown field is 422, each naming the field.
struct RequestBody {
    let fields: [String: JSONValue]

    /// Parses `data` as a JSON object whose keys are all in `allowed`. An empty body is `{}`.
    init(_ data: Data, allowed: Set<String>) throws(APIError) {
        if data.isEmpty { fields = [:]; return }
        do { try StrictJSON.check(Array(data)) } catch {
            throw APIError.badRequest("The request body is not valid JSON: \(error.message).")
        }
        // `JSONReader` gives what `JSONDecoder` gives for JSON that passed the check above (no
        // duplicate keys, no trailing commas), without Codable's per-request cost in `serve`.
        guard let value = JSONReader.parse(data) else {
            throw APIError.badRequest("The request body is not valid JSON.")
        }
        guard case .object(let object) = value else { throw APIError.unprocessable("The request body must be a JSON object.") }
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError.unprocessable("Unknown field '\(unknown)' (allowed: \(allowed.sorted().joined(separator: ", "))).")
        }
        fields = object
    }

    func string(_ key: String, required: Bool = false) throws(APIError) -> String? {
        switch fields[key] {
        case nil, .null?:
            if required { throw APIError.unprocessable("The field '\(key)' is required.") }
            return nil
        case .string(let s)?: return s
        default: throw APIError.unprocessable("The field '\(key)' must be a string.")
        }
    }

    func stringMap(_ key: String) throws(APIError) -> [String: String] {
        switch fields[key] {
        case nil, .null?: return [:]
        case .object(let o)?:
            var out: [String: String] = [:]
            for (k, v) in o {
                guard case .string(let s) = v else { throw APIError.unprocessable("The values of '\(key)' must be strings ('\(k)' is not).") }
                out[k] = s
            }
            return out
        default: throw APIError.unprocessable("The field '\(key)' must be an object of strings.")
        }
    }

    func stringArray(_ key: String, required: Bool = false) throws(APIError) -> [String]? {
        switch fields[key] {
        case nil, .null?:
            if required { throw APIError.unprocessable("The field '\(key)' is required.") }
            return nil
        case .array(let a)?:
            var out: [String] = []
            for item in a {
                guard case .string(let s) = item else { throw APIError.unprocessable("The field '\(key)' must be an array of strings.") }
                out.append(s)
            }
            return out
        default: throw APIError.unprocessable("The field '\(key)' must be an array of strings.")
        }
    }
}
