import FoundationEssentials
import Core
import Basics
import PluginProtocol
#if canImport(Glibc)
import Glibc
#endif

/// Everything a build of a profile depends on, read from disk and the host's secrets: what the
/// builder receives and the cache key (docs/images.md, "The cache key").
struct ImageInputs: Sendable {
    /// The vars as the builder receives them (secrets resolved, `file:` as absolute paths), without `output_dir`.
    var vars: [String: String]
    /// sha256 hex of the canonical form.
    var cacheKey: String

    /// Bounds on what a template may be: it is source code, not a data set.
    static let maxTemplateFiles = 1000
    static let maxTemplateFileBytes = 16 << 20
    static let maxTemplateBytes = 64 << 20
    /// Input files named by `file:` vars are hashed in chunks, so only their count is bounded.
    static let maxInputFiles = 256

    /// Reads the template and input files and resolves the vars. Errors are one sentence naming the
    /// file or var; a secret's value never appears in one.
    static func read(_ spec: BuildSpec, builderName: String, builderVersion: String, toolVersion: String?,
                     secret: (String) -> String?) throws(SandboxerError) -> ImageInputs {
        let files = try templateFiles(spec.template)
        for file in files where file.path.hasSuffix(".hcl") || file.path.hasSuffix(".json") {
            if let call = ImageCacheKey.nondeterministicCall(in: String(decoding: file.bytes, as: UTF8.self)) {
                throw SandboxerError(.config, "The template file \(file.path) in \(spec.template) calls \(call): its output would differ on every build, so the image cache cannot key it; pass the value as a var instead.")
            }
        }
        var builderVars: [String: String] = [:]
        var keyVars: [String: String] = [:]
        var inputs = 0
        for (name, value) in spec.vars {
            if value.hasPrefix(BuildSpec.secretPrefix) {
                let secretName = String(value.dropFirst(BuildSpec.secretPrefix.count))
                guard let resolved = secret(secretName) else {
                    throw SandboxerError(.config, "The var '\(name)' names the secret '\(secretName)', which the host does not have (set \(SecretNames.environmentKey(secretName))).")
                }
                builderVars[name] = resolved
                keyVars[name] = ImageCacheKey.secretDigest(resolved)
            } else if value.hasPrefix(BuildSpec.filePrefix) {
                inputs += 1
                guard inputs <= maxInputFiles else {
                    throw SandboxerError(.config, "The build names more than \(maxInputFiles) input files (file: vars).")
                }
                let path = String(value.dropFirst(BuildSpec.filePrefix.count))
                builderVars[name] = path
                keyVars[name] = "file-sha256:" + (try fileDigest(path, what: "the input file of var '\(name)'"))
            } else {
                builderVars[name] = value
                keyVars[name] = value
            }
        }
        let key = ImageCacheKey(builderName: builderName, builderVersion: builderVersion, toolVersion: toolVersion,
                                templateFiles: files, vars: keyVars, architecture: architecture)
        return ImageInputs(vars: builderVars, cacheKey: key.hex)
    }

    /// Every regular file of a template (the file itself, or the files under a directory), with its
    /// path relative to the template (the file name for a single file).
    static func templateFiles(_ template: String) throws(SandboxerError) -> [(path: String, bytes: [UInt8])] {
        var isDirectory = false
        guard FileManager.default.fileExists(atPath: template, isDirectory: &isDirectory) else {
            throw SandboxerError(.config, "The template \(template) does not exist.")
        }
        var relative: [String] = []
        if isDirectory {
            guard let walked = try? FileManager.default.subpathsOfDirectory(atPath: template) else {
                throw SandboxerError(.config, "The template directory \(template) cannot be read.")
            }
            for next in walked {
                var isDir = false
                let full = template + "/" + next
                if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir { relative.append(next) }
                guard relative.count <= maxTemplateFiles else {
                    throw SandboxerError(.config, "The template directory \(template) holds more than \(maxTemplateFiles) files.")
                }
            }
            guard !relative.isEmpty else { throw SandboxerError(.config, "The template directory \(template) holds no files.") }
        }
        var total = 0
        var out: [(path: String, bytes: [UInt8])] = []
        for name in isDirectory ? relative : [""] {
            let full = name.isEmpty ? template : template + "/" + name
            let bytes: [UInt8]
            switch BoundedFile.read(full, limit: maxTemplateFileBytes, limitText: "\(maxTemplateFileBytes >> 20) MiB") {
            case .success(let read): bytes = read
            case .failure(let failure): throw SandboxerError(.config, "Cannot read the template file \(full): \(failure.reason).")
            }
            total += bytes.count
            guard total <= maxTemplateBytes else {
                throw SandboxerError(.config, "The template \(template) is larger than \(maxTemplateBytes >> 20) MiB.")
            }
            out.append((name.isEmpty ? (template).lastPathComponent : name, bytes))
        }
        return out
    }

    /// sha256 hex of a file's bytes, read in chunks.
    static func fileDigest(_ path: String, what: String) throws(SandboxerError) -> String {
        var hasher = SHA256()
        if let failure = FileIO.forEachChunk(path, { hasher.update($0) }) {
            throw SandboxerError(.config, "Cannot read \(what), \(path): \(failure).")
        }
        return SHA256.hex(hasher.finalize())
    }

    /// `uname -m` of this host.
    static var architecture: String {
        var names = utsname()
        uname(&names)
        return withUnsafeBytes(of: &names.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
