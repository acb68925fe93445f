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

/// Every validation rule, each with its exact located one-line error.
@Suite struct ConfigValidationTests {
    /// A valid config with one line swapped for `line`, keyed by a marker comment.
    static func variant(_ replacements: [String: String]) -> String {
        var text = """
            backends:
              localvm:
                plugin: /lib/vm.so
            profiles:
              default:
                backend: localvm
                resources: {cpus: 1, memory: 512M, pids: 256}
                network: none
                ttl: {default: 1h, max: 24h}
                labels: {team: infra}
                env: {LANG: C.UTF-8}

            """
        for (old, new) in replacements { text = text.replacingOccurrences(of: old, with: new) }
        return text
    }

    static func failure(_ text: String) -> String {
        do {
            _ = try ConfigLoader.parse(text, file: "config.yaml", environment: ["HOME": "/home/op"], baseDirectory: "/etc")
            return "no error"
        } catch {
            return "\(error.code): \(error)"
        }
    }

    @Test func baseVariantIsValid() {
        #expect(Self.failure(Self.variant([:])) == "no error")
    }

    @Test(arguments: [
        // Typo protection, with the allowed keys.
        (["backends:": "backend:"],
         "unknownKey: config.yaml:1:1: Unknown key \"backend\" at the top level (did you mean \"backends\"?); allowed keys are data_dir, host_id, backends, profiles, server, webhooks, retention, builders, images, exec."),
        (["    network: none": "    netwrk: none"],
         "unknownKey: config.yaml:8:5: Unknown key \"netwrk\" in profile \"default\" (did you mean \"network\"?); allowed keys are backend, image, resources, network, env, ttl, consumer, labels, on_expire, snapshots, extends, reach, network_options, exec, placement, build."),
        (["    network: none": "    gpu: 1"],
         "unknownKey: config.yaml:8:5: Unknown key \"gpu\" in profile \"default\"; allowed keys are backend, image, resources, network, env, ttl, consumer, labels, on_expire, snapshots, extends, reach, network_options, exec, placement, build."),
        (["pids: 256}": "pid: 256}"],
         "unknownKey: config.yaml:7:40: Unknown key \"pid\" in the resources of profile \"default\" (did you mean \"pids\"?); allowed keys are cpus, memory, pids, disk."),
        (["max: 24h}": "max: 24h, idle: 5m}"],
         "unknownKey: config.yaml:9:34: Unknown key \"idle\" in the ttl of profile \"default\"; allowed keys are default, max, idle_reap, expiry_warning."),
        (["    plugin: /lib/vm.so": "    plugin: /lib/vm.so\n    conifg: {}"],
         "unknownKey: config.yaml:4:5: Unknown key \"conifg\" in backend \"localvm\" (did you mean \"config\"?); allowed keys are plugin, timeouts, max_response, config, isolation."),
        // Backends and names.
        (["    backend: localvm": "    backend: localvn"],
         "invalidValue: config.yaml:6:14: The profile \"default\" names backend \"localvn\", which is not defined under \"backends\" (defined: localvm)."),
        (["  default:": "  Default:"],
         "invalidValue: config.yaml:5:3: Invalid profile name \"Default\": names are 1 to 63 characters of a-z, 0-9, \"_\" and \"-\", starting with a letter or digit."),
        (["  localvm:": "  _vm:"],
         "invalidValue: config.yaml:2:3: Invalid backend name \"_vm\": names are 1 to 63 characters of a-z, 0-9, \"_\" and \"-\", starting with a letter or digit."),
        (["  default:": "  \(String(repeating: "a", count: 64)):"],
         "invalidValue: config.yaml:5:3: Invalid profile name \"\(String(repeating: "a", count: 64))\": names are 1 to 63 characters of a-z, 0-9, \"_\" and \"-\", starting with a letter or digit."),
        (["    plugin: /lib/vm.so": "    config: {}"],
         "missingKey: config.yaml:2:3: The backend \"localvm\" needs a \"plugin\" key naming its shared library."),
        (["    plugin: /lib/vm.so": "    plugin: \"\""],
         "invalidValue: config.yaml:3:13: The value of \"plugin\" in backend \"localvm\" must not be empty."),
        (["    plugin: /lib/vm.so": "    plugin: /lib/vm.so\n    config: [a]"],
         "invalidValue: config.yaml:4:13: Expected a mapping for \"config\" in backend \"localvm\", found a list."),
        (["    backend: localvm": "    image: x"],
         "missingKey: config.yaml:5:3: The profile \"default\" needs a \"backend\" key naming one of the backends."),
        // TTL.
        (["default: 1h, max: 24h": "default: 48h, max: 24h"],
         "invalidValue: config.yaml:9:20: The ttl default 2d of profile \"default\" is longer than its max 1d."),
        (["default: 1h, max: 24h": "default: 1.5h, max: 24h"],
         "invalidDuration: config.yaml:9:20: Invalid duration \"1.5h\": expected a positive whole number followed by s, m, h or d (for example 30m, 4h, 1d)."),
        (["default: 1h, max: 24h": "default: 1h, max: 0s"],
         "invalidDuration: config.yaml:9:29: Invalid duration \"0s\": expected a positive whole number followed by s, m, h or d (for example 30m, 4h, 1d)."),
        (["max: 24h}": "max: 24h, idle_reap: 1h30m}"],
         "invalidDuration: config.yaml:9:45: Invalid duration \"1h30m\": expected a positive whole number followed by s, m, h or d (for example 30m, 4h, 1d)."),
        (["    ttl: {default: 1h, max: 24h}": "    ttl: 4h"],
         "invalidValue: config.yaml:9:10: Expected a mapping for \"ttl\" in profile \"default\", found the value \"4h\"."),
        (["    ttl: {default: 1h, max: 24h}": "    ttl: {default: [1h]}"],
         "syntax: config.yaml:9:20: Nested flow collections are not supported; write nested values in block style."),
        (["    ttl: {default: 1h, max: 24h}": "    ttl: {default: 48h}"],
         "invalidValue: config.yaml:9:20: The ttl default 2d of profile \"default\" is longer than its max 1d."),
        // Resources.
        (["memory: 512M": "memory: 512MB"],
         "invalidValue: config.yaml:7:34: Invalid memory size \"512MB\" in profile \"default\": expected a whole number of bytes greater than zero, optionally followed by K, M, G or T (for example 512M or 2G)."),
        (["memory: 512M": "memory: 0"],
         "invalidValue: config.yaml:7:34: Invalid memory size \"0\" in profile \"default\": expected a whole number of bytes greater than zero, optionally followed by K, M, G or T (for example 512M or 2G)."),
        (["memory: 512M": "memory: 99999999999T"],
         "invalidValue: config.yaml:7:34: Invalid memory size \"99999999999T\" in profile \"default\": expected a whole number of bytes greater than zero, optionally followed by K, M, G or T (for example 512M or 2G)."),
        (["cpus: 1,": "cpus: 0,"],
         "invalidValue: config.yaml:7:23: Invalid cpus \"0\" in profile \"default\": expected a number greater than zero (for example 1 or 0.5)."),
        (["cpus: 1,": "cpus: -1,"],
         "invalidValue: config.yaml:7:23: Invalid cpus \"-1\" in profile \"default\": expected a number greater than zero (for example 1 or 0.5)."),
        (["cpus: 1,": "cpus: inf,"],
         "invalidValue: config.yaml:7:23: Invalid cpus \"inf\" in profile \"default\": expected a number greater than zero (for example 1 or 0.5)."),
        (["pids: 256": "pids: 0"],
         "invalidValue: config.yaml:7:46: Invalid pids \"0\" in profile \"default\": expected a whole number greater than zero."),
        (["pids: 256": "pids: -5"],
         "invalidValue: config.yaml:7:46: Invalid pids \"-5\" in profile \"default\": expected a whole number greater than zero."),
        // Network, labels, env.
        (["network: none": "network: host"],
         "invalidValue: config.yaml:8:14: Invalid network \"host\" in profile \"default\": expected none or bridge."),
        (["{team: infra}": "{team: \"\"}"],
         "invalidValue: config.yaml:10:20: The value of \"team\" in the labels of profile \"default\" must not be empty."),
        (["{team: infra}": "{team: }"],
         "invalidValue: config.yaml:10:14: The entry \"team\" in the labels of profile \"default\" has no value; write a string (quote it if it looks like null)."),
        (["{team: infra}": "{\"\": infra}"],
         "invalidValue: config.yaml:10:14: Label keys in profile \"default\" must not be empty."),
        (["    labels: {team: infra}": "    labels:\n      team:\n        nested: x"],
         "invalidValue: config.yaml:12:9: Expected a string for \"team\" in the labels of profile \"default\", found a mapping."),
        (["{LANG: C.UTF-8}": "{1LANG: x}"],
         "invalidValue: config.yaml:11:11: Invalid environment variable name \"1LANG\" in profile \"default\": use letters, digits and \"_\", not starting with a digit."),
        (["{LANG: C.UTF-8}": "{\"A=B\": x}"],
         "invalidValue: config.yaml:11:11: Invalid environment variable name \"A=B\" in profile \"default\": use letters, digits and \"_\", not starting with a digit."),
        (["{LANG: C.UTF-8}": "{A: \"\\u0000\"}"],
         "invalidValue: config.yaml:11:14: The value of \"A\" in the env of profile \"default\" must not contain a NUL character."),
        // Shapes and presence.
        (["backends:\n": "host_id: \"bad host\"\nbackends:\n"],
         "invalidValue: config.yaml:1:10: Invalid host_id \"bad host\": use 1 to 63 characters of letters, digits, \".\", \"_\" and \"-\", starting with a letter or digit."),
        (["    resources: {cpus: 1, memory: 512M, pids: 256}": "    resources: [1]"],
         "invalidValue: config.yaml:7:16: Expected a mapping for \"resources\" in profile \"default\", found a list."),
        (["    image": "    image"], "no error"),
    ] as [([String: String], String)])
    func reportsLocatedErrors(_ replacements: [String: String], _ expected: String) {
        #expect(Self.failure(Self.variant(replacements)) == expected)
    }

    @Test(arguments: [
        ("", "missingKey: config.yaml:1:1: The configuration is empty; it needs at least one backend under \"backends\" and one profile under \"profiles\"."),
        ("# nothing here\n", "missingKey: config.yaml:1:1: The configuration is empty; it needs at least one backend under \"backends\" and one profile under \"profiles\"."),
        ("- a\n", "invalidValue: config.yaml:1:1: Expected a mapping for the top level of the configuration, found a list."),
        ("backends:\n  b:\n    plugin: /b.so\n", "missingKey: config.yaml:1:1: At least one profile must be defined under \"profiles\"; the file has no \"profiles\" key."),
        ("backends:\n  b:\n    plugin: /b.so\nprofiles: {}\n", "missingKey: config.yaml:4:11: At least one profile must be defined under \"profiles\"."),
        ("backends:\n  b:\n    plugin: /b.so\nprofiles:\n", "missingKey: config.yaml:4:1: At least one profile must be defined under \"profiles\"."),
        ("profiles:\n  p:\n    backend: b\n", "invalidValue: config.yaml:3:14: The profile \"p\" names backend \"b\", which is not defined under \"backends\" (no backends are defined)."),
        ("backends:\n  b:\nprofiles:\n  p:\n    backend: b\n", "missingKey: config.yaml:2:3: The backend \"b\" needs a \"plugin\" key naming its shared library."),
        ("backends:\n  b:\n    plugin: /b.so\nprofiles:\n  p:\n", "missingKey: config.yaml:5:3: The profile \"p\" needs at least a \"backend\" key."),
        ("backends: [x]\nprofiles: {}\n", "invalidValue: config.yaml:1:11: Expected a mapping for \"backends\", found a list."),
        ("a: 1\na: 2\n", "syntax: config.yaml:2:1: Duplicate key \"a\" (first defined on line 1)."),
    ])
    func reportsDocumentLevelErrors(_ text: String, _ expected: String) {
        #expect(Self.failure(text) == expected)
    }

    @Test func acceptsQuotedNumbersAndSizesAndNullOptionals() throws {
        let text = Self.variant([
            "resources: {cpus: 1, memory: 512M, pids: 256}": "resources: {cpus: \"0.5\", memory: '1073741824', pids: \"64\"}",
            "    network: none": "    network: ~\n    image: null\n    consumer:",
            "max: 24h}": "max: 24h, idle_reap: null}",
        ])
        let config = try ConfigLoader.parse(text, file: "c.yaml", environment: ["HOME": "/h"], baseDirectory: "/")
        let profile = try #require(config.profiles["default"])
        #expect(profile.resources == ResourceSpec(cpus: 0.5, memoryBytes: 1 << 30, pids: 64))
        #expect(profile.network == "none")
        #expect(profile.image == nil && profile.consumer == nil && profile.ttl.idleReap == nil)
    }

    @Test(arguments: [("1024K", Int64(1) << 20), ("2G", Int64(2) << 30), ("1T", Int64(1) << 40), ("4096", 4096),
                      ("8388607T", Int64(8_388_607) << 40)])
    func memorySizes(_ text: String, _ bytes: Int64) {
        #expect(ResourceSpec.parseMemory(text) == bytes)
    }

    @Test(arguments: ["", "M", "1.5G", "-1M", "1m", "1 G", "1GB", "1Gi", "0K", "8388608T", "99999999999999999999"])
    func badMemorySizes(_ text: String) {
        #expect(ResourceSpec.parseMemory(text) == nil)
    }
}
