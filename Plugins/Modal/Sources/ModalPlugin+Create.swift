import Foundation
import ProtobufWire
import PluginKit

extension ModalPlugin {
    /// `create`: resolves the app and image (cached), creates the sandbox with our labels as tags
    /// and the profile's latest deadline as its Modal timeout, then waits until a task runs it.
    public func create(_ request: CreateRequest, call: PluginCall) throws(PluginError) -> CreateResponse {
        let image = try resolveImage(request.image ?? config.image, call: call)
        return try makeSandbox(request, imageID: image, call: call)
    }

    /// `restore`: a create whose image is the snapshot's (a Modal image id from `snapshot`).
    public func restore(_ request: RestoreRequest, call: PluginCall) throws(PluginError) -> CreateResponse {
        guard Self.isImageID(request.snapshotRef) else {
            throw PluginError(.invalidRequest, "The snapshot reference '\(ModalError.clip(request.snapshotRef, limit: 80))' is not a Modal image id (im-…).")
        }
        return try makeSandbox(request.create, imageID: request.snapshotRef, call: call)
    }

    /// The Modal timeout for a create: the latest deadline the profile allows when the host sent it
    /// (Modal cannot extend later), else the host's timeout, capped at Modal's 24 h.
    static func backstopSeconds(_ request: CreateRequest) -> Int64 {
        let wanted = request.latestDeadlineSeconds ?? request.timeoutSeconds ?? defaultTimeoutSeconds
        return min(max(wanted, 1), maxTimeoutSeconds)
    }

    /// The Modal idle timeout: the host's `idle_timeout_seconds`, capped likewise; nil for none.
    static func idleSeconds(_ request: CreateRequest) -> Int64? {
        request.idleTimeoutSeconds.map { min(max($0, 1), maxTimeoutSeconds) }
    }

    static func isImageID(_ text: String) -> Bool {
        text.hasPrefix("im-") && text.count <= 64 && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f }
    }

    func makeSandbox(_ request: CreateRequest, imageID: String, call: PluginCall) throws(PluginError) -> CreateResponse {
        for key in [OwnershipLabel.host, OwnershipLabel.sandbox, OwnershipLabel.profile] where request.labels[key] == nil {
            throw PluginError(.invalidRequest, "The create request lacks the ownership label '\(key)'.")
        }
        let rpc = try rpc()
        let appID = try appID(call: call)
        let timeout = Self.backstopSeconds(request)
        let idle = Self.idleSeconds(request)
        let definition = SandboxDefinition(
            entrypointArgs: ["sleep", "infinity"], imageID: imageID,
            memoryMB: request.resources.memoryBytes.map { UInt32(clamping: max(1, $0 >> 20)) },
            milliCPU: request.resources.cpus.map { UInt32(clamping: Int64(($0 * 1000).rounded())) },
            timeoutSecs: UInt32(timeout), blockNetwork: request.network == "none", ports: config.portSpecs,
            idleTimeoutSecs: idle.map { UInt32($0) }, environment: request.env)
        // Not retried: a create whose answer was lost may have made a sandbox. It carries our
        // labels as tags, so `reap-stale` (or the host's destroy by sandbox id) finds it.
        let created: SandboxCreateResponse = try rpc.api(
            "SandboxCreate", SandboxCreateRequest(appID: appID, definition: definition, environmentName: config.environment ?? "",
                                                  tags: SandboxTag.from(request.labels)),
            idempotent: false, call: call)
        guard created.sandboxID.hasPrefix("sb-") else {
            throw PluginError(.internal, "Modal's answer to SandboxCreate has no sandbox id.")
        }
        let taskID: String
        do {
            taskID = try waitForTask(created.sandboxID, call: call)
        } catch {
            // Leave nothing behind that the host does not know about.
            _ = try? terminate(created.sandboxID, call: .detached)
            throw error
        }
        host.log(.debug, "Modal sandbox \(created.sandboxID) runs task \(taskID).",
                 metadata: ["sandbox_id": request.sandboxId, "modal_sandbox_id": created.sandboxID])
        var info: [String: JSONValue] = [
            "modal_sandbox_id": .string(created.sandboxID), "task_id": .string(taskID), "app_id": .string(appID),
            "image_id": .string(imageID), "timeout_secs": .number(Double(timeout)),
            "backstop_deadline_ms": .number(Double(nowMs() + timeout * 1000)),
            "created_at_ms": .number(Double(nowMs())),
        ]
        if let idle { info["idle_timeout_secs"] = .number(Double(idle)) }
        return CreateResponse(backendRef: created.sandboxID, info: info)
    }

    /// Polls `SandboxGetTaskId` (a long poll on Modal) until the sandbox is scheduled; bounded by
    /// 10 minutes and by the host's cancellation.
    func waitForTask(_ sandboxID: String, call: PluginCall) throws(PluginError) -> String {
        let rpc = try rpc()
        let start = Date()
        var pause: UInt32 = 50_000
        while true {
            let answer: SandboxGetTaskIDResponse = try rpc.api(
                "SandboxGetTaskId", SandboxGetTaskIDRequest(sandboxID: sandboxID, timeout: 10), idempotent: true,
                timeout: rpc.callTimeout + 10, call: call)
            if let result = answer.taskResult, result.isFinal {
                throw PluginError(.internal, "The Modal sandbox \(sandboxID) ended before it was ready (\(result.statusName))\(result.exception.isEmpty ? "" : ": " + ModalError.clip(result.exception)).")
            }
            if let task = answer.taskID, !task.isEmpty {
                cache.withLock { $0.tasks[sandboxID] = task; $0.trim() }
                return task
            }
            guard !call.isCancelled else {
                throw PluginError(.unavailable, "The create was cancelled while Modal scheduled sandbox \(sandboxID).")
            }
            guard Date().timeIntervalSince(start) < 600 else {
                throw PluginError(.unavailable, "Modal did not schedule sandbox \(sandboxID) within 10 minutes.")
            }
            usleep(pause)                       // between polls of a server that answered at once
            pause = min(pause * 2, 1_000_000)
        }
    }

    /// The app's id, made if missing (cached).
    func appID(call: PluginCall) throws(PluginError) -> String {
        if let known = cache.withLock({ $0.appID }) { return known }
        let answer: AppGetOrCreateResponse = try rpc().api(
            "AppGetOrCreate", AppGetOrCreateRequest(appName: config.app, environmentName: config.environment ?? ""),
            idempotent: true, call: call)
        guard !answer.appID.isEmpty else { throw PluginError(.internal, "Modal's answer to AppGetOrCreate has no app id.") }
        cache.withLock { $0.appID = answer.appID }
        return answer.appID
    }

    /// The image builder version of the environment (the official client asks before any image call).
    func builderVersion(call: PluginCall) throws(PluginError) -> String {
        if let known = cache.withLock({ $0.builderVersion }) { return known }
        let answer: EnvironmentGetOrCreateResponse = try rpc().api(
            "EnvironmentGetOrCreate", EnvironmentGetOrCreateRequest(name: config.environment ?? ""), idempotent: true, call: call)
        cache.withLock { $0.builderVersion = answer.imageBuilderVersion }
        return answer.imageBuilderVersion
    }

    /// A Modal image id for `reference`: an `im-…` id as it is, else a registry tag built as
    /// `FROM <tag>` (joined until the build ends; cached per tag).
    func resolveImage(_ reference: String, call: PluginCall) throws(PluginError) -> String {
        if Self.isImageID(reference) { return reference }
        guard !reference.isEmpty, reference.utf8.count <= 512, !reference.contains(where: { $0.isNewline || $0 == " " }) else {
            throw PluginError(.invalidRequest, "The image '\(ModalError.clip(reference, limit: 80))' is not a registry tag or a Modal image id.")
        }
        if let known = cache.withLock({ $0.images[reference] }) { return known }
        let version = try builderVersion(call: call)
        let appID = try appID(call: call)
        let rpc = try rpc()
        let answer: ImageGetOrCreateResponse = try rpc.api(
            "ImageGetOrCreate", ImageGetOrCreateRequest(dockerfileCommands: ["FROM \(reference)"], appID: appID, builderVersion: version),
            idempotent: true, call: call)
        guard !answer.imageID.isEmpty else { throw PluginError(.internal, "Modal's answer to ImageGetOrCreate has no image id.") }
        var result = answer.result
        var lastEntry = ""
        var rounds = 0
        while !result.isFinal {
            rounds += 1
            guard rounds <= 20, !call.isCancelled else {
                throw PluginError(.unavailable, "The build of image \(reference) on Modal did not finish in time.")
            }
            var decodeError: PluginError?
            do throws(PluginError) {
                // A long poll: the stream ends at the build's end or after `timeout`; then join again.
                try rpc.apiStream("ImageJoinStreaming", ImageJoinStreamingRequest(imageID: answer.imageID, timeout: 55, lastEntryID: lastEntry),
                                  timeout: 70, call: call) { bytes in
                    do throws(ProtobufWireError) {
                        let message = try ImageJoinStreamingResponse(serializedBytes: bytes)
                        if !message.entryID.isEmpty { lastEntry = message.entryID }
                        if message.result.isFinal { result = message.result }
                        return true
                    } catch {
                        decodeError = PluginError(.internal, "Modal's build log for image \(reference) could not be decoded: \(error.message)")
                        return false
                    }
                }
            } catch {
                throw decodeError ?? error
            }
        }
        guard result.status == GenericResult.success else {
            throw PluginError(.invalidRequest, "Modal could not build image \(reference) (\(result.statusName))\(result.exception.isEmpty ? "" : ": " + ModalError.clip(result.exception)).")
        }
        cache.withLock { $0.images[reference] = answer.imageID; $0.trim() }
        return answer.imageID
    }
}

extension ModalResponse {
    /// Decodes a whole message.
    init(serializedBytes bytes: [UInt8]) throws(ProtobufWireError) {
        var reader = ProtoReader(bytes)
        try self.init(from: &reader)
    }
}
