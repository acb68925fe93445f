import FoundationEssentials
import Glibc
import Core
import Config
import Store
import Backends
import PluginProtocol
import Basics
import Synchronization

// One build, from its `building` row to `ready` or `failed`: a private work directory, the builder's
// call with its log lines copied to the build's log and the front's progress, then the artifacts
// checked and moved into the content-addressed store. A failure leaves no artifact and no work dir.
extension SandboxService {
    /// At most this many artifacts per build (a build is a handful of files).
    static let maxArtifacts = 64
    /// A builder's own log is appended to the host's build log up to this many bytes.
    static let maxCopiedLogBytes = 16 << 20

    /// `<data_dir>/images`: `sha256/<hex>` holds the artifacts, `logs/<id>.log` the build logs.
    var imagesDirectory: String { (config.dataDir).appendingPathComponent("images") }

    /// `<data_dir>/builds/<image id>`: a build's work directory (its `output` is the builder's output_dir).
    func workDirectory(_ imageId: String) -> String {
        (config.dataDir).appendingPathComponent("builds/\(imageId)")
    }

    /// `<data_dir>/images/logs/<image id>.log`: the host's log of a build, kept after it.
    func buildLogPath(_ imageId: String) -> String {
        (imagesDirectory).appendingPathComponent("logs/\(imageId).log")
    }

    func removeWorkDirectory(_ imageId: String) {
        try? FileManager.default.removeItem(atPath: workDirectory(imageId))
    }

    /// Runs the build of a fresh `building` row and returns it ready, or marks it failed and throws
    /// one line naming the step and the log.
    func runBuild(_ row: Image, spec: BuildSpec, builder: Backend, inputs: ImageInputs, bootKinds: [String]?,
                  deadline: Double, progress: BuildProgress?) throws(SandboxerError) -> Image {
        let buildId = ImageID.buildId(of: row.id)
        let work = workDirectory(row.id)
        let output = (work).appendingPathComponent("output")
        let logPath = row.logPath ?? buildLogPath(row.id)
        let logs = (logPath).deletingLastPathComponent
        var image = row
        image.logPath = logPath
        let step = BuildStep()
        func fail(_ message: String) throws(SandboxerError) -> Never {
            let at = step.current
            let line = "The build of profile '\(row.profile)' (\(row.id)) failed at step '\(at)': \(message) Log: \(logPath)"
            appendLog(logPath, "error: \(line)\n")
            var failed = image
            failed.state = .failed
            failed.error = line
            failed.updatedAt = now
            _ = try? store.update(failed, expecting: [.building])
            removeWorkDirectory(row.id)
            throw SandboxerError(.backend, line)
        }
        do {
            for dir in [output, logs] {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            }
            _ = FileManager.default.createFile(atPath: logPath, contents: Data(), attributes: [.posixPermissions: 0o600])
        } catch {
            try fail("Cannot make the build's directories: \(error.reasonText)")
        }
        appendLog(logPath, "build \(buildId) of profile \(row.profile) with builder \(spec.builder), cache key \(row.cacheKey)\n")
        var vars = inputs.vars
        vars[BuildSpec.outputDirVar] = output
        let request = BuildRequest(buildId: buildId, template: spec.template, vars: vars, outputDir: output, cacheKey: row.cacheKey)
        step.current = "build"
        progress?("building \(row.id) with \(spec.builder)")
        backends.buildLogs.watch(buildId: buildId, builder: spec.builder) { [self] line in
            step.current = line.message
            appendLog(logPath, "\(line.levelName): \(line.message)\n")
            progress?(line.message)
        }
        let response: BuildResponse
        do {
            defer { backends.buildLogs.unwatch(buildId) }
            response = try builder.build(request, timeout: deadline)
        } catch {
            let why = error.code == .timeout ? "The builder did not finish within \(Int(deadline)) s and was cancelled."
                : "\(error.message)"
            try fail(why)
        }
        copyBuilderLog(response.logPath, into: logPath)
        step.current = "collect artifacts"
        let artifacts: [BuildArtifact]
        do { artifacts = try collect(response.artifacts, outputDir: output, bootKinds: bootKinds, backend: row.profile) }
        catch { try fail(error.message) }
        image.artifacts = artifacts
        image.sizeBytes = artifacts.reduce(0) { $0 + $1.sizeBytes }
        image.state = .ready
        image.owner = nil
        image.updatedAt = now
        guard (try? store.update(image, expecting: [.building])) == true else {
            // Someone reconciled the row meanwhile (it looked interrupted): it is failed, not ours.
            removeWorkDirectory(row.id)
            throw SandboxerError(.conflict, "Image \(row.id) changed while it was being built; build again.")
        }
        removeWorkDirectory(row.id)
        appendLog(logPath, "ready: \(artifacts.map { "\($0.kind) \($0.digest)" }.joined(separator: ", "))\n")
        progress?("built \(row.id): \(artifacts.count) artifact(s), \(image.sizeBytes) bytes")
        return image
    }

    /// Checks what the builder reported (inside output_dir, regular files, digests the host
    /// recomputes) and moves each file to `images/sha256/<hex>`.
    func collect(_ reported: [BuildArtifact], outputDir: String, bootKinds: [String]?, backend: String) throws(SandboxerError) -> [BuildArtifact] {
        guard !reported.isEmpty else {
            throw SandboxerError(.backend, "The builder reported no artifacts (the template must leave its files in output_dir).")
        }
        guard reported.count <= Self.maxArtifacts else {
            throw SandboxerError(.backend, "The builder reported \(reported.count) artifacts, more than \(Self.maxArtifacts).")
        }
        if let bootKinds, !reported.contains(where: { bootKinds.contains($0.kind) }) {
            throw SandboxerError(.config, "The build made \(Set(reported.map(\.kind)).sorted().joined(separator: ", ")), but the profile's backend boots only \(bootKinds.joined(separator: ", ")).")
        }
        let store = (imagesDirectory).appendingPathComponent("sha256")
        do {
            try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw SandboxerError(.internal, "Cannot make \(store): \(error.reasonText)")
        }
        let root = (outputDir).resolvingSymlinksInPath + "/"
        var out: [BuildArtifact] = []
        for artifact in reported {
            guard !artifact.kind.isEmpty, artifact.kind.utf8.count <= 64,
                  artifact.kind.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") }) else {
                throw SandboxerError(.backend, "The builder reported an artifact kind \(String(artifact.kind.prefix(64)).quotedForMessage) that is not 1 to 64 letters, digits, '-', '_' or '.'.")
            }
            var info = stat()
            guard artifact.path.hasPrefix("/"), lstat(artifact.path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG,
                  (artifact.path).resolvingSymlinksInPath.hasPrefix(root) else {
                throw SandboxerError(.backend, "The artifact \(String(artifact.path.prefix(512)).quotedForMessage) is not a regular file inside the build's output_dir.")
            }
            let hex = try ImageInputs.fileDigest(artifact.path, what: "the artifact")
            guard artifact.digest == "sha256:" + hex else {
                throw SandboxerError(.backend, "The artifact \(artifact.path) has digest sha256:\(hex), not the \(artifact.digest.prefix(80)) the builder reported.")
            }
            let target = (store).appendingPathComponent(hex)
            if FileManager.default.fileExists(atPath: target) {
                unlink(artifact.path)   // the same bytes are already stored
            } else if rename(artifact.path, target) != 0 {
                throw SandboxerError(.internal, "Cannot move the artifact \(artifact.path) to \(target): \(String(cString: strerror(errno))).")
            }
            out.append(BuildArtifact(kind: artifact.kind, path: target, digest: "sha256:" + hex, sizeBytes: Int64(info.st_size)))
        }
        return out
    }

    /// Deletes artifact files no remaining image row names.
    func removeUnreferencedArtifacts(_ artifacts: [BuildArtifact]) {
        let kept = Set(((try? store.images()) ?? []).flatMap { $0.artifacts.map(\.path) })
        for artifact in artifacts where !kept.contains(artifact.path) { unlink(artifact.path) }
    }

    /// Builds whose process died (kill -9, power loss): each row is marked failed and its work dir
    /// removed. Runs before every command and on `serve`'s sweep.
    public func reconcileInterruptedBuilds() throws(SandboxerError) -> [Image] {
        var done: [Image] = []
        for row in try storeCall({ () throws(StoreError) in try store.buildingImages() }) {
            if let owner = row.owner, owner.isAlive { continue }
            if let finished = try finishInterruptedBuild(row) { done.append(finished) }
        }
        return done
    }

    /// Marks one interrupted build failed; nil when another process got there first.
    func finishInterruptedBuild(_ row: Image) throws(SandboxerError) -> Image? {
        var failed = row
        failed.state = .failed
        failed.error = "The build was interrupted (its process \(row.owner?.pid ?? 0) is gone); its work directory was removed."
        failed.updatedAt = now
        guard try storeCall({ () throws(StoreError) in try store.update(failed, expecting: [.building]) }) else { return nil }
        removeWorkDirectory(row.id)
        if let log = row.logPath { appendLog(log, "error: \(failed.error ?? "")\n") }
        return failed
    }

    func appendLog(_ path: String, _ text: String) {
        FileIO.append(Data(text.utf8), toExisting: path)
    }

    /// Appends the builder's own log (bounded) to the host's, since the builder's may live in the work dir.
    func copyBuilderLog(_ path: String, into logPath: String) {
        guard path.hasPrefix("/"), path != logPath,
              let bytes = FileIO.readPrefix(path, limit: Self.maxCopiedLogBytes), !bytes.isEmpty else { return }
        appendLog(logPath, "--- builder log \(path) ---\n" + String(decoding: bytes, as: UTF8.self) + "\n--- end of builder log ---\n")
    }
}

/// The step a build is at: the builder's last log line, or the host's own step. Written by the log
/// callback's thread, read when the build fails.
final class BuildStep: Sendable {
    private let value = Mutex("prepare")
    var current: String {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
