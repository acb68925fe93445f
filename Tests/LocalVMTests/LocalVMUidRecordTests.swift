import CLocalVM
import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// The uid pool's lease records on disk: a symlink to the slice number (no data block to free at
/// destroy), and the file of earlier versions, still read and released.
@Suite("LocalVM uid lease records")
struct LocalVMUidRecordTests {
    static func pool() throws -> (UidPool, String) {
        let dataDir = NSTemporaryDirectory() + "localvm-uidrec-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try FileOps.mkdirs(dataDir + "/sandboxes", mode: 0o755)
        return (UidPool(dataDir: dataDir, base: 1 << 20, slices: 8), dataDir)
    }

    @Test("a lease is a symlink to its slice, read back without following it, and released")
    func symlinkRecord() throws {
        let (pool, dataDir) = try Self.pool()
        defer { _ = clvm_remove_tree(dataDir) }
        try FileOps.mkdirs(dataDir + "/sandboxes/a", mode: 0o755)
        #expect(try pool.lease("a") == pool.hostBase(0))
        var st = stat()
        #expect(lstat(pool.path("a"), &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK)
        #expect(st.st_blocks == 0, "a short symlink's target lives in its inode")
        #expect(pool.leases().map { "\($0.0)=\($0.1)" } == ["a=0"])
        #expect(try pool.lease("a") == pool.hostBase(0), "the same sandbox gets its slice again")
        try pool.release("a")
        #expect(!FileOps.exists(pool.path("a")))
        #expect(pool.leases().isEmpty)
        #expect(FileOps.list(pool.dir).filter { $0.contains(".tmp-") }.isEmpty)
    }

    @Test("a lease file of an earlier version is still read, counted as used and released")
    func oldFileRecord() throws {
        let (pool, dataDir) = try Self.pool()
        defer { _ = clvm_remove_tree(dataDir) }
        for id in ["old", "new"] { try FileOps.mkdirs(dataDir + "/sandboxes/" + id, mode: 0o755) }
        try FileOps.mkdirs(pool.dir, mode: 0o700)
        try FileOps.writeAtomically(pool.path("old"), Data("0\n".utf8), mode: 0o600)
        #expect(pool.leases().map { "\($0.0)=\($0.1)" } == ["old=0"])
        #expect(try pool.lease("new") == pool.hostBase(1), "slice 0 is the old lease's")
        try pool.release("old")
        #expect(pool.leases().map { "\($0.0)=\($0.1)" } == ["new=1"])
    }

    @Test("a record that is no slice number is skipped: a dangling or long symlink, a non-number")
    func badRecords() throws {
        let (pool, dataDir) = try Self.pool()
        defer { _ = clvm_remove_tree(dataDir) }
        try FileOps.mkdirs(pool.dir, mode: 0o700)
        #expect(symlink("/etc/hostname", pool.path("far")) == 0)
        #expect(symlink("12345678901234567890", pool.path("long")) == 0)
        #expect(symlink("99", pool.path("range")) == 0)
        try FileOps.writeAtomically(pool.path("text"), Data("banana\n".utf8))
        #expect(pool.leases().isEmpty, "\(pool.leases())")
    }
}
