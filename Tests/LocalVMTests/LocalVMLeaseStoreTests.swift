import Foundation
import Testing
import PluginKit
@testable import LocalVM

/// The network lease directory after a writer was killed between writing a lease's temporary file
/// and renaming it (no root needed: files and a lock only).
@Suite("LocalVM lease store")
struct LocalVMLeaseStoreTests {
    @Test("taking the network lock removes abandoned temporaries and keeps every lease")
    func abandonedTemporariesGo() throws {
        let dataDir = NSTemporaryDirectory() + "lease-store-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let store = LeaseStore(dataDir: dataDir)
        try FileOps.mkdirs(store.dir, mode: 0o700)
        let lease = store.dir + "/sbx-0000000000000001.json"
        let abandoned = store.dir + "/sbx-0000000000000002.json.tmp-22224-986640031"
        #expect(FileManager.default.createFile(atPath: lease, contents: Data("{}".utf8)))
        #expect(FileManager.default.createFile(atPath: abandoned, contents: Data("{".utf8)))
        let seen = try store.withLock { () throws(PluginError) -> [String] in FileOps.list(store.dir).sorted() }
        #expect(seen == ["sbx-0000000000000001.json"])
        #expect(FileOps.exists(lease))
        #expect(!FileOps.exists(abandoned))
    }
}
