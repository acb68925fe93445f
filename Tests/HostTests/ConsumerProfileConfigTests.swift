import Testing
@testable import Basics
@testable import YAMLSubset
@testable import PluginProtocol
@testable import Core
@testable import Config

/// Consumer profiles in the config: `extends:` (merging, chains, cycles), `reach:`,
/// `network_options:`, `consumer: "*"`, and the rule that reach needs a network.
@Suite struct ConsumerProfileConfigTests {
    static let head = """
        backends:
          vm:
            plugin: /lib/vm.so
        profiles:

        """

    static func parse(_ profiles: String) throws(ConfigError) -> Config {
        try ConfigLoader.parse(head + profiles, file: "c.yaml", environment: ["HOME": "/home/op"], baseDirectory: "/etc")
    }

    static func failure(_ profiles: String) -> String {
        do { _ = try parse(profiles); return "no error" } catch { return "\(error)" }
    }

    @Test func aChildOverridesKeysAndMergesMaps() throws {
        let config = try Self.parse("""
              base:
                backend: vm
                network: bridge
                env: {LANG: C.UTF-8, MODE: base}
                labels: {team: infra}
                ttl: {default: 1h, max: 8h, idle_reap: 30m}
                resources: {cpus: 1, memory: 512M}
                reach:
                  shell: {port: 22, kind: ssh}
                consumer: "*"
              ws:
                extends: base
                env: {MODE: ws, EXTRA: "1"}
                ttl: {default: 4h}
                resources: {cpus: 2}
                reach:
                  web: {port: 8080, kind: http}
                consumer: snuggle
            """)
        let ws = try #require(config.profiles["ws"])
        #expect(ws.extends == "base")
        #expect(ws.backend == "vm" && ws.network == "bridge")
        #expect(ws.env == ["LANG": "C.UTF-8", "MODE": "ws", "EXTRA": "1"])
        #expect(ws.labels == ["team": "infra"])
        #expect(ws.ttl.defaultTTL.seconds == 4 * 3600 && ws.ttl.max.seconds == 8 * 3600 && ws.ttl.idleReap?.seconds == 1800)
        #expect(ws.resources.cpus == 2 && ws.resources.memoryBytes == 512 << 20)
        #expect(ws.reach == [ReachPort(name: "shell", port: 22, kind: .ssh), ReachPort(name: "web", port: 8080, kind: .http)])
        #expect(ws.consumer == "snuggle")
        #expect(config.profiles["base"]?.extends == nil)
        #expect(config.profiles["base"]?.env["MODE"] == "base")
    }

    @Test func chainsOfSeveralLevelsResolveInOrder() throws {
        let config = try Self.parse("""
              a:
                backend: vm
                labels: {level: a, from_a: "yes"}
              b:
                extends: a
                labels: {level: b}
                ttl: {default: 2h, max: 2h}
              c:
                extends: b
                labels: {level: c}
            """)
        let c = try #require(config.profiles["c"])
        #expect(c.extends == "b")
        #expect(c.labels == ["level": "c", "from_a": "yes"])
        #expect(c.ttl.max.seconds == 7200)
    }

    @Test(arguments: [
        ("  a:\n    extends: b\n    backend: vm\n  b:\n    extends: c\n  c:\n    extends: a\n",
         "c.yaml:11:14: The profile \"a\" cannot be resolved: \"extends\" forms a cycle (a → b → c → a)."),
        ("  a:\n    backend: vm\n    extends: a\n",
         "c.yaml:7:14: The profile \"a\" cannot be resolved: \"extends\" forms a cycle (a → a)."),
        ("  a:\n    extends: b\n  b:\n    extends: nope\n",
         "c.yaml:8:14: The profile \"b\" extends \"nope\", which is not defined under \"profiles\" (chain: a → b → nope; defined: a, b)."),
        ("  a:\n    extends: b\n  b:\n    backend: vm\n    gpu: 1\n",
         "c.yaml:9:5: Unknown key \"gpu\" in profile \"b\"; allowed keys are backend, image, resources, network, env, ttl, consumer, labels, on_expire, snapshots, extends, reach, network_options, exec, placement, build."),
        ("  a:\n    extends: [b]\n  b:\n    backend: vm\n",
         "c.yaml:6:14: Expected a string for \"extends\" in profile \"a\", found a list."),
        ("  a:\n    extends: b\n  b:\n    image: x\n",
         "c.yaml:5:3: The profile \"a\" needs a \"backend\" key naming one of the backends."),
    ])
    func extendsErrorsNameTheChain(_ profiles: String, _ expected: String) {
        #expect(Self.failure(profiles) == expected)
    }

    @Test(arguments: [
        ("    reach:\n      web: {port: 8080, kind: http}\n",
         "c.yaml:8:7: The profile \"p\" declares reach (web) but its network is none: a sandbox without a network cannot be reached; set network: bridge (or the mode its backend documents)."),
        ("    network: bridge\n    reach:\n      web: {port: 0, kind: http}\n",
         "c.yaml:9:19: Invalid port \"0\" for \"port\" in the reach entry \"web\" of profile \"p\": expected a whole number from 1 to 65535."),
        ("    network: bridge\n    reach:\n      web: {port: 70000}\n",
         "c.yaml:9:19: Invalid port \"70000\" for \"port\" in the reach entry \"web\" of profile \"p\": expected a whole number from 1 to 65535."),
        ("    network: bridge\n    reach:\n      web: {port: 80, kind: udp}\n",
         "c.yaml:9:29: Invalid kind \"udp\" in the reach entry \"web\" of profile \"p\": expected ssh, tcp, http or https."),
        ("    network: bridge\n    reach:\n      web: {kind: http}\n",
         "c.yaml:9:7: The reach entry \"web\" of profile \"p\" needs a \"port\" (the port inside the sandbox, 1 to 65535)."),
        ("    network: bridge\n    reach:\n      a: {port: 80}\n      b: {port: 80}\n",
         "c.yaml:10:17: The reach entry \"b\" of profile \"p\" names port 80, which the reach entry \"a\" already names; give each port one name."),
        ("    network: bridge\n    reach:\n      Web: {port: 80}\n",
         "c.yaml:9:7: Invalid reach entry name \"Web\": names are 1 to 63 characters of a-z, 0-9, \"_\" and \"-\", starting with a letter or digit."),
        ("    network: bridge\n    reach:\n      web: {port: 80, path: /}\n",
         "c.yaml:9:23: Unknown key \"path\" in the reach entry \"web\" of profile \"p\"; allowed keys are port, kind."),
        ("    network_options: {egress: nat}\n",
         "c.yaml:7:22: The profile \"p\" sets network_options but its network is none; set network: bridge (or the mode its backend documents)."),
        ("    network: bridge\n    network_options: {egress: all}\n",
         "c.yaml:8:31: Invalid egress \"all\" in the network_options of profile \"p\": expected none or nat."),
        ("    network: bridge\n    network_options: {allow_sandboxes: yes}\n",
         "c.yaml:8:40: Invalid allow_sandboxes \"yes\" in the network_options of profile \"p\": expected true or false."),
    ])
    func reachAndNetworkOptionsErrors(_ lines: String, _ expected: String) {
        #expect(Self.failure("  p:\n    backend: vm\n" + lines) == expected)
    }

    @Test func networkOptionsParse() throws {
        let config = try Self.parse("""
              p:
                backend: vm
                network: bridge
                network_options:
                  egress: nat
                  allow_sandboxes: true
                  publish:
                    - target_port: 8080
                      host_port: 0
                    - target_port: 22
                      host_port: 2222
                      host_address: 127.0.0.1
            """)
        let options = try #require(config.profiles["p"]?.networkOptions)
        #expect(options == CreateNetworkOptions(egress: "nat", allowSandboxes: true, publish: [
            .init(targetPort: 8080, hostPort: 0), .init(targetPort: 22, hostPort: 2222, hostAddress: "127.0.0.1")]))
    }

    @Test func consumersSeeTheirOwnAndOpenProfiles() throws {
        let config = try Self.parse("""
              ops-only:
                backend: vm
              open:
                backend: vm
                consumer: "*"
              harness:
                backend: vm
                consumer: glas-harness
            """)
        #expect(config.profiles["open"]?.isOpen(to: "anyone") == true)
        #expect(config.profiles["harness"]?.isOpen(to: "glas-harness") == true)
        #expect(config.profiles["harness"]?.isOpen(to: "snuggle") == false)
        #expect(config.profiles["ops-only"]?.isOpen(to: "glas-harness") == false)
    }
}
