import FoundationEssentials
import Glibc
import PluginKit

/// The on-disk layout of one sandbox under `<data_dir>/sandboxes/<id>/`.
struct SandboxLayout: Sendable {
    let sandboxId: String
    /// `<data_dir>/sandboxes`
    let sandboxesDir: String
    /// `<data_dir>/sandboxes/<id>`
    let dir: String
    /// `<data_dir>/mnt`: the empty mount points every launch mounts on in its sandbox's own mount
    /// namespace (rootfs/, lower/, layers/, ctl/), made once per data dir (see `MountPoints`).
    let mountDir: String

    init(dataDir: String, sandboxId: String) throws(PluginError) {
        // The id names a directory, a cgroup and the host name (at most 64 bytes).
        guard LocalVMConfig.isSafeName(sandboxId, maxLength: 64), sandboxId.first != "." else {
            throw PluginError(.invalidRequest, "The sandbox id '\(sandboxId)' is not usable by localvm: use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'.")
        }
        self.sandboxId = sandboxId
        self.sandboxesDir = dataDir + "/sandboxes"
        self.dir = sandboxesDir + "/" + sandboxId
        self.mountDir = dataDir + "/mnt"
    }

    /// Mount point of the size-limited file system of a sandbox with `resources.disk_bytes`
    /// (see LocalVMPlugin+Disk); it then holds upper/ and work/ instead of `dir`.
    var disk: String { dir + "/disk" }
    /// Where upper/ and work/ live (and ctl/ did): `disk` when the sandbox has one, else `dir`.
    var layerDir: String { FileOps.isDirectory(disk) ? disk : dir }
    /// The overlay's upper layer: everything the sandbox wrote.
    var upper: String { layerDir + "/upper" }
    /// The overlay's work dir.
    var work: String { layerDir + "/work" }
    /// Host side of `/run/sandboxer` of a sandbox made by an earlier version (a tmpfs mounted here,
    /// in the host's namespace); a sandbox made now has a control tmpfs of its own that no host
    /// path names (`SandboxMeta.ctlDev`, CLocalVM/ctl.c).
    var legacyCtl: String { layerDir + "/ctl" }
    /// The deadline file of such a sandbox.
    var legacyDeadlineFile: String { legacyCtl + "/deadline" }
    /// The sandbox's metadata.
    var meta: String { dir + "/meta.json" }
}
