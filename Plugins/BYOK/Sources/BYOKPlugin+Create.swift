import Foundation
import PluginKit

extension BYOKPlugin {
    /// Places the sandbox on the least-loaded matching host with room and starts it there.
    public func create(_ request: CreateRequest, call: PluginCall) throws(PluginError) -> CreateResponse {
        try start(request, snapshot: nil, call: call)
    }

    /// `create` from a snapshot stored in our data dir: pushed to whichever host is chosen.
    public func restore(_ request: RestoreRequest, call: PluginCall) throws(PluginError) -> CreateResponse {
        let snap = try SnapshotFiles(dataDir: config.dataDir).blob(ref: request.snapshotRef)
        return try start(request.create, snapshot: snap, call: call)
    }

    /// The image to boot: a built rootfs tar, or the busybox default.
    func image(_ request: CreateRequest) throws(PluginError) -> (path: String, sha256: String) {
        if let artifact = request.imageArtifact {
            guard artifact.kind == "rootfs-tar" else {
                throw PluginError(.invalidRequest, "The byok backend boots only rootfs-tar artifacts, not '\(artifact.kind)'.")
            }
            let hex = artifact.digest.hasPrefix("sha256:") ? String(artifact.digest.dropFirst(7)) : ""
            guard hex.count == 64, hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }),
                  artifact.path.hasPrefix("/"), LocalFiles.exists(artifact.path) else {
                throw PluginError(.invalidRequest, "The image artifact needs an existing absolute path and a sha256: digest.")
            }
            return (artifact.path, hex)
        }
        guard request.image == nil || request.image == "busybox" else {
            throw PluginError(.invalidRequest, "The byok backend boots the default busybox image or a built rootfs-tar; image '\(request.image ?? "")' is unknown.")
        }
        return try BusyboxTar.image(dataDir: config.dataDir)
    }

    func start(_ request: CreateRequest, snapshot: (path: String, sha256: String)?, call: PluginCall) throws(PluginError) -> CreateResponse {
        try Self.checkId(request.sandboxId)
        guard request.network == "none" else {
            throw PluginError(.invalidRequest, "The byok backend runs sandboxes with network 'none' only (loopback inside), not '\(request.network)'.")
        }
        let image = try image(request)
        let required = request.placement ?? [:]
        let matching = config.hosts.filter { Placement.matches($0.labels, required: required) }
        guard !matching.isEmpty else {
            let want = required.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            throw PluginError(.invalidRequest, "No byok host carries the placement labels \(want) (hosts: \(config.hosts.map(\.name).joined(separator: ", "))).")
        }
        // An earlier attempt of this same create (a retry) may have left it on a host: find it there first.
        let loads = eachHost(matching) { h in
            Result { () throws(PluginError) in try self.hostInventory(h, call: call) }
        }
        var candidates: [Placement.Candidate] = []
        for (h, load) in zip(matching, loads) {
            switch load {
            case .success(let list):
                if list.contains(where: { $0.id == request.sandboxId }) {
                    return CreateResponse(backendRef: "\(h.name)/\(request.sandboxId)", info: ["host": .string(h.name)])
                }
                candidates.append(.init(name: h.name, labels: h.labels, capacity: h.capacity, live: list.filter(\.alive).count))
            case .failure(let e):
                candidates.append(.init(name: h.name, labels: h.labels, capacity: h.capacity, live: nil, error: e.message))
            }
        }
        let plan = Placement.plan(candidates)
        var attempts = plan.skippedText
        var anyUnavailable = !plan.down.isEmpty
        for name in plan.order {
            guard let h = config.host(name) else { continue }
            do {
                return try start(request, on: h, image: image, snapshot: snapshot, call: call)
            } catch where error.code == .quota || error.code == .unavailable {
                attempts.append("\(h.name) \(error.code) (\(error.message))")
                anyUnavailable = anyUnavailable || error.code == .unavailable
                host.log(.warning, "byok: host \(h.name) did not take \(request.sandboxId): \(error.message)")
            }
        }
        throw Placement.failure(attempts, anyUnavailable: anyUnavailable)
    }

    /// Pushes what the sandbox needs and runs the helper's create on one host.
    func start(_ request: CreateRequest, on h: BYOKHost, image: (path: String, sha256: String),
               snapshot: (path: String, sha256: String)?, call: PluginCall) throws(PluginError) -> CreateResponse {
        let node = try node()
        try node.pushBlob(h, path: image.path, sha256: image.sha256, call: call)
        if let snapshot { try node.pushBlob(h, path: snapshot.path, sha256: snapshot.sha256, call: call) }
        let ttl = request.timeoutSeconds ?? request.latestDeadlineSeconds ?? 86_400
        var args = ["create", "--id", request.sandboxId, "--image", image.sha256, "--ttl-seconds", String(max(1, ttl))]
        if let m = request.resources.memoryBytes { args += ["--memory-bytes", String(m)] }
        if let p = request.resources.pids { args += ["--pids", String(p)] }
        if let c = request.resources.cpus { args += ["--cpus", String(c)] }
        if let snapshot { args += ["--snapshot", snapshot.sha256] }
        for (k, v) in request.env.sorted(by: { $0.key < $1.key }) {
            guard !k.isEmpty, !k.contains("="), !k.contains("\0"), !v.contains("\0") else {
                throw PluginError(.invalidRequest, "The environment variable '\(k)' has an invalid name or value.")
            }
            args += ["--env", "\(k)=\(v)"]
        }
        for (k, v) in request.labels.sorted(by: { $0.key < $1.key }) where !k.contains("=") && !k.contains("\0") && !v.contains("\0") {
            args += ["--label", "\(k)=\(v)"]
        }
        let answer = try node.verb(h, args, timeout: 300, call: call)
        return CreateResponse(backendRef: "\(h.name)/\(request.sandboxId)",
                              info: ["host": .string(h.name), "pid": answer["pid"] ?? .null])
    }
}
