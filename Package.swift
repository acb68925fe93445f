// swift-tools-version:6.0
import PackageDescription

// sandboxer: one host executable over a stack of targets, the plugin ABI header, the plugin author's
// kit, and backends built as dynamic libraries that the host loads with dlopen. No third-party packages.
//
// Read the targets bottom-up; a target depends only on targets listed above it (docs/architecture.md
// draws the graph):
//   generic      Basics, HTTPServer, YAMLSubset, HTTPClient,      know nothing of sandboxes
//                ProtobufWire, GRPCClient
//   contract     PluginABI (C header), PluginProtocol (JSON messages), PluginKit (author's kit)
//   core         Core: model, TTL rules, state machine, explain: pure values, no I/O
//   services     Config (YAML → Core values), Store (SQLite), Backends (plugin loading and calls),
//                Lifecycle (the sandbox service: intent, reconcile, sweeps), Webhooks (outbox delivery)
//   fronts       API (HTTP routes over HTTPServer), PluginCheck (`plugin check`, the ABI conformance suite),
//                CLI (commands); `sandboxer` is a thin main
// Release builds of the host and of the shipped plugins carry the Swift runtime and Foundation(Essentials)
// inside (no libswiftCore.so & co. to map and relocate at every command: ~4 ms of each CLI start here,
// and a plugin on the shared runtime would map all of it again at dlopen, RTLD_NOW: docs/performance.md
// "The Swift runtime linked in"). Each image keeps its copy private (the toolchain's static link hides
// the libraries' symbols), so a plugin built against the shared runtime, in its own package or in C,
// still loads beside them (plugin-check.sh's separate-package plugin is one: it proves the mix). lld: the static link pulls in objects that name mktemp, for
// which GNU ld and gold print glibc's link-time warning (FoundationEssentials never calls it for us).
// `link/` first on the library path turns the `-lstdc++ -lgcc_s` that -static-stdlib adds into GCC's
// static archives (linker scripts there): no libstdc++.so / libgcc_s.so to load and bind at every
// process start (~0.8 ms of a Swift hello's 2.4 ms here). Packed relative relocations (DT_RELR, glibc
// >= 2.36): the loader reads an 8 KB table instead of 1 MB of RELA entries (docs/performance.md
// "The C++ runtime linked in (session 9)").
let staticSwiftRuntime: [LinkerSetting] = [
    .unsafeFlags(["-static-stdlib", "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                  "-L", Context.packageDirectory + "/link"], .when(platforms: [.linux], configuration: .release)),
    // Foundation's and FoundationEssentials' own static dependencies, which their modules do not
    // autolink (an archive gives only what is referenced: LocalVM and the host take no ICU).
    .linkedLibrary("_FoundationCollections", .when(platforms: [.linux], configuration: .release)),
    .linkedLibrary("_FoundationCShims", .when(platforms: [.linux], configuration: .release)),
    .linkedLibrary("FoundationInternationalization", .when(platforms: [.linux], configuration: .release)),
    .linkedLibrary("_FoundationICU", .when(platforms: [.linux], configuration: .release)),
    .linkedLibrary("CoreFoundation", .when(platforms: [.linux], configuration: .release)),
]

/// SQLite: the shared library in debug builds; in release builds the system's static archive
/// (libsqlite3-dev ships it), so a command's start does not map libsqlite3.so and resolve its 1,610
/// symbol relocations (docs/performance.md "CLI exec (session 8)").
let sqliteLinkage: [LinkerSetting] = [
    .linkedLibrary("sqlite3", .when(configuration: .debug)),
    .linkedLibrary("sqlite3", .when(platforms: [.macOS], configuration: .release)),
    .unsafeFlags(["-Xlinker", "-l:libsqlite3.a"], .when(platforms: [.linux], configuration: .release)),
]

/// sandboxer-localvm-init, static. On x86-64 without glibc (no crt1, no libc.a): its own _start and
/// runtime (Plugins/LocalVM/Init/nolibc.h), because glibc's start-up cpuid probes cost ~0.45 ms of
/// every create and exec on a VM (docs/performance.md "The init program without glibc (session 10)").
/// lld and --gc-sections over CLocalVM's per-function sections keep only the init's code paths, and
/// lld names any libc function they need that the runtime lacks. Other architectures link glibc.
#if arch(x86_64)
let initLinkage: [LinkerSetting] = [
    .unsafeFlags(["-static-executable", "-use-ld=lld", "-Xclang-linker", "-nostdlib", "-Xlinker", "--gc-sections",
                  "-Xlinker", "--error-limit=0"]),
]
#else
let initLinkage: [LinkerSetting] = [.unsafeFlags(["-static-executable"])]
#endif

let package = Package(
    name: "sandboxer",
    products: [
        .executable(name: "sandboxer", targets: ["sandboxer"]),
        .library(name: "PluginKit", targets: ["PluginKit"]),
        .library(name: "SandboxerLocalVM", type: .dynamic, targets: ["LocalVM"]),
        .library(name: "SandboxerTestPlugin", type: .dynamic, targets: ["TestPlugin"]),
        .library(name: "ProtobufWire", targets: ["ProtobufWire"]),
        .library(name: "GRPCClient", targets: ["GRPCClient"]),
        // LocalVM's port forwarder for published ports; ships next to libSandboxerLocalVM.so.
        .executable(name: "sandboxer-localvm-forward", targets: ["LocalVMForward"]),
        // LocalVM's sandbox init (PID 1 of each sandbox), static; ships next to libSandboxerLocalVM.so.
        .executable(name: "sandboxer-localvm-init", targets: ["LocalVMInit"]),
        .library(name: "SandboxerModal", type: .dynamic, targets: ["ModalEntry"]),
        .library(name: "SandboxerE2B", type: .dynamic, targets: ["E2BEntry"]),
        .library(name: "SandboxerFinHub", type: .dynamic, targets: ["FinHubEntry"]),
        .library(name: "SandboxerBYOK", type: .dynamic, targets: ["BYOKEntry"]),
        // BYOK's node helper: one static C executable that BYOK copies to each host.
        .executable(name: "sandboxer-node", targets: ["BYOKNode"]),
        .library(name: "SandboxerPacker", type: .dynamic, targets: ["PackerEntry"]),
    ],
    targets: [
        // MARK: System libraries and C shims
        // SQLite from the system (Debian: libsqlite3-dev).
        // Linked by Store's `sqliteLinkage`, not by the module map: the release build takes the archive.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        // libcurl from the system (Debian: libcurl4-openssl-dev for the header, libcurl4 at run time):
        // HTTP(S) and HTTP/2 clients. Not linked: loaded with dlopen on the first HTTP call, so commands
        // that make none do not pay for libcurl's ~30 shared objects at start.
        .target(name: "CCurl", path: "Sources/CCurl", linkerSettings: [.linkedLibrary("dl")]),
        // epoll, eventfd and accept4 for the HTTP server: not exported by Glibc's Swift module.
        .target(name: "CHTTPShims", path: "Sources/CHTTPShims"),
        // prctl(PR_SET_PDEATHSIG) and closing inherited descriptors, for the plugin runner child.
        .target(name: "CPluginRunner", path: "Sources/CPluginRunner"),
        // mallopt(M_ARENA_MAX) and malloc_trim for `serve`'s memory: not exported by Glibc's Swift module.
        .target(name: "CMallocShims", path: "Sources/CMallocShims"),

        // pipe2, posix_spawn_file_actions_addchdir_np and pthread_setname_np for Basics (hidden by Glibc's module).
        .target(name: "CBasics", path: "Sources/CBasics"),

        // MARK: Generic layers (nothing of sandboxer)
        // Text quoting, RFC 3339, SHA-256/HMAC, bounded file reads, the one syscall Result path, the test
        // pause hook (FaultPoint, inert unless SANDBOXER_TEST_PAUSE is set).
        .target(name: "Basics", dependencies: ["CBasics"], path: "Sources/Basics"),
        // HTTP/1.1 server: parser, connection state machine, epoll loop, worker pool.
        .target(name: "HTTPServer", dependencies: ["Basics", "CHTTPShims"], path: "Sources/HTTPServer"),
        // The strict YAML subset the config file is written in.
        .target(name: "YAMLSubset", dependencies: ["Basics"], path: "Sources/YAMLSubset"),
        // A small synchronous HTTP(S) client over libcurl (webhook deliveries).
        .target(name: "HTTPClient", dependencies: ["CCurl", "Basics"], path: "Sources/HTTPClient"),
        // A strict hand-written protobuf wire codec, and gRPC over HTTP/2 through libcurl (Modal).
        .target(name: "ProtobufWire", path: "Sources/ProtobufWire"),
        .target(name: "GRPCClient", dependencies: ["CCurl", "Basics"], path: "Sources/GRPCClient"),

        // MARK: The plugin contract
        // The public contract: one C header, nothing else. contrib/ holds a C helper that plugin
        // authors vendor; it is never compiled into the host.
        .target(name: "PluginABI", path: "Sources/PluginABI", exclude: ["contrib"]),
        // The JSON messages host and plugins exchange over the ABI (and JSONValue, PluginError).
        .target(name: "PluginProtocol", dependencies: ["PluginABI"], path: "Sources/PluginProtocol"),
        // What a Swift plugin author links: the entry point, the dispatcher, host callbacks.
        .target(name: "PluginKit", dependencies: ["PluginABI", "PluginProtocol"], path: "Sources/PluginKit"),

        // MARK: The host
        // Pure core: sandbox/snapshot model, profiles and TTL policy, TTL rules, state machine, explain.
        .target(name: "Core", dependencies: ["Basics", "PluginProtocol"], path: "Sources/Core"),
        // The config file: YAML → validated Core values, the embedded default, paths.
        .target(name: "Config", dependencies: ["Core", "YAMLSubset", "Basics", "PluginProtocol"], path: "Sources/Config"),
        // SQLite store: migrations, rows, events outbox, webhook delivery state.
        .target(name: "Store", dependencies: ["Core", "Basics", "CSQLite", "PluginProtocol"], path: "Sources/Store",
                linkerSettings: sqliteLinkage),
        // Plugin loading (dlopen, version negotiation), typed calls with deadlines, the registry, and the
        // plugin runner (`sandboxer __plugin-runner`) that runs an `isolation: process` backend's plugin.
        .target(name: "Backends", dependencies: ["Core", "Config", "PluginABI", "PluginProtocol", "CPluginRunner"],
                path: "Sources/Backends"),
        // The sandbox service: intent before backend calls, reconcile, expire/reap/prune sweeps,
        // reachability descriptors (their probes GET http endpoints through HTTPClient).
        .target(name: "Lifecycle", dependencies: ["Core", "Config", "Store", "Backends", "PluginProtocol", "HTTPClient"],
                path: "Sources/Lifecycle"),
        // Signed, retried webhook deliveries from the events outbox.
        .target(name: "Webhooks", dependencies: ["Core", "Config", "Store", "HTTPClient", "Basics"],
                path: "Sources/Webhooks"),
        // The HTTP API over HTTPServer: routes, auth, JSON bodies, OpenAPI, metrics. The OpenAPI document
        // is docs/openapi.yaml (Resources/openapi.yaml links to it), compiled into the binary.
        .target(name: "API", dependencies: ["HTTPServer", "YAMLSubset", "Lifecycle", "Webhooks", "Store", "Config", "Core",
                                            "Backends", "Basics", "PluginProtocol"], path: "Sources/API",
                resources: [.embedInCode("Resources/openapi.yaml")]),
        // `sandboxer plugin check`: loads a plugin as the host does and checks every MUST a program can.
        .target(name: "PluginCheck", dependencies: ["Backends", "Core", "PluginABI", "PluginProtocol", "Basics"], path: "Sources/PluginCheck"),
        // The command line: commands, tables, `serve`.
        .target(name: "CLI", dependencies: ["API", "Lifecycle", "Webhooks", "Store", "Config", "Core", "Backends",
                                            "HTTPServer", "Basics", "PluginProtocol", "PluginCheck", "CMallocShims"], path: "Sources/CLI"),
        .executableTarget(name: "sandboxer", dependencies: ["CLI"], path: "Sources/sandboxer",
                          linkerSettings: staticSwiftRuntime),

        // MARK: Plugins
        // LocalVM backend: namespace set-up lives in C (nothing Swift runs between fork and exec).
        .target(name: "CLocalVM", path: "Plugins/LocalVM/CLocalVM", cSettings: [.unsafeFlags(["-ffunction-sections", "-fdata-sections"])]),
        .target(name: "LocalVM", dependencies: ["PluginKit", "CLocalVM", "Basics"], path: "Plugins/LocalVM/Sources",
                linkerSettings: staticSwiftRuntime),
        .executableTarget(name: "LocalVMForward", path: "Plugins/LocalVM/Forward"),
        .executableTarget(name: "LocalVMInit", dependencies: ["CLocalVM"], path: "Plugins/LocalVM/Init",
                          cSettings: [.unsafeFlags(["-fno-builtin", "-fno-stack-protector"])], linkerSettings: initLinkage),

        // A plugin for tests that can be told to fail, hang or answer garbage.
        .target(name: "TestPlugin", dependencies: ["PluginKit", "PluginABI", "Basics"], path: "Tests/Fixtures/TestPlugin",
                linkerSettings: staticSwiftRuntime),

        // MARK: Tests
        .testTarget(name: "HostTests",
                    dependencies: ["Basics", "HTTPServer", "YAMLSubset", "HTTPClient", "PluginProtocol", "PluginKit",
                                   "Core", "Config", "Store", "Backends", "Lifecycle", "Webhooks", "API", "CLI", "PluginCheck"],
                    path: "Tests/HostTests"),
        .testTarget(name: "LocalVMTests", dependencies: ["LocalVM", "PluginKit"], path: "Tests/LocalVMTests"),
        .testTarget(name: "EndToEndTests", dependencies: ["Basics", "Core", "Store", "CLI", "BYOKTestHosts", "CLocalVM"], path: "Tests/EndToEndTests"),
        .testTarget(name: "ProtobufWireTests", dependencies: ["ProtobufWire"], path: "Tests/ProtobufWireTests"),
        .testTarget(name: "GRPCClientTests", dependencies: ["GRPCClient", "ProtobufWire"], path: "Tests/GRPCClientTests",
                    exclude: ["server"]),

        // Modal backend: gRPC (GRPCClient) with hand-encoded protobuf (ProtobufWire), nothing else.
        .target(name: "Modal", dependencies: ["PluginKit", "ProtobufWire", "GRPCClient"], path: "Plugins/Modal/Sources"),
        // Only the exported entry function, apart so tests can link `Modal` beside other plugins.
        .target(name: "ModalEntry", dependencies: ["Modal", "PluginKit"], path: "Plugins/Modal/Entry",
                linkerSettings: staticSwiftRuntime),
        .testTarget(name: "ModalTests", dependencies: ["Modal", "PluginKit", "ProtobufWire", "Backends", "Core"],
                    path: "Tests/ModalTests", exclude: ["Support/make-venv.sh"]),
        // E2B: REST control plane and envd's Connect process service, over the libcurl client.
        .target(name: "E2B", dependencies: ["PluginKit", "HTTPClient", "CCurl"], path: "Plugins/E2B/Sources"),
        // Only the exported entry symbol (kept out of E2B so tests can link that module).
        .target(name: "E2BEntry", dependencies: ["E2B", "PluginKit", "PluginABI"], path: "Plugins/E2B/Entry",
                linkerSettings: staticSwiftRuntime),
        // Unit tests link the E2B module; the stand-in tests load libSandboxerE2B.so through the host's loader
        // and run the built `sandboxer` (two targets, so the library's code is never in the test binary twice).
        .testTarget(name: "E2BUnitTests", dependencies: ["E2B", "PluginKit", "HTTPClient", "HTTPServer"], path: "Tests/E2BTests/Unit"),
        .testTarget(name: "E2BTests", dependencies: ["Backends", "PluginProtocol", "HTTPClient"], path: "Tests/E2BTests/StandIn"),
        // fin-hub backend: sandboxes on another sandboxer (the hub) through its HTTP API (HTTPClient).
        .target(name: "FinHub", dependencies: ["PluginKit", "HTTPClient"], path: "Plugins/FinHub/Sources"),
        // Only the exported entry function, apart so tests can link `FinHub` beside other plugins.
        .target(name: "FinHubEntry", dependencies: ["FinHub", "PluginKit"], path: "Plugins/FinHub/Entry",
                linkerSettings: staticSwiftRuntime),
        .testTarget(name: "FinHubTests", dependencies: ["FinHub", "PluginKit", "HTTPClient"], path: "Tests/FinHubTests"),

        // BYOK backend: the operator's own hosts over the system ssh client (one supervised ControlMaster
        // per host), each running the node helper `sandboxer-node`.
        .target(name: "CBYOK", path: "Plugins/BYOK/CBYOK"),
        .target(name: "BYOK", dependencies: ["PluginKit", "Basics", "CBYOK"], path: "Plugins/BYOK/Sources"),
        // Only the exported entry function, apart so tests can link `BYOK` beside other plugins.
        .target(name: "BYOKEntry", dependencies: ["BYOK", "PluginKit"], path: "Plugins/BYOK/Entry",
                linkerSettings: staticSwiftRuntime),
        // Test hosts for BYOK: sshd in network namespaces (used by BYOKTests and EndToEndTests).
        .target(name: "BYOKTestHosts", path: "Tests/Fixtures/BYOKHosts", exclude: ["fake-sandboxer-node.py"]),
        .testTarget(name: "BYOKTests", dependencies: ["BYOK", "PluginKit", "BYOKTestHosts"], path: "Tests/BYOKTests"),
        // BYOK's node helper (C only): LocalVM's launcher behind a one-verb-per-run JSON/frames protocol
        // (docs/backends/byok-node-protocol.md), linked statically so it runs on any Linux host.
        .executableTarget(name: "BYOKNode", dependencies: ["CLocalVM"], path: "Plugins/BYOK/Node",
                          linkerSettings: [.unsafeFlags(["-static-executable"])]),
        .testTarget(name: "BYOKNodeTests", dependencies: ["Basics", "CLocalVM"], path: "Tests/BYOKNodeTests"),

        // Packer builder: runs the real `packer build -machine-readable` (capability sandboxer.build/1).
        .target(name: "Packer", dependencies: ["PluginKit", "Basics"], path: "Plugins/Packer/Sources"),
        // Only the exported entry function, apart so tests can link `Packer` beside other plugins.
        .target(name: "PackerEntry", dependencies: ["Packer", "PluginKit"], path: "Plugins/Packer/Entry",
                linkerSettings: staticSwiftRuntime),
        .testTarget(name: "PackerTests", dependencies: ["Packer", "PluginKit", "Basics", "CLocalVM"], path: "Tests/PackerTests/Unit"),
        // Loads libSandboxerPacker.so (and libSandboxerLocalVM.so) through the host's loader and runs plugin check.
        .testTarget(name: "PackerABITests", dependencies: ["Backends", "PluginProtocol", "PluginCheck", "Basics"],
                    path: "Tests/PackerTests/ABI"),
    ]
)
