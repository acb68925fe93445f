import Foundation
import Testing
@testable import LocalVM

@Suite("LocalVM file reading")
struct LocalVMFileOpsTests {
    @Test("a /proc file is read to its end, not just its first page (destroy reads mountinfo)")
    func procFileReadWhole() throws {
        // This test process maps dozens of libraries: its maps file is far more than one page.
        let maps = try #require(FileOps.readAll("/proc/self/maps"))
        #expect(maps.count > 3 * 4096, "read \(maps.count) bytes")
        #expect(maps.last == UInt8(ascii: "\n"))
        #expect(FileOps.readAll("/nonexistent/\(UUID().uuidString)") == nil)
    }

    @Test("list gives every name but . and .., as FileManager does; a missing directory is empty")
    func listNames() throws {
        let dir = NSTemporaryDirectory() + "localvm-list-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/sub", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let names = ["a", ".hidden", "caf\u{e9} \u{1F600}", String(repeating: "x", count: 255)]
        for name in names { #expect(FileManager.default.createFile(atPath: dir + "/" + name, contents: Data())) }
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: "/nonexistent")
        let listed = try FileManager.default.contentsOfDirectory(atPath: dir)
        #expect(FileOps.list(dir).sorted() == listed.sorted())
        #expect(Set(FileOps.list(dir)) == Set(names + ["sub", "link"]))
        #expect(FileOps.list(dir + "/nonexistent").isEmpty)
        #expect(FileOps.list(dir + "/a").isEmpty)  // a file, not a directory
    }
}
