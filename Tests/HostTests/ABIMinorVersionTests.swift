import Foundation
import Glibc
@testable import Basics
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Backends
@testable import Lifecycle
@testable import CLI
import PluginABI
import PluginKit
import Testing

/// Minor versions only append: a plugin built against the next minor loads on this host, and this
/// host's loader accepts a table of exactly the v1.0 size without reading past it.
@Suite(.enabled(if: PluginFixtures.hasCC, "cc is not installed; the C plugin and harness cannot be built"))
struct ABIMinorVersionTests {
    static let createRequest = CreateRequest(sandboxId: "sbx-m1", hostId: "h", profile: "p", image: nil, resources: ResourceLimits(),
                                             network: "none", env: [:], labels: [:], timeoutSeconds: nil)

    @Test func aCPluginBuiltAgainstTheNextMinorRunsOnThisHost() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let next = try ABIFixtures.writeNextMinorHeader(into: dir)
        let path = try PluginFixtures.compileCPlugin(into: dir, name: "libnext.so", include: next.include)

        let plugin = try PluginLoader.load(path: path, context: makeContext(clock: FakeClock(ms: 1_700_000_000_000)))
        #expect(plugin.abiMajor == 1 && plugin.abiMinor == next.minor)
        let backend = try plugin.makeBackend(name: "next", config: [:], callTimeout: 5)
        let created = try backend.create(Self.createRequest, timeout: 5)
        #expect(created.info["created_at_ms"] == .number(1_700_000_000_000))
        // This host's table ends before the appended callback: the plugin saw it as absent.
        #expect(created.info["host_future"] == .null)

        // Bytes that need JSON escapes and base64 '/', through the helper both ways.
        let input = Data([0xff, 0xfe, 0x00, 0x22, 0x5c, 0x0a]) + Data("héllo".utf8)
        let ref = SandboxRef(sandboxId: "sbx-m1", backendRef: created.backendRef)
        let ran = try backend.exec(ExecRequest(sandboxId: "sbx-m1", backendRef: ref.backendRef, argv: ["cat"], stdinB64: input.base64EncodedString()), timeout: 5)
        #expect(ran.stdout == input)
        try backend.destroy(ref, timeout: 5)
        let gone = #expect(throws: BackendError.self) { try backend.status(ref, timeout: 5) }
        #expect(gone?.code == .notFound)
    }

    @Test func aNextMinorHostAndPluginUseTheAppendedFieldsOnlyWhenBothHaveThem() throws {
        let dir = try PluginFixtures.makeTempDir()
        defer { PluginFixtures.removeTree(dir) }
        let next = try ABIFixtures.writeNextMinorHeader(into: dir)
        let plugin = try PluginFixtures.compileCPlugin(into: dir, name: "libnext.so", include: next.include)
        let nextHost = try ABIFixtures.compileHarness(include: next.include, into: dir, name: "host-next")
        let thisHost = try ABIFixtures.compileHarness(include: ABIFixtures.include, into: dir, name: "host-this")

        // Both on the next minor: each sees the other's appended field.
        let both = try ABIFixtures.capture(nextHost, [plugin, "--host-size", "full", "--host-minor", "\(next.minor)"])
        #expect(!both.signalled && both.status == 0, "\(both)")
        #expect(both.value("future_op") == "42", "\(both)")
        #expect(both.value("create")?.contains("\"host_future\":7") == true, "\(both)")
        #expect(both.value("destroy") == "0 {}", "\(both)")

        // A host table of exactly the v1.0 size, ending at a guard page: the plugin must not read on.
        for host in [nextHost, thisHost] {
            let old = try ABIFixtures.capture(host, [plugin, "--host-size", "v1_0", "--host-minor", "0"])
            #expect(!old.signalled && old.status == 0, "\(old)")
            #expect(old.value("entry") == "ok", "\(old)")
            #expect(old.value("create")?.contains("\"host_future\":null") == true, "\(old)")
            #expect(old.value("destroy") == "0 {}", "\(old)")
        }

        // Smaller than v1.0 (no is_cancelled): the plugin refuses the host.
        let short = try ABIFixtures.capture(thisHost, [plugin, "--host-size", "short"])
        #expect(!short.signalled && short.value("entry") == "refused", "\(short)")
    }

    @Test func theLoaderAcceptsATableOfExactlyTheV1_0Size() throws {
        #expect(PluginLoader.v1TableSize == Int(SBX_PLUGIN_V1_0_SIZE))
        let table = try Self.guardedTable(size: Int(SBX_PLUGIN_V1_0_SIZE))
        let loaded = try PluginLoader.check(table: table.pointer, path: "/guarded/libv10.so", context: makeContext(clock: FakeClock(ms: 0)))
        #expect(loaded.name == "guarded" && loaded.version == "1.0.0")
        #expect(loaded.abiMajor == 1 && loaded.abiMinor == 0)
        withExtendedLifetime(table) {}
    }

    @Test func theLoaderReadsNothingPastAShortTable() throws {
        // Name and version fit, the functions do not: refused, and nothing past the end is read.
        let size = PluginLoader.stablePrefixSize + 8
        let table = try Self.guardedTable(size: size)
        let error = #expect(throws: PluginLoadError.self) {
            try PluginLoader.check(table: table.pointer, path: "/guarded/libshort.so", context: makeContext(clock: FakeClock(ms: 0)))
        }
        #expect(error?.code == .malformedTable)
        #expect(error?.message == "Cannot load plugin /guarded/libshort.so (plugin guarded 1.0.0, ABI 1.0): its table is \(size) bytes, smaller than the \(SBX_PLUGIN_V1_0_SIZE) bytes of ABI 1.0.")
        withExtendedLifetime(table) {}
    }

    @Test func aFieldPastStructSizeReadsAsAbsent() throws {
        let table = try Self.guardedTable(size: Int(SBX_PLUGIN_V1_0_SIZE))
        let covered = PluginLoader.field(table.pointer, Int(SBX_PLUGIN_V1_0_SIZE), \.instance_destroy)
        #expect((covered ?? nil) != nil)
        let cut = PluginLoader.field(table.pointer, Int(SBX_PLUGIN_V1_0_SIZE) - 1, \.instance_destroy)
        #expect(cut == nil, "a field whose last byte struct_size does not cover is absent")
        #expect(PluginLoader.field(table.pointer, PluginLoader.stablePrefixSize, \.version) != nil)
        withExtendedLifetime(table) {}
    }

    /// A plugin table of `size` bytes (its struct_size) that ends at a guard page.
    final class GuardedTable {
        let bytes: GuardedBytes
        let name = strdup("guarded")
        let version = strdup("1.0.0")
        var pointer: UnsafePointer<sbx_plugin> { UnsafePointer(bytes.start.assumingMemoryBound(to: sbx_plugin.self)) }

        init(size: Int) throws {
            bytes = try GuardedBytes(size: size)
            var full = sbx_plugin(
                struct_size: size, abi_major: 1, abi_minor: 0, name: UnsafePointer(name), version: UnsafePointer(version),
                instance_create: { _, _, _, _, _ in 7 }, invoke: { _, _, _, _, _, _ in 7 },
                result_free: { _ in }, instance_destroy: { _ in })
            // Only the first `size` bytes exist: the rest of the struct would lie in the guard page.
            withUnsafeBytes(of: &full) { source in
                if let base = source.baseAddress { bytes.start.copyMemory(from: base, byteCount: min(size, source.count)) }
            }
        }

        deinit {
            free(name)
            free(version)
        }
    }

    static func guardedTable(size: Int) throws -> GuardedTable {
        try GuardedTable(size: size)
    }
}
