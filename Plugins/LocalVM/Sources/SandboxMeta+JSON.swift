import FoundationEssentials
import PluginKit

extension SandboxMeta {
    /// Largest meta.json `load` reads: the labels and env it holds are bounded by the host's request
    /// limits, far below this.
    static let maxFileBytes = 4 << 20

    /// Reads meta.json as `JSONDecoder` would (same keys, same optionals), without Codable: `exec`
    /// and `destroy` read it on every call, and a decoder's first use in a fresh CLI process costs
    /// ~0.5 ms of type-metadata lookups (docs/performance.md "The CLI process (session 8)").
    /// A file that may hold an integer wider than 2^53 (a run of 16 digits) is read by `JSONDecoder`,
    /// so every value stays exact (`JSONReader` keeps numbers as `Double`).
    init(json: Data) throws(JSONFieldError) {
        if let exact = try JSONObjectFields.decodedIfWide(SandboxMeta.self, json) { self = exact; return }
        let f = try JSONObjectFields(json)
        self.init(sandboxId: try f.string("sandbox_id"), hostId: try f.string("host_id"), profile: try f.string("profile"),
                  labels: try f.stringMap("labels"), env: try f.stringMap("env"),
                  createdAtMs: try f.int("created_at_ms", as: Int64.self), initPid: try f.int("init_pid", as: Int32.self),
                  initStartTime: try f.int("init_start_time", as: UInt64.self),
                  deadlineMs: try f.optionalInt("deadline_ms", as: Int64.self), image: try f.string("image"),
                  lowerDir: try f.string("lower_dir"), uidBase: try f.int("uid_base", as: UInt32.self),
                  cgroupParent: try f.string("cgroup_parent"), network: try f.optionalString("network"),
                  hostUidBase: try f.optionalInt("host_uid_base", as: UInt32.self),
                  ctlDev: try f.optionalInt("ctl_dev", as: UInt64.self), ctlIno: try f.optionalInt("ctl_ino", as: UInt64.self))
    }

    /// The file's bytes as `JSONEncoder` with `.sortedKeys` writes them (a create saves it twice).
    var jsonData: Data {
        var w = JSONObjectWriter(capacity: 512)
        w.string("cgroup_parent", cgroupParent)
        w.int("created_at_ms", createdAtMs)
        w.uint("ctl_dev", ctlDev)
        w.uint("ctl_ino", ctlIno)
        w.int("deadline_ms", deadlineMs)
        w.stringMap("env", env)
        w.string("host_id", hostId)
        w.int("host_uid_base", hostUidBase.map(Int64.init))
        w.string("image", image)
        w.int("init_pid", Int64(initPid))
        w.uint("init_start_time", initStartTime)
        w.stringMap("labels", labels)
        w.string("lower_dir", lowerDir)
        w.string("network", network)
        w.string("profile", profile)
        w.string("sandbox_id", sandboxId)
        w.int("uid_base", Int64(uidBase))
        return w.finish()
    }
}
