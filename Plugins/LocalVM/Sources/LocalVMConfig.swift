import FoundationEssentials
import Glibc
import PluginKit

/// The LocalVM backend's configuration, read from the host config's backend object.
struct LocalVMConfig: Sendable, Equatable {
    /// Root of everything this backend writes: `images/` and `sandboxes/`.
    var dataDir: String
    /// First host id of the 65536 ids the sandboxes' user namespaces map to.
    var uidBase: UInt32
    /// Name of the cgroup (in every hierarchy) that holds this backend's sandboxes.
    var cgroupParent: String
    /// Where bridged sandboxes get their /30s (`network_pool`).
    var networkPool: NetworkPool
    /// The port forwarder program (`forward_helper`); nil: next to the plugin library.
    var forwardHelper: String?
    /// First host id of the per-sandbox id ranges (`uid_pool_base`) and how many 65536-wide
    /// ranges there are (`uid_pool_slices`; 0: off, every sandbox runs in `uid_base`'s range).
    var uidPoolBase: UInt32 = Self.defaultUidPoolBase
    var uidPoolSlices: UInt32 = Self.defaultUidPoolSlices

    static let defaultUidPoolBase: UInt32 = 1 << 20
    static let defaultUidPoolSlices: UInt32 = 1024

    /// How many ids each sandbox maps (0..65535 inside).
    static let idCount: UInt32 = 65536

    init(dataDir: String, uidBase: UInt32 = 100_000, cgroupParent: String = "sandboxer",
         networkPool: NetworkPool = Self.defaultPool, forwardHelper: String? = nil) {
        self.dataDir = dataDir; self.uidBase = uidBase; self.cgroupParent = cgroupParent
        self.networkPool = networkPool; self.forwardHelper = forwardHelper
    }

    static let defaultPool = NetworkPool.fallback

    init(json: JSONValue) throws(PluginError) {
        guard case .object = json else {
            throw PluginError(.invalidRequest, "The localvm backend config must be a JSON object.")
        }
        guard let dir = json["data_dir"]?.stringValue, dir.hasPrefix("/") else {
            throw PluginError(.invalidRequest, "The localvm backend config needs 'data_dir', an absolute path.")
        }
        var base: UInt32 = 100_000
        if let value = json["uid_base"], value != .null {
            guard let n = value.numberValue, n.rounded() == n, n >= 1, n <= Double(UInt32.max - Self.idCount) else {
                throw PluginError(.invalidRequest, "The localvm 'uid_base' must be a whole number between 1 and \(UInt32.max - Self.idCount).")
            }
            base = UInt32(n)
        }
        var parent = "sandboxer"
        if let value = json["cgroup_parent"], value != .null {
            guard let s = value.stringValue, Self.isSafeName(s) else {
                throw PluginError(.invalidRequest, "The localvm 'cgroup_parent' must be one name of letters, digits, '.', '_' or '-'.")
            }
            parent = s
        }
        var pool = Self.defaultPool
        if let value = json["network_pool"], value != .null {
            guard let s = value.stringValue else {
                throw PluginError(.invalidRequest, "The localvm 'network_pool' must be a string such as \"\(NetworkPool.defaultCIDR)\".")
            }
            pool = try NetworkPool(cidr: s)
        }
        var helper: String?
        if let value = json["forward_helper"], value != .null {
            guard let s = value.stringValue, s.hasPrefix("/") else {
                throw PluginError(.invalidRequest, "The localvm 'forward_helper' must be an absolute path.")
            }
            helper = s
        }
        self.init(dataDir: dir.count > 1 && dir.hasSuffix("/") ? String(dir.dropLast()) : dir,
                  uidBase: base, cgroupParent: parent, networkPool: pool, forwardHelper: helper)
        try parseUidPool(json)
    }

    /// `uid_pool_base` and `uid_pool_slices`: whole numbers; the pool must fit in 32 bits and
    /// must not overlap `uid_base`'s range (the ids files have on disk).
    private mutating func parseUidPool(_ json: JSONValue) throws(PluginError) {
        for (key, isBase) in [("uid_pool_base", true), ("uid_pool_slices", false)] {
            guard let value = json[key], value != .null else { continue }
            guard let n = value.numberValue, n.rounded() == n, n >= 0, n <= Double(UInt32.max) else {
                throw PluginError(.invalidRequest, "The localvm '\(key)' must be a whole number from 0 to \(UInt32.max).")
            }
            if isBase { uidPoolBase = UInt32(n) } else { uidPoolSlices = UInt32(n) }
        }
        guard uidPoolSlices > 0 else { return }
        let end = UInt64(uidPoolBase) + UInt64(uidPoolSlices) * UInt64(Self.idCount)
        guard uidPoolBase >= 1, end <= UInt64(UInt32.max) else {
            throw PluginError(.invalidRequest, "The localvm uid pool (uid_pool_base \(uidPoolBase), \(uidPoolSlices) slices of 65536) must fit between 1 and \(UInt32.max).")
        }
        let imageEnd = UInt64(uidBase) + UInt64(Self.idCount)
        guard end <= UInt64(uidBase) || UInt64(uidPoolBase) >= imageEnd else {
            throw PluginError(.invalidRequest, "The localvm uid pool (from \(uidPoolBase), \(uidPoolSlices) slices) overlaps uid_base's range \(uidBase)–\(imageEnd - 1).")
        }
    }

    /// The idmapped layers' map: on-disk ids (`uid_base`'s range) → the sandbox's range.
    func idmapLine(hostBase: UInt32) -> String { "\(uidBase) \(hostBase) \(Self.idCount)\n" }

    /// The uid_map / gid_map line of a sandbox whose range starts at `hostBase`.
    static func idMap(hostBase: UInt32) -> String { "0 \(hostBase) \(idCount)\n" }

    /// A single path component of ASCII letters, digits, '.', '_' and '-' (not "." or "..").
    static func isSafeName(_ s: String, maxLength: Int = 128) -> Bool {
        guard !s.isEmpty, s.utf8.count <= maxLength, s != ".", s != ".." else { return false }
        return s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x5f || c == 0x2d
        }
    }

    /// The uid_map / gid_map line of every sandbox.
    var idMap: String { "0 \(uidBase) \(Self.idCount)\n" }
}
