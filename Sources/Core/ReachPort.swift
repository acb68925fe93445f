import Basics
import PluginProtocol

/// One entry of a profile's `reach:`: a named port the sandbox must expose and what it speaks,
/// e.g. `web: {port: 8080, kind: http}`. The descriptor names that port's endpoint after it.
public struct ReachPort: Sendable, Equatable {
    /// The entry's key: the endpoint's name in the descriptor.
    public var name: String
    /// The port inside the sandbox, 1–65535.
    public var port: Int
    public var kind: EndpointKind

    public init(name: String, port: Int, kind: EndpointKind) {
        self.name = name; self.port = port; self.kind = kind
    }
}
