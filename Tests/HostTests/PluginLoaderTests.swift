import Foundation
import Glibc
import Basics
import HTTPServer
import YAMLSubset
import PluginProtocol
import Core
import Config
import Store
import Backends
import Lifecycle
import Webhooks
import API
import CLI
import PluginKit
import Testing

/// The loader's refusals: each one a PluginLoadError with its code and a one-line message.
@Suite struct PluginLoaderTests {
    let context = makeContext(clock: FakeClock(ms: 0))

    func loadError(_ path: String) -> PluginLoadError? {
        let error = #expect(throws: PluginLoadError.self) { try PluginLoader.load(path: path, context: context) }
        #expect(error?.message.contains("\n") == false, "messages are one line")
        #expect(error?.description == error?.message)
        return error
    }

    /// A copy of the TestPlugin library at `dir/name` with `mode`.
    func copyPlugin(into dir: String, mode: mode_t, name: String = "libplugin.so") throws -> String {
        let dest = dir + "/" + name
        try FileManager.default.copyItem(atPath: PluginFixtures.testPluginPath(), toPath: dest)
        chmod(dest, mode)
        return dest
    }

    @Test func aRelativePathIsRefused() {
        let error = loadError("plugins/libfoo.so")
        #expect(error?.code == .notAbsolute)
        #expect(error?.message == "Cannot load plugin plugins/libfoo.so: the path is not absolute; give the full path to the shared library.")
    }

    @Test func aMissingFileIsNotFound() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let error = loadError(dir + "/libnothing.so")
        #expect(error?.code == .notFound)
        #expect(error?.message == "Cannot load plugin \(dir)/libnothing.so: no such file.")
        #expect(loadError(dir)?.code == .notFound, "a directory is not a plugin")
    }

    @Test func aPrivateCopyLoads() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let path = try copyPlugin(into: dir, mode: 0o755)
        let plugin = try PluginLoader.load(path: path, context: context)
        #expect(plugin.path == path)
        #expect(plugin.name == "test")
        // Through a symlink in a private directory too; the plugin keeps the path it was given.
        let link = dir + "/libalias.so"
        #expect(symlink(path, link) == 0)
        #expect(try PluginLoader.load(path: link, context: context).path == link)
    }

    @Test(arguments: [0o775, 0o757, 0o777] as [mode_t])
    func aFileWritableByOthersIsRefused(_ mode: mode_t) throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let path = try copyPlugin(into: dir, mode: mode)
        let error = loadError(path)
        #expect(error?.code == .insecurePermissions)
        #expect(error?.message == "Cannot load plugin \(path): the file is writable by group or others (mode 0\(String(mode, radix: 8))); make it writable only by its owner (chmod go-w).")
    }

    @Test(arguments: [0o775, 0o757] as [mode_t])
    func aDirectoryWritableByOthersIsRefused(_ mode: mode_t) throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let path = try copyPlugin(into: dir, mode: 0o755)
        chmod(dir, mode)
        let error = loadError(path)
        #expect(error?.code == .insecurePermissions)
        #expect(error?.message.contains("its directory \(dir) is writable by group or others") == true)
    }

    @Test func aSymlinkInAWritableDirectoryIsRefused() throws {
        let safe = try PluginFixtures.makeTempDir()
        let open = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(safe); PluginFixtures.removeTree(open) }
        let path = try copyPlugin(into: safe, mode: 0o755)
        chmod(open, 0o777)
        #expect(symlink(path, open + "/libplugin.so") == 0)
        #expect(loadError(open + "/libplugin.so")?.code == .insecurePermissions)
    }

    @Test func aFileThatIsNotASharedLibraryFailsDlopen() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let path = dir + "/libtext.so"
        try Data("this is not an ELF file\n".utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o644)
        let error = loadError(path)
        #expect(error?.code == .dlopenFailed)
        #expect(error?.message.hasPrefix("Cannot load plugin \(path): dlopen failed: ") == true)
    }

    @Test(.enabled(if: PluginFixtures.hasCC, "cc is not installed; the C fixtures cannot be built"))
    func aLibraryWithoutTheEntryIsRefused() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let path = try PluginFixtures.compileCPlugin(["NO_ENTRY"], into: dir)
        let error = loadError(path)
        #expect(error?.code == .missingEntry)
        #expect(error?.message == "Cannot load plugin \(path): it does not export sandboxer_plugin_entry_v1, so it is not a sandboxer plugin for ABI 1 (this host speaks plugin ABI 1.1).")
    }

    @Test(.enabled(if: PluginFixtures.hasCC, "cc is not installed; the C fixtures cannot be built"))
    func anotherABIMajorIsRefusedNamingBothVersions() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let path = try PluginFixtures.compileCPlugin(["ABI_MAJOR_OVERRIDE=2"], into: dir)
        let error = loadError(path)
        #expect(error?.code == .abiMismatch)
        #expect(error?.message == "Cannot load plugin \(path) (plugin cplugin 0.3.0, ABI 2.1): this host speaks plugin ABI 1.1.")
    }

    @Test(.enabled(if: PluginFixtures.hasCC, "cc is not installed; the C fixtures cannot be built"))
    func aPluginReturningNullRefusesTheHost() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let path = try PluginFixtures.compileCPlugin(["REFUSE_HOST"], into: dir)
        let error = loadError(path)
        #expect(error?.code == .refused)
        #expect(error?.message == "Cannot load plugin \(path): the plugin refused this host (host ABI 1.1); it was probably built for another ABI.")
    }

    @Test(.enabled(if: PluginFixtures.hasCC, "cc is not installed; the C fixtures cannot be built"))
    func aTableSmallerThanV1IsMalformed() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let path = try PluginFixtures.compileCPlugin(["SHORT_TABLE"], into: dir)
        let error = loadError(path)
        #expect(error?.code == .malformedTable)
        #expect(error?.message == "Cannot load plugin \(path) (plugin cplugin 0.3.0, ABI 1.1): its table is 56 bytes, smaller than the 64 bytes of ABI 1.0.")
    }
}
