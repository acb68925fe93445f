import Basics
import PluginProtocol
/// Settings of `sandboxer serve`: where it listens, how often it sweeps, who may call it.
public struct ServerSettings: Sendable, Equatable {
    /// One bearer token, kept only as its SHA-256: the config never holds a usable secret.
    public struct Token: Sendable, Equatable {
        /// `operator` sees and touches everything; `consumer` only the sandboxes it created.
        public enum Role: String, Sendable, CaseIterable { case `operator`, consumer }
        /// Who holds it; recorded as the creator of the sandboxes it makes.
        public var name: String
        public var role: Role
        /// Lowercase hex SHA-256 of the token (`sandboxer token-hash` prints it).
        public var sha256: String
        public init(name: String, role: Role, sha256: String) { self.name = name; self.role = role; self.sha256 = sha256 }
    }

    /// `HOST:PORT` or `unix:/path`; the CLI's `--listen` overrides it.
    public var listen: String = "127.0.0.1:8080"
    /// How often `serve` runs `expire --apply`.
    public var sweepInterval = TTLDuration(seconds: 30)
    public var tokens: [Token] = []
    /// Requests that hold a worker for long (exec) at once, in total and per token (`max_long_requests`,
    /// `max_long_requests_per_token`); past either, 429. The default leaves 2 of the 8 workers free.
    public var maxLongRequests = 6
    public var maxLongRequestsPerToken = 4

    public init(listen: String = "127.0.0.1:8080", sweepInterval: TTLDuration = TTLDuration(seconds: 30), tokens: [Token] = []) {
        self.listen = listen; self.sweepInterval = sweepInterval; self.tokens = tokens
    }
}
