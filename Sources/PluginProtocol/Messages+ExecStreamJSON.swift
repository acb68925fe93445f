import FoundationEssentials

// The `sandboxer.exec-stream/1` messages read and written without `Codable`: a streamed exec sends
// five to seven of them (start, a read per stream, wait, release), and the CLI is a one-shot process
// that would otherwise pay `Codable`'s first use of each type (its metadata and conformance lookups)
// at every `sandboxer exec`. The bytes are `JSONEncoder`'s with `.sortedKeys` (members below are
// written in sorted order; `ExecStreamJSONTests` compares them), and reading accepts what
// `JSONDecoder` accepts for these types, so either side may still use `Codable`: a plugin built
// against an older kit, or in C, sees the same wire format. The `Codable` conformances stay.

extension ExecStartRequest {
    /// The request as JSON (`JSONEncoder`'s bytes with sorted keys).
    public var jsonData: Data {
        var w = JSONObjectWriter(capacity: 160)
        w.strings("argv", argv)
        w.string("backend_ref", backendRef)
        w.stringMap("env", env)
        w.string("sandbox_id", sandboxId)
        w.bool("stdin", stdin)
        w.int("timeout_seconds", timeoutSeconds)
        return w.finish()
    }

    /// Reads the request as `JSONDecoder` would.
    public init(json: Data) throws(JSONFieldError) {
        let f = try JSONObjectFields(json)
        self.init(sandboxId: try f.string("sandbox_id"), backendRef: try f.string("backend_ref"), argv: try f.strings("argv"),
                  env: try f.stringMap("env"), stdin: try f.optionalBool("stdin"),
                  timeoutSeconds: try f.optionalInt("timeout_seconds", as: Int64.self))
    }
}

extension ExecStartResponse {
    /// The response as JSON.
    public var jsonData: Data {
        var w = JSONObjectWriter()
        w.string("handle", handle)
        return w.finish()
    }

    /// Reads the response as `JSONDecoder` would.
    public init(json: Data) throws(JSONFieldError) {
        self.init(handle: try JSONObjectFields(json).string("handle"))
    }
}

extension ExecHandleRef {
    /// The request as JSON.
    public var jsonData: Data {
        var w = JSONObjectWriter()
        w.string("handle", handle)
        w.string("sandbox_id", sandboxId)
        return w.finish()
    }

    /// Reads the request as `JSONDecoder` would.
    public init(json: Data) throws(JSONFieldError) {
        let f = try JSONObjectFields(json)
        self.init(sandboxId: try f.string("sandbox_id"), handle: try f.string("handle"))
    }
}

extension ExecReadRequest {
    /// The request as JSON.
    public var jsonData: Data {
        var w = JSONObjectWriter()
        w.string("handle", handle)
        w.int("max_bytes", Int64(maxBytes))
        w.int("offset", offset)
        w.string("sandbox_id", sandboxId)
        w.string("stream", stream)
        w.int("wait_ms", Int64(waitMs))
        return w.finish()
    }

    /// Reads the request as `JSONDecoder` would.
    public init(json: Data) throws(JSONFieldError) {
        let f = try JSONObjectFields(json)
        self.init(sandboxId: try f.string("sandbox_id"), handle: try f.string("handle"), stream: try f.string("stream"),
                  offset: try f.int("offset", as: Int64.self), maxBytes: try f.int("max_bytes", as: Int.self),
                  waitMs: try f.int("wait_ms", as: Int.self))
    }
}

extension ExecReadResponse {
    /// The response as JSON.
    public var jsonData: Data {
        var w = JSONObjectWriter(capacity: dataB64.utf8.count + 64)
        w.string("data_b64", dataB64)
        w.bool("eof", eof)
        w.int("next_offset", nextOffset)
        return w.finish()
    }

    /// Reads the response as `JSONDecoder` would (`data_b64` stays text; `data` decodes it).
    public init(json: Data) throws(JSONFieldError) {
        let f = try JSONObjectFields(json)
        let dataB64 = try f.string("data_b64")   // read in declaration order: the first bad member is the one named
        self.init(data: Data(), eof: try f.bool("eof"), nextOffset: try f.int("next_offset", as: Int64.self))
        self.dataB64 = dataB64
    }
}

extension ExecWriteRequest {
    /// The request as JSON.
    public var jsonData: Data {
        var w = JSONObjectWriter(capacity: (dataB64?.utf8.count ?? 0) + 96)
        w.bool("close", close)
        w.string("data_b64", dataB64)
        w.string("handle", handle)
        w.string("sandbox_id", sandboxId)
        w.int("wait_ms", waitMs.map(Int64.init))
        return w.finish()
    }

    /// Reads the request as `JSONDecoder` would.
    public init(json: Data) throws(JSONFieldError) {
        let f = try JSONObjectFields(json)
        let sandboxId = try f.string("sandbox_id"), handle = try f.string("handle"), dataB64 = try f.optionalString("data_b64")
        self.init(sandboxId: sandboxId, handle: handle, close: try f.optionalBool("close"), waitMs: try f.optionalInt("wait_ms", as: Int.self))
        self.dataB64 = dataB64
    }
}

extension ExecWriteResponse {
    /// The response as JSON.
    public var jsonData: Data {
        var w = JSONObjectWriter()
        w.int("accepted", Int64(accepted))
        w.bool("closed", closed)
        return w.finish()
    }

    /// Reads the response as `JSONDecoder` would.
    public init(json: Data) throws(JSONFieldError) {
        let f = try JSONObjectFields(json)
        self.init(accepted: try f.int("accepted", as: Int.self), closed: try f.bool("closed"))
    }
}

extension ExecWaitRequest {
    /// The request as JSON.
    public var jsonData: Data {
        var w = JSONObjectWriter()
        w.string("handle", handle)
        w.string("sandbox_id", sandboxId)
        w.int("wait_ms", Int64(waitMs))
        return w.finish()
    }

    /// Reads the request as `JSONDecoder` would.
    public init(json: Data) throws(JSONFieldError) {
        let f = try JSONObjectFields(json)
        self.init(sandboxId: try f.string("sandbox_id"), handle: try f.string("handle"), waitMs: try f.int("wait_ms", as: Int.self))
    }
}

extension ExecWaitResponse {
    /// The response as JSON.
    public var jsonData: Data {
        var w = JSONObjectWriter()
        w.int("exit_code", exitCode.map(Int64.init))
        w.int("signal", signal.map(Int64.init))
        w.string("state", state)
        w.bool("timed_out", timedOut)
        return w.finish()
    }

    /// Reads the response as `JSONDecoder` would.
    public init(json: Data) throws(JSONFieldError) {
        let f = try JSONObjectFields(json)
        self.init(state: try f.string("state"), exitCode: try f.optionalInt("exit_code", as: Int32.self),
                  signal: try f.optionalInt("signal", as: Int32.self), timedOut: try f.optionalBool("timed_out"))
    }
}

extension ExecKillRequest {
    /// The request as JSON.
    public var jsonData: Data {
        var w = JSONObjectWriter()
        w.string("handle", handle)
        w.string("sandbox_id", sandboxId)
        w.int("signal", Int64(signal))
        return w.finish()
    }

    /// Reads the request as `JSONDecoder` would.
    public init(json: Data) throws(JSONFieldError) {
        let f = try JSONObjectFields(json)
        self.init(sandboxId: try f.string("sandbox_id"), handle: try f.string("handle"), signal: try f.int("signal", as: Int32.self))
    }
}

extension EmptyResponse {
    /// `{}`, as `JSONEncoder` writes it.
    public static let jsonData = JSONObjectWriter.data([UInt8(ascii: "{"), UInt8(ascii: "}")])
}

// `describe` (every command that loads a plugin asks it once) and the instance's config, likewise.

extension DescribeResponse {
    /// The response as JSON (`JSONEncoder`'s bytes with sorted keys).
    public var jsonData: Data {
        var w = JSONObjectWriter()
        w.strings("boot_artifact_kinds", bootArtifactKinds)
        w.strings("capabilities", capabilities)
        w.object("info", info)
        w.string("name", name)
        w.string("version", version)
        return w.finish()
    }

    /// Reads the response as `JSONDecoder` would.
    public init(json: Data) throws(JSONFieldError) {
        let f = try JSONObjectFields(json)
        self.init(name: try f.string("name"), version: try f.string("version"), capabilities: try f.strings("capabilities"),
                  bootArtifactKinds: try f.optionalStrings("boot_artifact_kinds"), info: try f.optionalObject("info"))
    }
}
