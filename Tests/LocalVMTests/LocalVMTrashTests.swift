import CLocalVM
import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

/// Destroy answers before the sandbox's directory is removed: it goes to `<data_dir>/trash` and a
/// background thread removes it. These prove the removal still happens, completely, whoever ends first.
@Suite("LocalVM trash")
struct LocalVMTrashTests {
    /// A scratch data dir with a tree that looks like a sandbox's (files, nested dirs, a symlink out).
    static func scratch() throws -> (dataDir: String, tree: String) {
        let dataDir = NSTemporaryDirectory() + "localvm-trash-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        try FileOps.mkdirs(dataDir + "/sandboxes/s1/upper/etc", mode: 0o755)
        try FileOps.writeText(dataDir + "/sandboxes/s1/upper/etc/hostname", "s1\n")
        try FileOps.writeText(dataDir + "/sandboxes/s1/meta.json", "{}")
        #expect(symlink("/etc", dataDir + "/sandboxes/s1/upper/link") == 0)
        return (dataDir, dataDir + "/sandboxes/s1")
    }

    @Test("discard moves the tree out at once and a remover process empties the trash")
    func discardThenRemoved() throws {
        let (dataDir, tree) = try Self.scratch()
        defer { _ = clvm_remove_tree(dataDir) }
        let trash = TrashBin(dataDir: dataDir)
        try trash.discard(tree, sandboxId: "s1")
        #expect(!FileOps.exists(tree))
        trash.waitIdle()
        #expect(clvm_wait_dir_empty(trash.dir, 10_000) == 0, "\(trash.entries)")
        #expect(FileOps.exists("/etc/hostname"), "the symlink was not followed")
    }

    @Test("without the remover program, discard's background thread empties the trash")
    func discardThenRemovedByThread() throws {
        let (dataDir, tree) = try Self.scratch()
        defer { _ = clvm_remove_tree(dataDir) }
        let trash = TrashBin(dataDir: dataDir, removerProgram: nil)
        try trash.discard(tree, sandboxId: "s1")
        #expect(!FileOps.exists(tree))
        trash.waitIdle()
        #expect(trash.entries.isEmpty, "\(trash.entries)")
        #expect(FileOps.exists("/etc/hostname"), "the symlink was not followed")
    }

    @Test("an entry discard handed to a remover is not handed again at the instance's end")
    func handedEntryNotHandedAgain() throws {
        let (dataDir, tree) = try Self.scratch()
        defer { _ = clvm_remove_tree(dataDir) }
        // A remover "program" that counts its runs and removes nothing: the entry stays, owned by it.
        let fake = dataDir + "/fake-remover", runs = dataDir + "/runs"
        try FileOps.writeText(fake, "#!/bin/sh\necho run >> '\(runs)'\n")
        #expect(chmod(fake, 0o755) == 0)
        let trash = TrashBin(dataDir: dataDir, removerProgram: fake)
        try trash.discard(tree, sandboxId: "s1")
        // discard starts the remover from a thread of its own; this waits for that start only.
        trash.waitSpawned()
        let handed = try #require(trash.entries.first)
        #expect(trash.isHanded(handed))
        #expect(FileOps.readText(runs) == "run\n")
        // handOff finds only handed entries: no second remover, and no synchronous drain either.
        trash.handOff()
        #expect(FileOps.readText(runs) == "run\n")
        #expect(trash.entries == [handed])
        try trash.drain()
    }

    @Test("a mount under the discarded dir is detached before discard returns: the trash never holds a mount", .enabled(if: getuid() == 0))
    func mountUnderDiscardedDir() throws {
        let (dataDir, tree) = try Self.scratch()
        defer { _ = clvm_remove_tree(dataDir) }
        try FileOps.mkdirs(tree + "/ctl", mode: 0o755)
        try #require(mount("tmpfs", tree + "/ctl", "tmpfs", 0, "size=64k") == 0)
        try FileOps.writeText(tree + "/ctl/deadline", "1\n")
        let trash = TrashBin(dataDir: dataDir, removesInBackground: false)
        try trash.discard(tree, sandboxId: "s1")
        #expect(LocalVMPlugin.mountPoints(under: tree).isEmpty)
        // A process that ends now (a plugin runner whose host went away) leaves plain files only.
        #expect(LocalVMPlugin.mountPoints(under: trash.dir).isEmpty, "\(LocalVMPlugin.mountPoints(under: trash.dir))")
        try trash.drain()
        #expect(trash.entries.isEmpty, "\(trash.entries)")
        #expect(LocalVMPlugin.mountPoints(under: dataDir).isEmpty, "\(LocalVMPlugin.mountPoints(under: dataDir))")
    }

    @Test("drain alone (no thread) removes every entry, two of the same id included")
    func drainRemovesAll() throws {
        let (dataDir, tree) = try Self.scratch()
        defer { _ = clvm_remove_tree(dataDir) }
        let trash = TrashBin(dataDir: dataDir)
        // Entries made by hand with discard's naming (`<id>.<nonce>`), so no background thread runs.
        try FileOps.mkdirs(trash.dir, mode: 0o700)
        #expect(rename(tree, trash.dir + "/s1.1") == 0)
        try FileOps.mkdirs(tree + "/upper", mode: 0o755)
        #expect(rename(tree, trash.dir + "/s1.2") == 0)
        #expect(trash.entries.count == 2)
        try trash.drain()
        #expect(trash.entries.isEmpty, "\(trash.entries)")
    }

    @Test("at exit the trash goes to a detached remover process, which empties it")
    func detachedRemoverEmptiesTrash() throws {
        let (dataDir, tree) = try Self.scratch()
        defer { _ = clvm_remove_tree(dataDir) }
        let trash = TrashBin(dataDir: dataDir, removesInBackground: false)
        try trash.discard(tree, sandboxId: "s1")
        try FileOps.mkdirs(tree + "/upper/a/b", mode: 0o755)
        try FileOps.writeText(tree + "/upper/a/b/f", "x")
        try trash.discard(tree, sandboxId: "s1")
        #expect(trash.entries.count == 2)
        trash.handOff()
        // The handshake: inotify on the trash dir, bounded (no sleeping).
        #expect(clvm_wait_dir_empty(trash.dir, 10_000) == 0, "\(trash.entries)")
        #expect(FileOps.exists("/etc/hostname"), "the symlink was not followed")
    }

    @Test("the hand-off posix_spawns the init program's remover mode, which empties the trash",
          .enabled(if: InitProgram.programPath != nil, "sandboxer-localvm-init is not built next to the test binary"))
    func spawnedRemoverEmptiesTrash() throws {
        let (dataDir, tree) = try Self.scratch()
        defer { _ = clvm_remove_tree(dataDir) }
        let trash = TrashBin(dataDir: dataDir, removesInBackground: false)
        #expect(trash.removerProgram == InitProgram.programPath)
        try trash.discard(tree, sandboxId: "s1")
        // The started process forks the remover and exits 0 at once; that exit is what returns here.
        #expect(trash.spawnRemover())
        #expect(clvm_wait_dir_empty(trash.dir, 10_000) == 0, "\(trash.entries)")
        #expect(FileOps.exists("/etc/hostname"), "the symlink was not followed")
    }

    @Test("without the init program the hand-off forks a remover instead, which empties the trash")
    func forkedRemoverEmptiesTrash() throws {
        let (dataDir, tree) = try Self.scratch()
        defer { _ = clvm_remove_tree(dataDir) }
        let trash = TrashBin(dataDir: dataDir, removesInBackground: false, removerProgram: nil)
        try trash.discard(tree, sandboxId: "s1")
        #expect(!trash.spawnRemover())
        trash.handOff()
        #expect(clvm_wait_dir_empty(trash.dir, 10_000) == 0, "\(trash.entries)")
        #expect(FileOps.exists("/etc/hostname"), "the symlink was not followed")
    }

    @Test("a remover program that cannot start leaves the trash to the fork")
    func missingRemoverProgram() throws {
        let (dataDir, tree) = try Self.scratch()
        defer { _ = clvm_remove_tree(dataDir) }
        let trash = TrashBin(dataDir: dataDir, removesInBackground: false, removerProgram: dataDir + "/absent")
        try trash.discard(tree, sandboxId: "s1")
        #expect(!trash.spawnRemover())
        trash.handOff()
        #expect(clvm_wait_dir_empty(trash.dir, 10_000) == 0, "\(trash.entries)")
    }

    @Test("two removers of the same tree at once both succeed (a drain racing the detached remover)")
    func concurrentRemovalTolerated() throws {
        let (dataDir, tree) = try Self.scratch()
        defer { _ = clvm_remove_tree(dataDir) }
        for i in 0 ..< 200 { try FileOps.mkdirs(tree + "/upper/d\(i)/e", mode: 0o755) }
        let trash = TrashBin(dataDir: dataDir, removesInBackground: false)
        try trash.discard(tree, sandboxId: "s1")
        trash.handOff()
        #expect(throws: Never.self) { try trash.drain() }
        #expect(clvm_wait_dir_empty(trash.dir, 10_000) == 0, "\(trash.entries)")
    }

    @Test("an instance's start finishes what an earlier process left in the trash")
    func leftoverRemovedAtStart() throws {
        let (dataDir, tree) = try Self.scratch()
        defer { _ = clvm_remove_tree(dataDir) }
        try FileOps.mkdirs(dataDir + "/trash", mode: 0o700)
        #expect(rename(tree, dataDir + "/trash/s1.dead") == 0) // as a crash right after the rename leaves it
        let plugin = try LocalVMPlugin(config: .object(["data_dir": .string(dataDir),
                                                        "cgroup_parent": .string("sbxtrash-\(getpid())")]),
                                       host: .standalone())
        plugin.trash.waitIdle()
        #expect(plugin.trash.entries.isEmpty, "\(plugin.trash.entries)")
    }

    @Test("wait for an empty dir: returns at once when empty or absent, times out while an entry stays")
    func waitDirEmpty() throws {
        let (dataDir, _) = try Self.scratch()
        defer { _ = clvm_remove_tree(dataDir) }
        #expect(clvm_wait_dir_empty(dataDir + "/absent", 1000) == 0)
        #expect(clvm_wait_dir_empty(dataDir + "/sandboxes", 0) == 1)
        try FileOps.mkdirs(dataDir + "/empty", mode: 0o755)
        #expect(clvm_wait_dir_empty(dataDir + "/empty", 1000) == 0)
    }

    @Test("destroy answers with the sandbox dir gone; the trash is empty once drained", .enabled(if: localVMSkipReason == nil))
    func destroyUsesTrash() throws {
        let world = try LocalVMWorld()
        defer { world.finish() }
        try world.create("t1")
        _ = try world.sh("t1", "echo data > /root-file; mkdir -p /a/b/c && echo x > /a/b/c/f")
        try world.destroy("t1")
        #expect(!FileOps.exists(world.dataDir + "/sandboxes/t1"))
        try world.plugin.trash.drain()
        #expect(world.plugin.trash.entries.isEmpty)
        // The id is free again at once, even while a removal could still run.
        try world.create("t1")
        try world.destroy("t1")
    }
}
