import Foundation
import Testing

/// LocalVM networking as an operator sees it, through the built binary: a `none` sandbox has only
/// loopback, two bridged sandboxes cannot reach each other, egress none has no way out, and destroy
/// leaves no host link behind. (The plugin-level tests in LocalVMNetworkTests go further: NAT into a
/// test namespace, peers that allow each other, crash safety of leases.) No traffic leaves the machine:
/// the only addresses used are the sandboxes' own, on links this test's sandboxes made.
@Suite(.serialized, .enabled(if: Machine.isRoot && Machine.hasBusybox, "needs root and busybox-static (apt-get install busybox-static)"))
struct LocalVMNetworkEndToEndTests {
    func runner() throws -> CLIRunner {
        var cli = try CLIRunner()
        try cli.useConfig(CLIRunner.localVMConfigHead() + """
            profiles:
              default:
                backend: localvm
              bridged:
                backend: localvm
                network: bridge
                reach:
                  web: {port: 8080, kind: http}
            """)
        return cli
    }

    func create(_ cli: CLIRunner, _ profile: String) throws -> String {
        let created = try cli.run(["create", "--profile", profile, "--json"])
        try #require(created.status == 0, "create failed: \(created.stderr)")
        return try #require(try created.object()["id"] as? String)
    }

    /// The sandbox's own address: the `web` endpoint's host in its descriptor.
    func address(_ cli: CLIRunner, _ id: String) throws -> String {
        let reach = try cli.run(["reach", id, "--json"])
        try #require(reach.status == 0, "\(reach.stderr)")
        let endpoints = try #require(try reach.object()["endpoints"] as? [[String: Any]])
        return try #require(endpoints.first?["host"] as? String)
    }

    /// The host-side link of sandbox `id`, from its lease (other suites make links of their own at the
    /// same time, so the test looks only at its sandboxes' links).
    func hostLink(_ cli: CLIRunner, _ id: String) throws -> String {
        let lease = try Data(contentsOf: URL(fileURLWithPath: cli.home + "/data/backends/localvm/network/leases/\(id).json"))
        let object = try #require(try JSONSerialization.jsonObject(with: lease) as? [String: Any])
        return try #require(object["link"] as? String)
    }

    func linkExists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: "/sys/class/net/" + name) }

    @Test(.enabled(if: ExampleProfilesEndToEndTests.localVMReaches, "the built LocalVM plugin does not declare sandboxer.reach/1"))
    func isolationAndCleanupThroughTheBinary() throws {
        let cli = try runner()

        // network: none → only loopback inside.
        let plain = try create(cli, "default")
        defer { _ = try? cli.run(["destroy", plain]) }
        let inside = try cli.run(["exec", plain, "--", "ls", "/sys/class/net"])
        #expect(inside.status == 0, "\(inside.stderr)")
        #expect(inside.stdout.split(separator: "\n") == ["lo"], "\(inside.stdout)")

        // Two bridged sandboxes: each answers the host, neither reaches the other.
        let a = try create(cli, "bridged")
        defer { _ = try? cli.run(["destroy", a]) }
        let b = try create(cli, "bridged")
        defer { _ = try? cli.run(["destroy", b]) }
        for id in [a, b] {
            let served = try cli.run(["exec", id, "--", "sh", "-c", "mkdir -p /tmp/www && echo \(id) > /tmp/www/index.html && busybox httpd -p 8080 -h /tmp/www"])
            try #require(served.status == 0, "\(served.stderr)")
        }
        let probed = try cli.run(["reach", a, "--probe", "--json"])
        #expect(probed.status == 0, "the host reaches a bridged sandbox: \(probed.stderr)")
        let addressOfB = try address(cli, b)
        // busybox wget's own -T crashes on this machine; `timeout` bounds it instead.
        let across = try cli.run(["exec", a, "--", "timeout", "3", "wget", "-q", "-O", "-", "http://\(addressOfB):8080/"])
        #expect(across.status != 0, "sandbox A reached sandbox B: \(across.stdout)")
        #expect(!across.stdout.contains(b))

        // Egress none: no default route, so nothing outside the sandbox's own /30 is even routable.
        let routes = try cli.run(["exec", a, "--", "cat", "/proc/net/route"])
        #expect(routes.status == 0)
        let defaults = routes.stdout.split(separator: "\n").dropFirst().filter { $0.split(separator: "\t").dropFirst().first == "00000000" }
        #expect(defaults.isEmpty, "egress none has a default route: \(routes.stdout)")

        // Destroy leaves no host link (and no lease).
        let links = [try hostLink(cli, a), try hostLink(cli, b)]
        #expect(links.allSatisfy(linkExists), "\(links)")
        for id in [a, b, plain] { #expect(try cli.run(["destroy", id]).status == 0) }
        #expect(!links.contains(where: linkExists), "links left after destroy: \(links.filter(linkExists))")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: cli.home + "/data/backends/localvm/network/leases"))?.isEmpty ?? true)
    }
}
