import CLocalVM
import FoundationEssentials
import Glibc
import PluginKit

extension LocalVMPlugin {
    /// Creates a sandbox: image, directories, cgroups, then the init in its namespaces
    /// (with the default `network_options`; `invoke` passes the request's own).
    public func create(_ request: CreateRequest, call: PluginCall) throws(PluginError) -> CreateResponse {
        try create(request, network: NetworkOptions(), call: call)
    }

    /// Creates a sandbox with the given `network_options`.
    func create(_ request: CreateRequest, network options: NetworkOptions, call: PluginCall) throws(PluginError) -> CreateResponse {
        let paths = try layout(request.sandboxId)
        try Self.validate(request, network: options)
        try cgroups.checkAvailable()
        // A built image (`image_artifact`, ImageStore+Artifact.swift) wins over `image`; its digest names it in meta.json.
        let lower: String
        if let artifact = request.imageArtifact { lower = try images.resolveArtifact(artifact) } else { lower = try images.resolve(request.image) }
        return try provision(request, paths: paths, image: request.imageArtifact?.digest ?? request.image ?? "busybox", lower: lower,
                             network: options, fillUpper: nil)
    }

    /// Makes the sandbox directory, then everything inside it (see `provisionInside`); on any
    /// failure removes what was made. Shared by create and restore.
    /// - Parameters:
    ///   - image: the image name recorded in meta.json; `lower`: the lower layer it resolved to.
    ///   - fillUpper: fills the fresh upper dir before the init starts (restore), or nil (create).
    func provision(_ request: CreateRequest, paths: SandboxLayout, image: String, lower: String,
                   network options: NetworkOptions = NetworkOptions(),
                   fillUpper: ((SandboxLayout) throws(PluginError) -> Void)?) throws(PluginError) -> CreateResponse {
        try FileOps.mkdirs(paths.sandboxesDir, mode: 0o711)
        try MountPoints.ensure(paths.mountDir)
        // 0711: the sandbox's shifted root must be able to search it (and nothing more).
        if Glibc.mkdir(paths.dir, 0o711) != 0 {
            if errno == EEXIST { throw PluginError(.conflict, "A localvm sandbox with id \(request.sandboxId) already exists.") }
            throw FileOps.failure("mkdir", paths.dir)
        }
        _ = chmod(paths.dir, 0o711)
        do {
            return try provisionInside(request, paths: paths, image: image, lower: lower, network: options,
                                       fillUpper: fillUpper)
        } catch {
            // Leave nothing behind: whatever started is killed (the init, the forwarder), then the
            // network (before the directory: a lease never outlives it), cgroups, the disk mount and
            // the directory.
            try? cgroups.killAll(request.sandboxId)
            if request.network == "bridge" { try? teardownNetwork(request.sandboxId) }
            try? cgroups.remove(request.sandboxId)
            try? Self.unmountAll(under: paths.dir)
            try? uids.release(request.sandboxId)
            try? FileOps.removeTree(paths.dir)
            throw error
        }
    }

    private func provisionInside(_ request: CreateRequest, paths: SandboxLayout, image: String, lower: String,
                                 network options: NetworkOptions,
                                 fillUpper: ((SandboxLayout) throws(PluginError) -> Void)?) throws(PluginError) -> CreateResponse {
        // First: the layer paths below move onto the disk when there is one. The mount points
        // (rootfs/, lower/, layers/, ctl/) are the shared ones of `MountPoints`, and the control
        // dir is a tmpfs the launch makes outside the host's mount table (CLocalVM/ctl.c).
        if let bytes = request.resources.diskBytes { try mountDisk(paths, bytes: bytes) }
        _ = try FileOps.mkdir(paths.upper, mode: 0o755)
        _ = try FileOps.mkdir(paths.work, mode: 0o755)
        // The sandbox's own host id range.
        let hostBase = uids.enabled ? try uids.lease(request.sandboxId) : nil
        try FileOps.chown(paths.upper, config.uidBase, config.uidBase)
        try FileOps.chown(paths.work, config.uidBase, config.uidBase)

        let now = nowMs()
        var meta = SandboxMeta(
            sandboxId: request.sandboxId, hostId: request.hostId, profile: request.profile, labels: request.labels,
            env: request.env, createdAtMs: now, initPid: 0, initStartTime: 0,
            deadlineMs: request.timeoutSeconds.map { now + $0 * 1000 }, image: image,
            lowerDir: lower, uidBase: config.uidBase, cgroupParent: config.cgroupParent,
            network: request.network == "bridge" ? "bridge" : nil, hostUidBase: hostBase)
        // Written before the init starts, so a crash right after still leaves labelled evidence.
        try meta.save(paths.meta)
        // The upper layer is complete before the overlay is mounted: overlayfs must not see it change.
        try fillUpper?(paths)

        try cgroups.create(request.sandboxId, limits: request.resources)
        let network = try request.network == "bridge" ? prepareNetwork(request, options: options) : nil
        defer { network?.listeners.forEach { close($0.fd) } } // the forwarder holds its own copies
        // The fast join of exec (v1 `tasks`, clone3 into v2): no threadgroup lock, so no RCU grace
        // period on the create's path (docs/performance.md, "LocalVM create (session 6)").
        let fds = try cgroups.openExecTargets(request.sandboxId)
        defer { fds.forEach { close($0) } }
        let idmap = hostBase.map { config.idmapLine(hostBase: $0) }
        let (pid, ctl) = try Launcher.launch(sandboxDir: paths.dir, lowerDir: lower, hostname: request.sandboxId,
                                             idMap: hostBase.map(LocalVMConfig.idMap(hostBase:)) ?? config.idMap,
                                             cgroupFds: fds, bridge: network?.bridge,
                                             layerDir: request.resources.diskBytes == nil ? nil : "disk",
                                             idmap: idmap, idmapUserns: try idmap.map(idmapNamespaces.fd(for:)), cgroupFast: true,
                                             mountDir: paths.mountDir,
                                             deadline: request.timeoutSeconds.map(Self.backstopText(seconds:)))
        guard let identity = ProcessIdentity.current(pid) else {
            throw PluginError(.internal, "The sandbox init (pid \(pid)) exited right after it started.")
        }
        if let network { try startForwarder(network) }
        meta.initPid = pid
        meta.initStartTime = identity.startTime
        meta.ctlDev = ctl.dev
        meta.ctlIno = ctl.ino
        try meta.save(paths.meta)
        host.log(.info, "localvm sandbox \(request.sandboxId) started", metadata: ["init_pid": "\(pid)"])
        return CreateResponse(backendRef: request.sandboxId, info: info(meta, paths: paths))
    }

    /// Facts about a sandbox for create and status responses.
    func info(_ meta: SandboxMeta, paths: SandboxLayout) -> [String: JSONValue] {
        var info: [String: JSONValue] = [
            "init_pid": .number(Double(meta.initPid)),
            // The sandbox's root as the host reaches it while the init runs (its mount point is a
            // shared, empty directory of the data dir: MountPoints).
            "rootfs": .string("/proc/\(meta.initPid)/root"),
            "upper_dir": .string(paths.upper),
            "lower_dir": .string(meta.lowerDir),
            "cgroups": .array(cgroups.dirs(meta.sandboxId).map { .string($0) }),
            "network": meta.network == "bridge" ? "bridge" : "none",
        ]
        if let d = meta.deadlineMs { info["deadline_ms"] = .number(Double(d)) }
        if let bytes = diskLimit(paths) { info["disk_bytes"] = .number(Double(bytes)) }
        info["host_uid_base"] = .number(Double(meta.hostUidBase ?? meta.uidBase))
        if meta.network == "bridge", let net = networkInfo(meta.sandboxId) { info["bridge"] = net }
        return info
    }

    /// The backstop deadline the init reads: real Unix seconds, rounded up, and a newline.
    static func backstopText(seconds: Int64) -> String {
        let deadline = Int64((Date().timeIntervalSince1970 + Double(seconds)).rounded(.up))
        return "\(deadline)\n"
    }

    /// Replaces a running sandbox's backstop deadline: in the control tmpfs its init holds, or in
    /// the host's `ctl/` dir for a sandbox made by an earlier version.
    func writeBackstop(_ paths: SandboxLayout, meta: SandboxMeta, identity: ProcessIdentity, seconds: Int64) throws(PluginError) {
        let text = Self.backstopText(seconds: seconds)
        guard let dev = meta.ctlDev, let ino = meta.ctlIno else { return try FileOps.writeText(paths.legacyDeadlineFile, text) }
        guard let pidfd = identity.openPidfd() else {
            throw PluginError(.conflict, "The sandbox \(meta.sandboxId) is not running, so it has no timeout to set.")
        }
        defer { close(pidfd) }
        var err = [CChar](repeating: 0, count: 256)
        guard clvm_ctl_write(pidfd, meta.initPid, clvm_ctl_id(dev: dev, ino: ino), text, &err, err.count) == 0 else {
            throw PluginError(.internal, "Setting the backstop deadline of sandbox \(meta.sandboxId) failed: \(Launcher.text(err)).")
        }
    }

    static func validate(_ request: CreateRequest, network options: NetworkOptions = NetworkOptions()) throws(PluginError) {
        switch request.network {
        case "none", "":
            guard options.isDefault else {
                throw PluginError(.invalidRequest, "network_options (egress, allow_sandboxes, publish) need network 'bridge'.")
            }
        case "bridge": break
        default: throw PluginError(.invalidRequest, "The localvm backend supports network 'none' and 'bridge', not '\(request.network)'.")
        }
        if let m = request.resources.memoryBytes, m < LocalVMDefaults.minMemoryBytes {
            throw PluginError(.invalidRequest, "resources.memory_bytes must be at least \(LocalVMDefaults.minMemoryBytes) (8 MiB).")
        }
        if let p = request.resources.pids, p < LocalVMDefaults.minPids {
            throw PluginError(.invalidRequest, "resources.pids must be at least \(LocalVMDefaults.minPids).")
        }
        if let d = request.resources.diskBytes, d < LocalVMPlugin.minDiskBytes {
            throw PluginError(.invalidRequest, "resources.disk_bytes must be at least \(LocalVMPlugin.minDiskBytes) (1 MiB).")
        }
        if let c = request.resources.cpus, !(c > 0 && c <= 1024) {
            throw PluginError(.invalidRequest, "resources.cpus must be a number above 0.")
        }
        if let t = request.timeoutSeconds, t < 0 {
            throw PluginError(.invalidRequest, "timeout_seconds must not be negative.")
        }
        for (k, v) in request.env where k.isEmpty || k.contains("=") || k.contains("\0") || v.contains("\0") {
            throw PluginError(.invalidRequest, "The environment variable '\(k)' has an invalid name or value.")
        }
    }
}
