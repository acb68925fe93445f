import Basics
import PluginProtocol
/// A named recipe for sandboxes: which backend, what image and limits, and the TTL rules.
public struct Profile: Sendable, Equatable {
    public var name: String
    /// Name of an entry in `Config.backends`.
    public var backend: String
    public var image: String?
    public var resources: ResourceSpec
    /// `none` (no network, the default) or `bridge` (a private link to the host).
    public var network: String
    /// Environment variables set inside the sandbox.
    public var env: [String: String]
    public var ttl: TTLPolicy
    /// The consumer token this profile is for; `*` opens it to every consumer, nil keeps it for
    /// operators (see `isOpen(to:)`).
    public var consumer: String?
    /// Labels put on every sandbox made from this profile (next to the host's ownership labels).
    public var labels: [String: String]
    /// What the expiry sweep does before destroying an expired sandbox.
    public var onExpire: OnExpire = .destroy
    /// Which snapshots of this profile's sandboxes the retention sweep keeps.
    public var snapshots = SnapshotRetention()
    /// The profile this one was built on (`extends:`), for display; its keys are already merged in.
    public var extends: String?
    /// Named ports the sandbox must expose (`reach:`), sorted by name; see docs/reachability.md.
    public var reach: [ReachPort] = []
    /// Options of a network other than `none` (egress, published ports), passed to the backend.
    public var networkOptions: CreateNetworkOptions?
    /// `exec: {timeout: …}`: how long a command may run when its request names no timeout.
    public var execTimeout = Profile.defaultExecTimeout

    /// The exec timeout of a profile that sets none: no command holds a worker (or a sandbox) forever.
    public static let defaultExecTimeout = TTLDuration(seconds: 600)
    /// Labels a backend host must carry to receive this profile's sandboxes (`placement:`); empty: any host.
    public var placement: [String: String] = [:]
    /// The `build:` block: the image is built by a builder instead of named (`image` is then nil).
    public var build: BuildSpec?

    /// `on_expire`: `destroy` (the default) or `snapshot` (snapshot first, then destroy).
    public enum OnExpire: String, Sendable, CaseIterable { case destroy, snapshot }

    /// `snapshots: {keep: N, max_age: 7d}`: per sandbox, keep the newest `keep`; drop any older than
    /// `maxAge`. Nil fields do not limit.
    public struct SnapshotRetention: Sendable, Equatable {
        public var keep: Int?
        public var maxAge: TTLDuration?
        public init(keep: Int? = nil, maxAge: TTLDuration? = nil) { self.keep = keep; self.maxAge = maxAge }
    }

    /// Networks a profile may ask for.
    public static let networks = ["none", "bridge"]

    public init(name: String, backend: String, image: String? = nil, resources: ResourceSpec = ResourceSpec(),
                network: String = "none", env: [String: String] = [:], ttl: TTLPolicy = TTLPolicy(),
                consumer: String? = nil, labels: [String: String] = [:]) {
        self.name = name; self.backend = backend; self.image = image; self.resources = resources
        self.network = network; self.env = env; self.ttl = ttl; self.consumer = consumer; self.labels = labels
    }
}
