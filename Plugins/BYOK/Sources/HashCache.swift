import Foundation
import Glibc
import PluginKit

/// Remembers a local file's sha256 by its identity (device, inode, size, mtime and ctime in ns), so a
/// CLI process does not hash the 1 MB node helper again each time it starts. Any write to the file
/// changes its ctime, so a stale entry is never used; the host still verifies what it runs.
enum HashCache {
    /// The file's identity as one line, or nil when it cannot be stat'ed.
    static func identity(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return "\(st.st_dev) \(st.st_ino) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)"
    }

    /// The sha256 of `path`: from `cacheFile` when it names this very file, else computed and stored.
    static func sha256(_ path: String, cacheFile: String) throws(PluginError) -> String {
        guard let id = identity(path) else { return try LocalFiles.sha256(path) }
        let key = path + "\n" + id + "\n"
        if let data = FileManager.default.contents(atPath: cacheFile), data.count < 8192 {
            let text = String(decoding: data, as: UTF8.self)
            if text.hasPrefix(key) {
                let hex = text.dropFirst(key.count).prefix(64)
                if hex.count == 64, hex.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) {
                    return String(hex)
                }
            }
        }
        let hex = try LocalFiles.sha256(path)
        // The identity after hashing must be the one before: a file changed meanwhile is not cached.
        if identity(path) == id {
            try? LocalFiles.mkdirs((cacheFile as NSString).deletingLastPathComponent, mode: 0o700)
            try? LocalFiles.writeAtomically(cacheFile, Data((key + hex + "\n").utf8), mode: 0o600)
        }
        return hex
    }
}
