import Foundation
import Glibc
import PluginKit

/// A build's template as packer takes it: a JSON file, an HCL2 file, or a directory of HCL2 files
/// (or of exactly one JSON template), checked for non-deterministic calls before it runs.
struct PackerTemplate {
    /// What to pass to `packer build`.
    let argument: String
    /// Every template file read (what the determinism check covered).
    let files: [String]

    /// The largest template file read.
    static let maxFileBytes = 4 << 20

    init(path: String) throws(PluginError) {
        guard path.hasPrefix("/") else { throw PluginError(.invalidRequest, "The template \(path) is not an absolute path.") }
        var st = stat()
        guard stat(path, &st) == 0 else { throw PluginError(.invalidRequest, "The template \(path) does not exist.") }
        if st.st_mode & S_IFMT == S_IFDIR {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
            let hcl = names.filter { $0.hasSuffix(".pkr.hcl") || $0.hasSuffix(".pkr.json") }
            let json = names.filter { $0.hasSuffix(".json") && !$0.hasSuffix(".pkr.json") }
            if !hcl.isEmpty {
                argument = path; files = hcl.map { path + "/" + $0 }
            } else if json.count == 1 {
                argument = path + "/" + json[0]; files = [argument]
            } else {
                throw PluginError(.invalidRequest, json.isEmpty
                    ? "The template directory \(path) holds no *.pkr.hcl files and no .json template."
                    : "The template directory \(path) holds \(json.count) .json files; name the one to build.")
            }
        } else {
            argument = path; files = [path]
        }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw PluginError(.invalidRequest, "Cannot read the template file \(file).")
            }
            guard data.count <= Self.maxFileBytes else {
                throw PluginError(.invalidRequest, "The template file \(file) is larger than 4 MiB.")
            }
            if let refusal = BuildTemplateRules.refusal(file: file, text: String(decoding: data, as: UTF8.self)) {
                throw PluginError(.invalidRequest, refusal)
            }
        }
    }
}
