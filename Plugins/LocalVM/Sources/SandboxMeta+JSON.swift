import FoundationEssentials
import PluginKit

extension SandboxMeta {
    /// Largest meta.json `load` reads: the labels and env it holds are bounded by the host's request
    /// limits, far below this.
    static let maxFileBytes = 4 << 20

    /// Reads meta.json as `JSONDecoder` would (same keys, same optionals), without Codable: `exec`
    /// and `destroy` read it on every call, and a decoder's first use in a fresh CLI process costs
    /// ~0.5 ms of type-metadata lookups (docs/performance.md "CLI exec (session 8)").
    init(json: Data) throws(JSONFieldError) {
        let f = try JSONObjectFields(json)
        self.init(sandboxId: try f.string("sandbox_id"), hostId: try f.string("host_id"), profile: try f.string("profile"),
                  labels: try f.stringMap("labels"), env: try f.stringMap("env"),
                  createdAtMs: try f.int("created_at_ms", as: Int64.self), initPid: try f.int("init_pid", as: Int32.self),
                  initStartTime: try f.int("init_start_time", as: UInt64.self),
                  deadlineMs: try f.optionalInt("deadline_ms", as: Int64.self), image: try f.string("image"),
                  lowerDir: try f.string("lower_dir"), uidBase: try f.int("uid_base", as: UInt32.self),
                  cgroupParent: try f.string("cgroup_parent"), network: try f.optionalString("network"),
                  hostUidBase: try f.optionalInt("host_uid_base", as: UInt32.self))
    }
}
