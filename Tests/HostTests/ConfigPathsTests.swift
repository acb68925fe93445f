import Testing
@testable import Config

@Suite struct ConfigPathsTests {
    /// The string-based normalization it replaced, kept here as the reference.
    static func reference(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !parts.isEmpty { parts.removeLast() }
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    @Test(arguments: ["/", "//", "", "/a/./b/../c", "/../a", "/a//b/", "a", "/a/b/..", "/a/b/../..", "/a/b/../../..",
                      "/caf\u{e9}/\u{1F600}/./x", "/.hidden/..x/x../...", "/a/./././b", "./a", "../../a/b"])
    func normalizesAsBefore(path: String) {
        #expect(ConfigPaths.normalize(path) == Self.reference(path))
    }
}
