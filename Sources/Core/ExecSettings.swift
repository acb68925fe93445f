/// The top-level `exec` block of the config: limits of whole-buffer exec.
public struct ExecSettings: Sendable, Equatable {
    /// The default cap on bytes kept per output stream of a whole-buffer exec: 4 MiB, so both streams
    /// in base64 fit the default 16 MiB a plugin response may have (a larger cap needs `max_response`).
    public static let defaultMaxOutputBytes: Int64 = 4 << 20
    /// Bytes kept per output stream of a whole-buffer exec; the rest is dropped and the response says
    /// `stdout_truncated` / `stderr_truncated`. Streamed exec has no cap: nothing is held.
    public var maxOutputBytes: Int64 = ExecSettings.defaultMaxOutputBytes
    public init(maxOutputBytes: Int64 = ExecSettings.defaultMaxOutputBytes) { self.maxOutputBytes = maxOutputBytes }
}
