/// Reading `/proc/self/mountinfo` for the mount points under a directory, on its bytes.
///
/// Destroy and the trash removal ask this for every sandbox; splitting the whole file into Swift
/// `String` lines and fields (grapheme by grapheme) was 27–32% of all CPU samples of a create+destroy
/// loop (`perf record`, docs/performance.md, "LocalVM create (session 6)"). Only the fifth field of
/// each line is looked at, and a `String` is made only for a match.
enum MountInfo {
    /// The mount points at or below `dir` (the fifth field of each line, octal escapes undone).
    static func mountPoints(under dir: String, in bytes: [UInt8]) -> [String] {
        let want = Array(dir.utf8)
        var result: [String] = []
        bytes.withUnsafeBufferPointer { buf in
            let n = buf.count
            var i = 0
            while i < n {
                var end = i
                while end < n && buf[end] != 0x0A { end += 1 }
                // The fifth field: after the fourth space (fields are separated by one space).
                var start = i, spaces = 0
                while start < end && spaces < 4 {
                    if buf[start] == 0x20 { spaces += 1 }
                    start += 1
                }
                if spaces == 4 {
                    var stop = start
                    while stop < end && buf[stop] != 0x20 { stop += 1 }
                    let field = UnsafeBufferPointer(rebasing: buf[start..<stop])
                    if field.contains(0x5C) {
                        let point = LocalVMPlugin.unescapeMountField(String(decoding: field, as: UTF8.self))
                        if point == dir || point.hasPrefix(dir + "/") { result.append(point) }
                    } else if isAtOrBelow(field, want) {
                        result.append(String(decoding: field, as: UTF8.self))
                    }
                }
                i = end + 1
            }
        }
        return result
    }

    /// `path == dir || path.hasPrefix(dir + "/")`, on bytes.
    static func isAtOrBelow(_ path: UnsafeBufferPointer<UInt8>, _ dir: [UInt8]) -> Bool {
        guard path.count >= dir.count else { return false }
        for k in 0..<dir.count where path[k] != dir[k] { return false }
        return path.count == dir.count || path[dir.count] == 0x2F
    }
}
