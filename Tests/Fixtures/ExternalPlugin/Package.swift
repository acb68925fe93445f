// swift-tools-version:6.0
import PackageDescription

// A sandboxer backend built outside the sandboxer package: it has only the ABI header
// (Sources/CSandboxerABI/include/sandboxer_plugin.h) and speaks the raw C ABI, with no PluginKit.
// Here the header is a symlink to the real one, so it cannot drift; a real plugin keeps a copy.
let package = Package(
    name: "ExternalPlugin",
    products: [
        .library(name: "ExternalPlugin", type: .dynamic, targets: ["ExternalPlugin"]),
    ],
    targets: [
        .target(name: "CSandboxerABI", path: "Sources/CSandboxerABI"),
        .target(name: "ExternalPlugin", dependencies: ["CSandboxerABI"], path: "Sources/ExternalPlugin"),
    ]
)
