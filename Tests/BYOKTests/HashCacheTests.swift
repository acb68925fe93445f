import Foundation
import Glibc
import Testing
@testable import BYOK

/// The local helper's hash is remembered by the file's identity and never outlives a change.
struct HashCacheTests {
    @Test func aCachedHashIsUsedOnlyForTheSameFile() throws {
        let dir = NSTemporaryDirectory() + "byok-hashcache-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/helper", cache = dir + "/cache/helper.sha256"
        try Data("one".utf8).write(to: URL(fileURLWithPath: file))
        let one = try HashCache.sha256(file, cacheFile: cache)
        #expect(one == "7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed")
        #expect(FileManager.default.fileExists(atPath: cache))
        // A cache entry for this very file is believed (a planted one proves the file was not hashed).
        let planted = try String(contentsOfFile: cache, encoding: .utf8).replacingOccurrences(of: one, with: String(repeating: "a", count: 64))
        try Data(planted.utf8).write(to: URL(fileURLWithPath: cache))
        #expect(try HashCache.sha256(file, cacheFile: cache) == String(repeating: "a", count: 64))
        // Any write changes the identity: the file is hashed again and the entry replaced.
        try Data("two".utf8).write(to: URL(fileURLWithPath: file))
        #expect(try HashCache.sha256(file, cacheFile: cache) == "3fc4ccfe745870e2c0d99f71f30ff0656c8dedd41cc1d7d3d376b0dbe685e2f3")
        // A damaged cache file is ignored.
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: cache))
        #expect(try HashCache.sha256(file, cacheFile: cache) == "3fc4ccfe745870e2c0d99f71f30ff0656c8dedd41cc1d7d3d376b0dbe685e2f3")
    }
}
