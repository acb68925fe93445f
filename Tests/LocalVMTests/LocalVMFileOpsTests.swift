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
}
