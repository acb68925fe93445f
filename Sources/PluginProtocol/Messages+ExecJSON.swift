import FoundationEssentials

// The whole-buffer `exec` messages read and written without `Codable`: `serve` answers every
// `POST /v1/sandboxes/{id}/exec` with one of each, and `JSONEncoder`/`JSONDecoder` were ~4% of
// serve's CPU under a loop of them (perf, docs/performance.md "Whole-buffer exec without Codable
// (session 9)"). Same contract as Messages+ExecStreamJSON.swift: the bytes are `JSONEncoder`'s with
// `.sortedKeys` (`ExecJSONTests` compares them), reading accepts what `JSONDecoder` accepts, and the
// `Codable` conformances stay for plugins built against an older kit.

extension ExecRequest {
    /// The request as JSON (`JSONEncoder`'s bytes with sorted keys).
    public var jsonData: Data {
        var w = JSONObjectWriter(capacity: (stdinB64?.utf8.count ?? 0) + 192)
        w.strings("argv", argv)
        w.string("backend_ref", backendRef)
        w.stringMap("env", env)
        w.int("max_output_bytes", maxOutputBytes)
        w.string("sandbox_id", sandboxId)
        w.string("stdin_b64", stdinB64)
        w.int("timeout_seconds", timeoutSeconds)
        return w.finish()
    }

    /// Reads the request as `JSONDecoder` would.
    public init(json: Data) throws(JSONFieldError) {
        let f = try JSONObjectFields(json)
        self.init(sandboxId: try f.string("sandbox_id"), backendRef: try f.string("backend_ref"), argv: try f.strings("argv"),
                  env: try f.stringMap("env"), stdinB64: try f.optionalString("stdin_b64"),
                  timeoutSeconds: try f.optionalInt("timeout_seconds", as: Int64.self),
                  maxOutputBytes: try f.optionalInt("max_output_bytes", as: Int64.self))
    }
}

extension ExecResponse {
    /// The response as JSON (`JSONEncoder`'s bytes with sorted keys).
    public var jsonData: Data {
        var w = JSONObjectWriter(capacity: stdoutB64.utf8.count + stderrB64.utf8.count + 128)
        w.int("exit_code", Int64(exitCode))
        w.string("stderr_b64", stderrB64)
        w.bool("stderr_truncated", stderrTruncated)
        w.string("stdout_b64", stdoutB64)
        w.bool("stdout_truncated", stdoutTruncated)
        w.bool("timed_out", timedOut)
        return w.finish()
    }

    /// Reads the response as `JSONDecoder` would (the base64 members stay text; `stdout`/`stderr` decode them).
    public init(json: Data) throws(JSONFieldError) {
        let f = try JSONObjectFields(json)
        // Read in declaration order: the first bad member is the one named.
        let exitCode = try f.int("exit_code", as: Int32.self)
        let stdoutB64 = try f.string("stdout_b64"), stderrB64 = try f.string("stderr_b64")
        self.init(exitCode: exitCode, stdout: Data(), stderr: Data(), timedOut: try f.bool("timed_out"),
                  stdoutTruncated: try f.optionalBool("stdout_truncated"), stderrTruncated: try f.optionalBool("stderr_truncated"))
        self.stdoutB64 = stdoutB64
        self.stderrB64 = stderrB64
    }
}
