import Foundation
import Glibc
import PluginKit

extension PackerPlugin {
    /// `build`: runs the template with the vars into `output_dir`; answers its files with digests.
    public func build(_ request: BuildRequest, call: PluginCall) throws(PluginError) -> BuildResponse {
        try build(request, cancelled: { call.isCancelled })
    }

    /// The build, with the cancellation check as a closure (tests drive it directly).
    func build(_ request: BuildRequest, cancelled: () -> Bool) throws(PluginError) -> BuildResponse {
        try Self.validate(request)
        let template = try PackerTemplate(path: request.template)
        let packer = config.packerPath
        if case .failure(let error) = packerVersion() { throw error }

        // <data_dir>/builds/<id>/{work,home,tmp} for the run (removed after it) and
        // <data_dir>/logs/<id>.log for the log (kept: the host shows its path on failure).
        let buildDir = config.dataDir + "/builds/" + request.buildId
        let logPath = config.dataDir + "/logs/" + request.buildId + ".log"
        try Self.makeDirs([config.dataDir, config.dataDir + "/builds", config.dataDir + "/logs"], mode: 0o700)
        // Work dirs of builds whose host was killed: nothing of theirs runs any more (BuildDirs).
        for stale in BuildDirs.sweep(config.dataDir + "/builds") {
            host.log(.info, "removed the work dir of the interrupted build \(stale)", metadata: ["build_id": request.buildId])
        }
        let lock = try BuildDirs.create(buildDir)
        defer { Self.removeTree(buildDir); close(lock) }
        let work = buildDir + "/work", home = buildDir + "/home", tmp = buildDir + "/tmp"
        try Self.makeDirs([work, home, tmp], mode: 0o700)
        let log = try BuildLog(path: logPath, limit: config.maxLogBytes)
        defer { log.finish() }

        var vars = request.vars
        vars["output_dir"] = request.outputDir
        var arguments = ["build", "-machine-readable"]
        for key in vars.keys.sorted() { arguments += ["-var", "\(key)=\(vars[key] ?? "")"] }
        arguments.append(template.argument)
        let meta = ["build_id": request.buildId]
        log.write("sandboxer: packer build \(request.buildId) of \(request.template) (cache key \(request.cacheKey)), vars: \(vars.keys.sorted().joined(separator: ", "))")

        let process = try GroupProcess(executable: packer, arguments: arguments,
                                       environment: environment(home: home, tmp: tmp), directory: work)
        var progress = BuildProgress()
        var wasCancelled = false
        var outcome: GroupProcess.Outcome?
        // Packer is gone and its group killed; a descendant that left the group may still hold the
        // pipe, so the drain after the end is bounded.
        var drainDeadline: Double?
        while true {
            for line in process.readLines(timeoutMs: 100) {
                switch progress.consume(line) {
                case .progress(let level, let text):
                    log.write(text)
                    host.log(level, text, metadata: meta)
                case .record(let text): log.write(text)
                case .ignore: break
                }
            }
            if outcome == nil, !wasCancelled, cancelled() {
                wasCancelled = true
                log.write("sandboxer: the host cancelled the build; stopping packer and everything it started")
                outcome = process.stop(grace: config.stopGraceSeconds)
            }
            if outcome == nil { outcome = process.poll() }
            if outcome != nil {
                if process.drained { break }
                let now = GroupProcess.monotonic()
                if drainDeadline == nil { drainDeadline = now + 2 }
                if let d = drainDeadline, now > d { break }
            }
        }
        if wasCancelled {
            throw PluginError(.unavailable, "The build \(request.buildId) was cancelled; packer and its children were stopped (log: \(logPath)).")
        }
        guard case .exited(0) = outcome else {
            throw PluginError(.invalidRequest, Self.failure(progress, outcome: outcome, logPath: logPath))
        }
        let artifacts = try ArtifactCollector.collect(outputDir: request.outputDir, named: progress.artifactFiles, workDir: work) { warning in
            log.write("sandboxer: \(warning)")
            host.log(.warning, warning, metadata: meta)
        }
        guard !artifacts.isEmpty else {
            throw PluginError(.invalidRequest, "packer build succeeded but left no file in output_dir (\(request.outputDir)); the template must write its artifacts there (log: \(logPath)).")
        }
        for a in artifacts { log.write("sandboxer: artifact \(a.kind) \(a.path) \(a.digest) \(a.sizeBytes) bytes") }
        return BuildResponse(artifacts: artifacts, logPath: logPath)
    }

    /// One line naming the step that failed, packer's reason and the log.
    static func failure(_ progress: BuildProgress, outcome: GroupProcess.Outcome?, logPath: String) -> String {
        let how: String
        switch outcome {
        case .exited(let code)?: how = "exited with \(code)"
        case .signaled(let sig)?: how = "was killed by signal \(sig)"
        case nil: how = "did not finish"
        }
        let step = progress.step.map { " at step '\($0)'" } ?? ""
        let reason = progress.mainError.map { ": \($0.prefix(600))" } ?? ""
        return "packer build failed\(step) (packer \(how))\(reason) (log: \(logPath))."
    }

    /// Refuses requests the contract rules out before anything runs.
    static func validate(_ r: BuildRequest) throws(PluginError) {
        guard !r.buildId.isEmpty, r.buildId.count <= 64,
              r.buildId.utf8.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
            throw PluginError(.invalidRequest, "The build_id must be 1–64 letters, digits, '-' or '_'.")
        }
        guard r.outputDir.hasPrefix("/") else {
            throw PluginError(.invalidRequest, "The output_dir \(r.outputDir) is not an absolute path.")
        }
        var st = stat()
        guard lstat(r.outputDir, &st) == 0, st.st_mode & S_IFMT == S_IFDIR else {
            throw PluginError(.invalidRequest, "The output_dir \(r.outputDir) is not a directory; the host makes it before the build.")
        }
        guard r.vars.count <= 256 else { throw PluginError(.invalidRequest, "A build takes at most 256 vars.") }
        for (key, value) in r.vars {
            guard !key.isEmpty, key.count <= 128, key.utf8.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") }),
                  let first = key.utf8.first, !(first >= UInt8(ascii: "0") && first <= UInt8(ascii: "9")) else {
                throw PluginError(.invalidRequest, "The var name '\(key.prefix(64))' is not a packer variable name (letters, digits, '_', '-').")
            }
            guard value.utf8.count <= 64 << 10, !value.utf8.contains(0) else {
                throw PluginError(.invalidRequest, "The var \(key) is longer than 64 KiB or holds a NUL byte.")
            }
        }
        if let dir = r.vars["output_dir"], dir != r.outputDir {
            throw PluginError(.invalidRequest, "The var output_dir (\(dir)) differs from the request's output_dir (\(r.outputDir)).")
        }
    }

    static func isAlnum(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9"))
    }

    static func makeDirs(_ dirs: [String], mode: mode_t) throws(PluginError) {
        for dir in dirs where mkdir(dir, mode) != 0 && errno != EEXIST {
            throw PluginError(.internal, "Cannot make \(dir): \(String(cString: strerror(errno))).")
        }
    }

    /// Removes a build's work tree (best effort: a leftover is only disk space, and named by its id).
    static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }
}
