import FoundationEssentials

// `create`'s answer and the `SandboxRef` of `status` and `destroy`, read and written without
// `Codable`, as the exec-stream messages are (Messages+ExecStreamJSON.swift says why and how):
// `sandboxer create` and `sandboxer destroy` are one-shot processes, and `CreateResponse.info`
// (a `[String: JSONValue]`) was the costliest first use of `Codable` left in a create (~0.5 ms
// each side, perf, docs/performance.md "The CLI rows (session 7)"). `CreateRequest`: Messages+CreateJSON.swift.

extension SandboxRef {
    /// The request as JSON (`JSONEncoder`'s bytes with sorted keys).
    public var jsonData: Data {
        var w = JSONObjectWriter()
        w.string("backend_ref", backendRef)
        w.string("sandbox_id", sandboxId)
        return w.finish()
    }

    /// Reads the request as `JSONDecoder` would.
    public init(json: Data) throws(JSONFieldError) {
        let f = try JSONObjectFields(json)
        self.init(sandboxId: try f.string("sandbox_id"), backendRef: try f.string("backend_ref"))
    }
}

extension CreateResponse {
    /// The response as JSON (`JSONEncoder`'s bytes with sorted keys).
    public var jsonData: Data {
        var w = JSONObjectWriter(capacity: 256)
        w.string("backend_ref", backendRef)
        w.object("info", info)
        return w.finish()
    }

    /// Reads the response as `JSONDecoder` would.
    public init(json: Data) throws(JSONFieldError) {
        let f = try JSONObjectFields(json)
        self.init(backendRef: try f.string("backend_ref"), info: try f.object("info"))
    }
}
