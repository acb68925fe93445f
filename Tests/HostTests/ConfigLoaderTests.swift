import Foundation
import PluginKit
import Testing
@testable import Basics
@testable import HTTPServer
@testable import YAMLSubset
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Store
@testable import Backends
@testable import Lifecycle
@testable import Webhooks
@testable import API
@testable import CLI

/// A scratch directory under /tmp, removed when the test ends.
final class ScratchDirectory {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "sandboxer-config-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(atPath: ConfigPaths.directory(of: file), withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

let fullExample = """
    data_dir: /var/lib/sandboxer        # optional
    host_id: build-host-1
    backends:
      localvm:
        plugin: libSandboxerLocalVM.so
        config:
          rootfs_cache: /var/cache/rootfs
          max_sandboxes: 8
          kvm: false
          ratio: 0.5
          port: "8080"
          nothing: ~
          tags: [a, 1, true]
    profiles:
      default:
        backend: localvm
        image: busybox
        resources: {cpus: 1, memory: 512M, pids: 256}
        network: none
        env: {LANG: C.UTF-8}
        ttl: {default: 1h, max: 24h}
        consumer: ci
        labels: {team: infra}
      short:
        backend: localvm
        network: bridge
        ttl:
          default: 15m
          max: 2h
          idle_reap: 10m
    """

@Suite struct ConfigLoaderTests {
    let env = ["HOME": "/home/op"]

    @Test func parsesTheFullExample() throws {
        let config = try ConfigLoader.parse(fullExample, file: "/etc/sandboxer/config.yaml", environment: env,
                                            baseDirectory: "/etc/sandboxer")
        #expect(config.source == "/etc/sandboxer/config.yaml")
        #expect(config.dataDir == "/var/lib/sandboxer")
        #expect(config.hostId == "build-host-1")
        #expect(config.backends == ["localvm": BackendConfig(
            name: "localvm", plugin: "/etc/sandboxer/libSandboxerLocalVM.so",
            config: ["rootfs_cache": "/var/cache/rootfs", "max_sandboxes": 8, "kvm": false, "ratio": .number(0.5),
                     "port": "8080", "nothing": nil, "tags": ["a", 1, true]])])
        #expect(config.profiles["default"] == Profile(
            name: "default", backend: "localvm", image: "busybox",
            resources: ResourceSpec(cpus: 1, memoryBytes: 512 << 20, pids: 256), network: "none",
            env: ["LANG": "C.UTF-8"], ttl: TTLPolicy(defaultTTL: TTLDuration(seconds: 3_600), max: TTLDuration(seconds: 86_400)),
            consumer: "ci", labels: ["team": "infra"]))
        #expect(config.profiles["short"] == Profile(
            name: "short", backend: "localvm", network: "bridge",
            ttl: TTLPolicy(defaultTTL: TTLDuration(seconds: 900), max: TTLDuration(seconds: 7_200), idleReap: TTLDuration(seconds: 600))))
    }

    @Test func embeddedDefaultLoadsWithoutAFile() throws {
        let config = try ConfigLoader.load(explicitPath: nil, environment: env, executableDirectory: "/opt/sandboxer/bin")
        #expect(config.source == "<embedded default>")
        #expect(config.dataDir == "/home/op/.local/share/sandboxer")
        #expect(config.hostId == nil)
        #expect(config.backends == ["localvm": BackendConfig(name: "localvm", plugin: "/opt/sandboxer/bin/libSandboxerLocalVM.so")])
        #expect(config.profiles == ["default": Profile(
            name: "default", backend: "localvm", resources: ResourceSpec(cpus: 1, memoryBytes: 512 << 20, pids: 512),
            network: "none", ttl: TTLPolicy(defaultTTL: TTLDuration(seconds: 3_600), max: TTLDuration(seconds: 86_400)))])
    }

    @Test func sandboxerHomeSetsTheDataDirectory() throws {
        let withHome = try ConfigLoader.load(explicitPath: nil, environment: ["HOME": "/home/op", "SANDBOXER_HOME": "/srv/sbx/"],
                                             executableDirectory: "/opt/bin")
        #expect(withHome.dataDir == "/srv/sbx")
        let tilde = try ConfigLoader.load(explicitPath: nil, environment: ["HOME": "/home/op", "SANDBOXER_HOME": "~/sbx"],
                                          executableDirectory: "/opt/bin")
        #expect(tilde.dataDir == "/home/op/sbx")
        let empty = try ConfigLoader.load(explicitPath: nil, environment: ["HOME": "/home/op", "SANDBOXER_HOME": ""],
                                          executableDirectory: "/opt/bin")
        #expect(empty.dataDir == "/home/op/.local/share/sandboxer")
        // data_dir in the file wins over the environment.
        let explicit = try ConfigLoader.parse("data_dir: /data\n" + minimal, file: "c.yaml",
                                              environment: ["SANDBOXER_HOME": "/srv/sbx"], baseDirectory: "/etc")
        #expect(explicit.dataDir == "/data")
    }

    @Test func noDataDirectoryAtAllIsAnError() {
        #expect(throws: ConfigError(code: .invalidValue,
                                    message: "Cannot choose a data directory: set data_dir in <embedded default>, or SANDBOXER_HOME or HOME in the environment.")) {
            try ConfigLoader.load(explicitPath: nil, environment: [:], executableDirectory: "/opt/bin")
        }
    }

    @Test func tildeExpandsInDataDirAndPluginPaths() throws {
        let text = "data_dir: ~/state\nbackends:\n  b:\n    plugin: ~/plugins/b.so\nprofiles:\n  p:\n    backend: b\n"
        let config = try ConfigLoader.parse(text, file: "c.yaml", environment: ["HOME": "/home/op"], baseDirectory: "/etc")
        #expect(config.dataDir == "/home/op/state")
        #expect(config.backends["b"]?.plugin == "/home/op/plugins/b.so")
        // Unquoted `~` is YAML's null (so the default applies); quoted, it is the home directory.
        let null = try ConfigLoader.parse("data_dir: ~\n" + minimal, file: "c.yaml", environment: ["HOME": "/home/op"], baseDirectory: "/etc")
        #expect(null.dataDir == "/home/op/.local/share/sandboxer")
        let bare = try ConfigLoader.parse("data_dir: \"~\"\n" + minimal, file: "c.yaml", environment: ["HOME": "/home/op"], baseDirectory: "/etc")
        #expect(bare.dataDir == "/home/op")
        #expect(throws: ConfigError(code: .invalidValue, message: "Cannot expand \"~\" in data_dir because HOME is not set.",
                                    file: "c.yaml", line: 1, column: 11)) {
            try ConfigLoader.parse("data_dir: ~/x\n" + minimal, file: "c.yaml", environment: [:], baseDirectory: "/etc")
        }
    }

    @Test func relativePathsResolveAgainstTheConfigDirectory() throws {
        let text = "data_dir: state/../data\nbackends:\n  a:\n    plugin: ./plugins/a.so\n  b:\n    plugin: ../lib/b.so\n  c:\n    plugin: /abs//c.so\nprofiles:\n  p:\n    backend: a\n"
        let config = try ConfigLoader.parse(text, file: "c.yaml", environment: env, baseDirectory: "/etc/sandboxer")
        #expect(config.dataDir == "/etc/sandboxer/data")
        #expect(config.backends.mapValues(\.plugin) == ["a": "/etc/sandboxer/plugins/a.so", "b": "/etc/lib/b.so", "c": "/abs/c.so"])
    }

    @Test func precedenceIsExplicitThenEnvironmentThenDefault() throws {
        let dir = try ScratchDirectory()
        let explicitFile = try dir.write("explicit/config.yaml", "host_id: explicit\nbackends:\n  b:\n    plugin: b.so\n" + profileOn("b"))
        let envFile = try dir.write("env/config.yaml", "host_id: from-env\nbackends:\n  b:\n    plugin: b.so\n" + profileOn("b"))
        var environment = env
        environment["SANDBOXER_CONFIG"] = envFile

        let explicit = try ConfigLoader.load(explicitPath: explicitFile, environment: environment, executableDirectory: "/opt/bin")
        #expect(explicit.hostId == "explicit")
        #expect(explicit.source == explicitFile)
        #expect(explicit.backends["b"]?.plugin == dir.path + "/explicit/b.so")

        let fromEnv = try ConfigLoader.load(explicitPath: nil, environment: environment, executableDirectory: "/opt/bin")
        #expect(fromEnv.hostId == "from-env")
        #expect(fromEnv.backends["b"]?.plugin == dir.path + "/env/b.so")

        environment["SANDBOXER_CONFIG"] = ""
        let fallback = try ConfigLoader.load(explicitPath: nil, environment: environment, executableDirectory: "/opt/bin")
        #expect(fallback.source == "<embedded default>")
    }

    @Test func missingFilesAreIOErrorsNamingThePath() throws {
        let dir = try ScratchDirectory()
        let missing = dir.path + "/nope.yaml"
        #expect(throws: ConfigError(code: .io, message: "Cannot read the configuration file \(missing): No such file or directory.")) {
            try ConfigLoader.load(explicitPath: missing, environment: env, executableDirectory: "/opt/bin")
        }
        #expect(throws: ConfigError(code: .io, message: "Cannot read the configuration file \(missing) (named by SANDBOXER_CONFIG): No such file or directory.")) {
            try ConfigLoader.load(explicitPath: nil, environment: ["SANDBOXER_CONFIG": missing], executableDirectory: "/opt/bin")
        }
        #expect(throws: ConfigError(code: .io, message: "Cannot read the configuration file \(dir.path): it is a directory.")) {
            try ConfigLoader.load(explicitPath: dir.path, environment: env, executableDirectory: "/opt/bin")
        }
        let binary = dir.path + "/binary.yaml"
        _ = FileManager.default.createFile(atPath: binary, contents: Data([0x61, 0x3A, 0x20, 0xFF, 0xFE]))
        #expect(throws: ConfigError(code: .io, message: "Cannot read the configuration file \(binary): it is not valid UTF-8.")) {
            try ConfigLoader.load(explicitPath: binary, environment: env, executableDirectory: "/opt/bin")
        }
    }

    @Test func syntaxErrorsInAFileNameTheFile() throws {
        let dir = try ScratchDirectory()
        let file = try dir.write("bad.yaml", "backends:\n  b:\n\tplugin: x\n")
        let error = try #require(throws: ConfigError.self) {
            try ConfigLoader.load(explicitPath: file, environment: env, executableDirectory: "/opt/bin")
        }
        #expect(error.code == .syntax)
        #expect(error.description == "\(file):3:1: Tabs are not allowed for indentation.")
    }

    @Test func backendConfigBecomesJSON() throws {
        let text = """
            backends:
              b:
                plugin: /b.so
                config:
                  ints: [0, -7, +3, 9007199254740992, 9007199254740993, 99999999999999999999]
                  floats: [1.5, .5, 1e3, -2.5E-1]
                  bools: [true, True, FALSE, yes]
                  nulls: [null, ~, "null"]
                  nested:
                    - name: x
                      on: true
                  quoted: ["1", 'true']
                  special: [.inf, 0x10, 1_000, 1.2.3]
            """ + "\n" + profileOn("b")
        let config = try ConfigLoader.parse(text, file: "c.yaml", environment: env, baseDirectory: "/")
        #expect(config.backends["b"]?.config == [
            "ints": [0, -7, 3, .number(9_007_199_254_740_992), "9007199254740993", "99999999999999999999"],
            "floats": [.number(1.5), .number(0.5), 1000, .number(-0.25)],
            "bools": [true, true, false, "yes"],
            "nulls": [nil, nil, "null"],
            "nested": [["name": "x", "on": true]],
            "quoted": ["1", "true"],
            "special": [".inf", "0x10", "1_000", "1.2.3"],
        ])
        let none = try ConfigLoader.parse("backends:\n  b:\n    plugin: /b.so\n    config:\n" + profileOn("b"), file: "c.yaml",
                                          environment: env, baseDirectory: "/")
        #expect(none.backends["b"]?.config == .object([:]))
    }
}

@Suite struct ConfigDocumentationTests {
    /// The ```yaml blocks of docs/configuration.md, in order.
    static func yamlBlocks() throws -> [String] {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/configuration.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        return text.components(separatedBy: "```yaml\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
    }

    @Test func documentedExamplesAreValid() throws {
        let blocks = try Self.yamlBlocks()
        try #require(blocks.count == 7)
        let full = try ConfigLoader.parse(blocks[0], file: "docs.yaml", environment: ["HOME": "/h"], baseDirectory: "/etc/sandboxer")
        #expect(full.profiles.keys.sorted() == ["default", "long-builds"])
        #expect(full.profiles["long-builds"]?.ttl.idleReap == TTLDuration(seconds: 1_800))
        let server = try ConfigLoader.parse(minimal + blocks[1], file: "docs.yaml", environment: ["HOME": "/h"], baseDirectory: "/")
        #expect(server.server.tokens.map(\.role) == [.consumer])
        #expect(server.server.sweepInterval == TTLDuration(seconds: 30))
        let retention = try ConfigLoader.parse(minimal + blocks[2], file: "docs.yaml", environment: ["HOME": "/h"], baseDirectory: "/")
        #expect(retention.retention == RetentionSettings(), "the documented values are the defaults")
        let exec = try ConfigLoader.parse(minimal + blocks[3], file: "docs.yaml", environment: ["HOME": "/h"], baseDirectory: "/")
        #expect(exec.exec == ExecSettings(), "the documented value is the default")
        let deadlines = try ConfigLoader.parse(blocks[4] + profileOn("e2b"), file: "docs.yaml", environment: ["HOME": "/h"], baseDirectory: "/")
        #expect(deadlines.backends["e2b"]?.timeouts["create"] == TTLDuration(seconds: 600))
        #expect(deadlines.backends["e2b"]?.maxResponseBytes == 64 << 20)
        let consumers = try ConfigLoader.parse("backends:\n  localvm:\n    plugin: /vm.so\n" + blocks[5], file: "docs.yaml",
                                               environment: ["HOME": "/h"], baseDirectory: "/")
        #expect(consumers.profiles["snuggle"]?.extends == "workspace-base")
        #expect(consumers.profiles["snuggle"]?.reach.map(\.name) == ["shell", "web"])
        let documentedDefault = try ConfigLoader.parse(blocks[6], file: DefaultConfig.source, environment: ["HOME": "/h"],
                                                       baseDirectory: "/opt/bin")
        let embedded = try ConfigLoader.load(explicitPath: nil, environment: ["HOME": "/h"], executableDirectory: "/opt/bin")
        #expect(documentedDefault == embedded)
    }
}

/// The smallest valid body (no data_dir).
let minimal = "backends:\n  b:\n    plugin: /b.so\nprofiles:\n  p:\n    backend: b\n"

func profileOn(_ backend: String) -> String { "profiles:\n  p:\n    backend: \(backend)\n" }
