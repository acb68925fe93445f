import Glibc

/// Path helpers with NSString's meaning (`appendingPathComponent`, `lastPathComponent`,
/// `deletingLastPathComponent`, `standardizingPath`, `resolvingSymlinksInPath`), without Foundation.
/// They work on `/`-separated text; nothing but `resolvingSymlinksInPath` touches the file system.
extension String {
    /// `self` and `component` joined by one `/`; runs of slashes collapse and a trailing one goes
    /// (except for `/` itself). Either side empty gives the other.
    public func appendingPathComponent(_ component: String) -> String {
        if component.isEmpty { return isEmpty ? "" : Self.fixingSlashes(self) }
        if isEmpty { return Self.fixingSlashes(component) }
        return Self.fixingSlashes(self + "/" + component)
    }

    /// The last component, trailing slashes ignored: `/a/b/` → `b`, `/` → `/`, `` → ``.
    public var lastPathComponent: String {
        let fixed = Self.fixingSlashes(self)
        if fixed == "/" || fixed.isEmpty { return fixed }
        guard let slash = fixed.lastIndex(of: "/") else { return fixed }
        return String(fixed[fixed.index(after: slash)...])
    }

    /// Everything before the last component: `/a/b` → `/a`, `/a` → `/`, `a` → ``, `/` → `/`.
    public var deletingLastPathComponent: String {
        let fixed = Self.fixingSlashes(self)
        if fixed == "/" || fixed.isEmpty { return fixed }
        guard let slash = fixed.lastIndex(of: "/") else { return "" }
        return slash == fixed.startIndex ? "/" : String(fixed[..<slash])
    }

    /// The path with `.` and empty components dropped and `..` applied lexically (an absolute path
    /// never climbs above `/`; a relative one keeps leading `..`). Symlinks are not consulted.
    public var standardizingPath: String {
        if isEmpty { return "" }
        let absolute = hasPrefix("/")
        var parts: [Substring] = []
        for part in split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..":
                if let last = parts.last, last != ".." { parts.removeLast() }
                else if !absolute { parts.append(part) }
            default: parts.append(part)
            }
        }
        let joined = parts.joined(separator: "/")
        return absolute ? "/" + joined : (joined.isEmpty ? "." : joined)
    }

    /// The path with every symlink resolved when it exists (realpath); otherwise `standardizingPath`.
    public var resolvingSymlinksInPath: String {
        guard let resolved = realpath(self, nil) else { return standardizingPath }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Runs of `/` collapsed to one and a trailing `/` dropped, except for the root itself.
    static func fixingSlashes(_ path: String) -> String {
        var out = ""
        out.reserveCapacity(path.utf8.count)
        var previousSlash = false
        for c in path {
            if c == "/" { if previousSlash { continue }; previousSlash = true } else { previousSlash = false }
            out.append(c)
        }
        if out.count > 1, out.hasSuffix("/") { out.removeLast() }
        return out
    }
}

/// The directory for temporary files, with a trailing `/` (as `NSTemporaryDirectory()`): `$TMPDIR`
/// when set and non-empty, else `/tmp/`.
public func temporaryDirectoryPath(environment: [String: String]? = nil) -> String {
    let value: String? = environment.map { $0["TMPDIR"] } ?? getenv("TMPDIR").map { String(cString: $0) }
    guard let dir = value, !dir.isEmpty else { return "/tmp/" }
    return dir.hasSuffix("/") ? dir : dir + "/"
}
