// swift-tools-version:6.0
import PackageDescription

// sandboxer: one host executable, a host library, the plugin ABI header, the plugin author's kit,
// and backends built as dynamic libraries that the host loads with dlopen. No third-party packages.
let package = Package(
    name: "sandboxer",
    products: [
        .executable(name: "sandboxer", targets: ["sandboxer"]),
        .library(name: "PluginKit", targets: ["PluginKit"]),
        .library(name: "SandboxerLocalVM", type: .dynamic, targets: ["LocalVM"]),
        .library(name: "SandboxerTestPlugin", type: .dynamic, targets: ["TestPlugin"]),
        // LocalVM's port forwarder for published ports; ships next to libSandboxerLocalVM.so.
        .executable(name: "sandboxer-localvm-forward", targets: ["LocalVMForward"]),
    ],
    targets: [
        // The public contract: one C header, nothing else.
        .target(name: "PluginABI", path: "Sources/PluginABI"),
        // SQLite from the system (Debian: libsqlite3-dev).
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // libcurl from the system (Debian: libcurl4-openssl-dev): HTTP(S) for webhook deliveries.
        .systemLibrary(
            name: "CCurl",
            path: "Sources/CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .target(name: "HTTPClient", dependencies: ["CCurl"], path: "Sources/HTTPClient"),
        .target(name: "PluginKit", dependencies: ["PluginABI"], path: "Sources/PluginKit"),
        // epoll, eventfd and accept4 for the HTTP server: not exported by Glibc's Swift module.
        .target(name: "CHTTPShims", path: "Sources/CHTTPShims"),
        .target(name: "Host", dependencies: ["PluginABI", "PluginKit", "CSQLite", "CHTTPShims", "HTTPClient"], path: "Sources/Host"),
        .executableTarget(name: "sandboxer", dependencies: ["Host"], path: "Sources/sandboxer"),

        // LocalVM backend: namespace set-up lives in C (nothing Swift runs between fork and exec).
        .target(name: "CLocalVM", path: "Plugins/LocalVM/CLocalVM"),
        .target(name: "LocalVM", dependencies: ["PluginKit", "CLocalVM"], path: "Plugins/LocalVM/Sources"),
        .executableTarget(name: "LocalVMForward", path: "Plugins/LocalVM/Forward"),

        // A plugin for tests that can be told to fail, hang or answer garbage.
        .target(name: "TestPlugin", dependencies: ["PluginKit", "PluginABI"], path: "Tests/Fixtures/TestPlugin"),

        .testTarget(name: "HostTests", dependencies: ["Host", "PluginKit"], path: "Tests/HostTests"),
        .testTarget(name: "LocalVMTests", dependencies: ["LocalVM", "PluginKit"], path: "Tests/LocalVMTests"),
        .testTarget(name: "EndToEndTests", dependencies: ["Host"], path: "Tests/EndToEndTests"),
    ]
)
