import FoundationEssentials
import Glibc
import PluginABI
import PluginKit

/// The LocalVM backend: isolated sandboxes on this host built from Linux namespaces, an overlay
/// root file system and cgroups (see docs/backends/localvm.md).
public final class LocalVMPlugin: SandboxerPlugin {
    public static let name = "localvm"
    public static let version = "0.1.0"
    public static let capabilities = [Capability.lifecycle, Capability.exec, Capability.inventory, Capability.timeout,
                                      Capability.snapshot, Capability.reach, Capability.execStream]
    /// `endpoints`: how the host reaches ports of a bridged sandbox.

    let config: LocalVMConfig
    let host: PluginHost
    let images: ImageStore
    let cgroups: CgroupLayout
    /// Per-sandbox host id ranges (off when `uid_pool_slices` is 0).
    let uids: UidPool
    /// Names this backend instance in the labels of its network resources.
    let networkTag: String
    /// Streamed commands (`sandboxer.exec-stream/1`) by handle.
    let execStreams = ExecStreamTable()
    /// Directories of destroyed sandboxes, removed in the background (see TrashBin).
    let trash: TrashBin
    /// The idmapped layers' user namespaces, one per id slice (see IdmapNamespaces).
    let idmapNamespaces = IdmapNamespaces()

    /// Builds an instance from the backend config (`data_dir`, optional `uid_base`, `cgroup_parent`,
    /// `network_pool`, `forward_helper`). A pool that overlaps a route or address of the host is
    /// refused here; sandbox links (of any sandboxer backend) are checked at each bridged create.
    public init(config: JSONValue, host: PluginHost) throws(PluginError) {
        self.config = try LocalVMConfig(json: config)
        self.host = host
        self.images = ImageStore(config: self.config)
        self.cgroups = CgroupLayout(parent: self.config.cgroupParent)
        self.uids = UidPool(dataDir: self.config.dataDir, base: self.config.uidPoolBase, slices: self.config.uidPoolSlices)
        self.networkTag = Self.networkTag(dataDir: self.config.dataDir, cgroupParent: self.config.cgroupParent)
        try HostNetwork.checkPool(self.config.networkPool) { $0.hasPrefix("sandboxer:") }
        self.trash = TrashBin(dataDir: self.config.dataDir)
        // What an earlier process over this data dir left in the trash (it exited or crashed first).
        if !trash.entries.isEmpty { trash.scheduleDrain() }
    }

    /// An orderly end (serve shutdown, the end of a CLI command): what is left in the trash goes to
    /// a detached remover process, so nothing of a destroyed sandbox stays, and the command does
    /// not wait for the removal (which a CLI `destroy` did: ~11 unlinks, 2–7 ms, after its answer).
    deinit { trash.handOff() }

    /// Where one sandbox lives on disk, after checking its id is safe to use in paths.
    func layout(_ sandboxId: String) throws(PluginError) -> SandboxLayout {
        try SandboxLayout(dataDir: config.dataDir, sandboxId: sandboxId)
    }

    /// The host's clock in milliseconds since the epoch.
    func nowMs() -> Int64 { Int64((host.now().timeIntervalSince1970 * 1000).rounded()) }
}

/// The one exported entry point of libSandboxerLocalVM.so.
@_cdecl("sandboxer_plugin_entry_v1")
public func sandboxerPluginEntryV1(_ host: UnsafePointer<sbx_host_api>?) -> UnsafePointer<sbx_plugin>? {
    PluginExport.entry(LocalVMPlugin.self, host: host)
}
