// swift-tools-version:6.0
import PackageDescription

// A PluginKit plugin built against a simulated NEXT minor of the ABI header, to prove that it still
// runs on today's hosts. Tests/HostTests/ABIMinorVersionTests.swift assembles it in a temporary
// directory: it writes Sources/PluginABI/include/sandboxer_plugin.h (the real header with a field
// appended to sbx_host_api and sbx_plugin and the minor bumped) and copies in PluginKit's and PluginProtocol's sources
// unchanged, so what is tested is PluginKit itself, compiled the way a plugin author would next year.
let package = Package(
    name: "FutureMinorPlugin",
    products: [
        .library(name: "FuturePlugin", type: .dynamic, targets: ["FuturePlugin"]),
    ],
    targets: [
        .target(name: "PluginABI", path: "Sources/PluginABI"),
        .target(name: "PluginProtocol", dependencies: ["PluginABI"], path: "Sources/PluginProtocol"),
        .target(name: "PluginKit", dependencies: ["PluginABI", "PluginProtocol"], path: "Sources/PluginKit"),
        .target(name: "FuturePlugin", dependencies: ["PluginKit", "PluginABI"], path: "Sources/FuturePlugin"),
    ]
)
