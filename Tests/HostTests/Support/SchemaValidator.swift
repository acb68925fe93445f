import Foundation
import PluginKit

/// Validates JSON against the OpenAPI 3.0 schema subset our document uses: $ref, type, nullable,
/// enum, required, properties, additionalProperties, items. Returns the problems found.
struct SchemaValidator {
    let document: JSONValue

    func resolve(_ schema: JSONValue) -> JSONValue {
        guard let ref = schema["$ref"]?.stringValue, ref.hasPrefix("#/") else { return schema }
        var node = document
        for part in ref.dropFirst(2).split(separator: "/") { node = node[String(part)] ?? .null }
        return resolve(node)
    }

    func validate(_ value: JSONValue, _ schema: JSONValue, at path: String = "$") -> [String] {
        let schema = resolve(schema)
        if case .null = value {
            if schema["nullable"]?.boolValue == true || schema["type"] == nil { return [] }
            return ["\(path): null is not allowed"]
        }
        if let allowed = schema["enum"]?.arrayValue, !allowed.contains(value) {
            return ["\(path): \(value) is not one of the enum values"]
        }
        var problems: [String] = []
        switch (schema["type"]?.stringValue, value) {
        case (nil, _), ("string", .string), ("boolean", .bool): break
        case ("number", .number): break
        case ("integer", .number(let n)) where n.rounded() == n: break
        case ("array", .array(let items)):
            if let itemSchema = schema["items"] {
                for (i, item) in items.enumerated() { problems += validate(item, itemSchema, at: "\(path)[\(i)]") }
            }
        case ("object", .object(let object)):
            let properties = schema["properties"]?.objectValue ?? [:]
            for key in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where object[key] == nil {
                problems.append("\(path): missing required '\(key)'")
            }
            for (key, member) in object {
                if let p = properties[key] { problems += validate(member, p, at: "\(path).\(key)"); continue }
                switch schema["additionalProperties"] {
                case .bool(false)?: problems.append("\(path): unexpected property '\(key)'")
                case .object?: problems += validate(member, schema["additionalProperties"]!, at: "\(path).\(key)")
                default: break
                }
            }
        default:
            problems.append("\(path): expected \(schema["type"]?.stringValue ?? "?"), got \(value)")
        }
        return problems
    }

    /// The response schema the document declares for (path pattern, method, status).
    func responseSchema(path: String, method: String, status: Int) -> JSONValue? {
        guard let op = document["paths"]?[path]?[method.lowercased()],
              let response = op["responses"]?[String(status)].map(resolve) else { return nil }
        return response["content"]?["application/json"]?["schema"] ?? (response["content"]?["text/plain"] != nil ? .object([:]) : nil)
    }
}
