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

    init(dataDir: String, sandboxId: String) throws(PluginError) {
        // The id names a directory, a cgroup and the host name (at most 64 bytes).
        guard LocalVMConfig.isSafeName(sandboxId, maxLength: 64), sandboxId.first != "." else {
            throw PluginError(.invalidRequest, "The sandbox id '\(sandboxId)' is not usable by localvm: use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.'.")
        }
        self.sandboxId = sandboxId
        self.sandboxesDir = dataDir + "/sandboxes"
        self.dir = sandboxesDir + "/" + sandboxId
    }

    /// Mount point of the overlay (empty on the host).
    var rootfs: String { dir + "/rootfs" }
    /// Mount point of the size-limited file system of a sandbox with `resources.disk_bytes`
    /// (see LocalVMPlugin+Disk); it then holds upper/, work/ and ctl/ instead of `dir`.
    var disk: String { dir + "/disk" }
    /// Where upper/, work/ and ctl/ live: `disk` when the sandbox has one, else `dir`.
    var layerDir: String { FileOps.isDirectory(disk) ? disk : dir }
    /// The overlay's upper layer: everything the sandbox wrote.
    var upper: String { layerDir + "/upper" }
    /// The overlay's work dir.
    var work: String { layerDir + "/work" }
    /// Host side of `/run/sandboxer` in the sandbox (read-only there): the backstop deadline.
    var ctl: String { layerDir + "/ctl" }
    /// The deadline file the init re-reads on SIGUSR1.
    var deadlineFile: String { ctl + "/deadline" }
    /// Mount points of the idmapped lower layer and layer dir (only in the launch's private mount
    /// namespace and the sandbox's; empty on the host).
    var idmappedLower: String { dir + "/lower" }
    var idmappedLayers: String { dir + "/layers" }
    /// The sandbox's metadata.
    var meta: String { dir + "/meta.json" }
}
