import Basics
import FoundationEssentials
import Glibc
import Backends
import PluginProtocol

// The rules of a builder (`sandboxer.build/1`): a template that is not one fails cleanly, a test
// template builds files with right digests inside output_dir only, and a cancelled build stops.
extension CheckSession {
    static let buildRules = ["build.invalid-template", "build.artifact", "build.cancel"]

    func buildRules() {
        guard declares(Capability.build) else {
            for rule in Self.buildRules { record(.skip, rule, "\(Capability.build) is not declared") }
            return
        }
        var template = Array((temporaryDirectoryPath() + "sandboxer-check-build.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            for rule in Self.buildRules { record(.skip, rule, "cannot make a temp dir: \(String(cString: strerror(errno)))") }
            return
        }
        let work = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: work) }
        invalidTemplateRule(work)
        artifactRule(work)
        cancelRule(work)
    }

    /// One `build` through the host's call path (the check's backend has no described capabilities,
    /// so `Backend.build`'s builder guard does not apply), with the host's contract checks.
    func runBuild(_ request: BuildRequest, timeout: Double) throws(BackendError) -> BuildResponse {
        guard let backend else { throw BackendError(.internal, "No instance.", backend: "check", operation: Operation.build) }
        let run = backend.cancellableCall(Operation.build, Self.body(request), timeout: timeout,
                                          stopGrace: options.buildStopGrace, cancel: nil)
        let response = try Backend.decode(BuildResponse.self, run.result.get(), backend: "check", operation: Operation.build)
        if let broken = Backend.contractBreach(response, outputDir: request.outputDir) {
            throw BackendError(.garbage, "The 'build' response breaks the contract: \(broken)", backend: "check", operation: Operation.build)
        }
        return response
    }

    /// A fresh request: an empty output dir made as the host makes it, `output_dir` also as a var.
    func buildRequest(_ work: String, _ name: String, template: String) -> BuildRequest {
        let out = work + "/" + name + "-out"
        mkdir(out, 0o700)
        return BuildRequest(buildId: "bld-" + CheckIDs.hex(16), template: template, vars: ["output_dir": out],
                            outputDir: out, cacheKey: CheckIDs.hex(64))
    }

    /// `build.invalid-template`: a file that is no template answers invalid_request, not a crash or ok.
    func invalidTemplateRule(_ work: String) {
        let path = work + "/invalid.json"
        _ = FileManager.default.createFile(atPath: path, contents: Data("{ this is not a template\n".utf8))
        let request = buildRequest(work, "invalid", template: path)
        do {
            let response = try runBuild(request, timeout: timeouts.create)
            record(.fail, "build.invalid-template", "a template that does not parse built \(response.artifacts.count) artifacts; it MUST fail with invalid_request")
        } catch where error.code == .invalidRequest && !error.message.isEmpty {
            record(.pass, "build.invalid-template", "answered invalid_request: \(error.message.prefix(160))")
        } catch {
            record(.fail, "build.invalid-template", "answered \(Self.describe(error)); a template that does not parse MUST answer invalid_request with a reason")
        }
    }

    /// `build.artifact`: `--build-template` builds; every artifact lies in output_dir with its true digest and size.
    func artifactRule(_ work: String) {
        guard let template = options.buildTemplate else {
            record(.skip, "build.artifact", "no --build-template given")
            return
        }
        let request = buildRequest(work, "artifact", template: template)
        let response: BuildResponse
        do {
            response = try runBuild(request, timeout: BuildDefaults.artifactTimeout)
        } catch {
            record(.fail, "build.artifact", "the build of \(template) failed: \(Self.describe(error))")
            return
        }
        guard !response.artifacts.isEmpty else {
            record(.fail, "build.artifact", "the build answered no artifacts; a build MUST report the files it left in output_dir")
            return
        }
        var problems: [String] = []
        for a in response.artifacts {
            switch Self.digest(of: a.path) {
            case nil: problems.append("\(a.path) cannot be read")
            case let (digest, size)?:
                if digest != a.digest { problems.append("\(a.path) has digest \(digest), not the \(a.digest) answered") }
                if size != a.sizeBytes { problems.append("\(a.path) has \(size) bytes, not the \(a.sizeBytes) answered") }
            }
        }
        if !response.logPath.isEmpty, !FileManager.default.fileExists(atPath: response.logPath) {
            problems.append("log_path \(response.logPath) does not exist")
        }
        if problems.isEmpty {
            let list = response.artifacts.map { "\(($0.path).lastPathComponent) (\($0.kind), \($0.sizeBytes) bytes)" }
            record(.pass, "build.artifact", "built \(list.joined(separator: ", ")) in output_dir, digests right")
        } else {
            record(.fail, "build.artifact", problems.prefix(3).joined(separator: "; "))
        }
    }

    /// `build.cancel`: `--build-cancel-template` (which runs until cancelled) stops within the grace once cancelled.
    func cancelRule(_ work: String) {
        guard let template = options.buildCancelTemplate else {
            record(.skip, "build.cancel", "no --build-cancel-template given")
            return
        }
        guard let backend else { return }
        let request = buildRequest(work, "cancel", template: template)
        let body = Self.body(request)
        let run = backend.cancellableCall(Operation.build, body, timeout: options.buildCancelAfter,
                                          stopGrace: options.buildStopGrace, cancel: nil)
        switch (run.result, run.stoppedInTime) {
        case (.success, _):
            record(.fail, "build.cancel", "the build finished within \(options.buildCancelAfter) s; the cancel template must run until it is cancelled")
        case (.failure, true?):
            record(.pass, "build.cancel", "cancelled after \(String(cFormat: "%g", options.buildCancelAfter)) s, the build stopped within \(String(cFormat: "%g", options.buildStopGrace)) s")
        case (.failure(let error), _):
            record(.fail, "build.cancel", "\(Self.describe(error)); a cancelled build MUST stop everything it started and answer")
        }
    }

    /// `sha256:<hex>` and size of a file, or nil when it cannot be read.
    static func digest(of path: String) -> (String, Int64)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var hasher = SHA256()
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var total: Int64 = 0
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            hasher.update(buffer[0..<n])
            total += Int64(n)
        }
        return ("sha256:" + SHA256.hex(hasher.finalize()), total)
    }
}

/// Deadlines of the build rules.
enum BuildDefaults {
    /// The test template builds in well under this (seconds).
    static let artifactTimeout: Double = 1800
}
