import Foundation
import Glibc
import Testing

/// The host's side of LocalVM networking through the built binary: a profile's `network_options`
/// reach the plugin (a published port comes back as a second endpoint on 127.0.0.1), and the
/// descriptor names both after the profile's `reach`.
@Suite(.serialized, .enabled(if: Machine.isRoot && Machine.hasBusybox, "needs root and busybox-static (apt-get install busybox-static)"))
struct LocalVMReachEndToEndTests {
    @Test(.enabled(if: ExampleProfilesEndToEndTests.localVMReaches,
                   "the built LocalVM plugin does not declare sandboxer.reach/1 yet (network: bridge comes with the lvnet branch)"))
    func networkOptionsPublishAPortThatTheDescriptorNames() throws {
        var cli = try CLIRunner()
        try cli.useConfig(CLIRunner.localVMConfigHead() + """
            profiles:
              published:
                backend: localvm
                network: bridge
                network_options:
                  publish:
                    - target_port: 8080
                      host_port: 0
                reach:
                  web: {port: 8080, kind: http}
            """)
        let created = try cli.run(["create", "--profile", "published", "--json"])
        try #require(created.status == 0, "create failed: \(created.stderr)")
        let id = try #require(try created.object()["id"] as? String)
        defer { _ = try? cli.run(["destroy", id]) }
        let served = try cli.run(["exec", id, "--", "sh", "-c", "mkdir -p /tmp/www && echo published > /tmp/www/index.html && busybox httpd -p 8080 -h /tmp/www"])
        try #require(served.status == 0, "\(served.stderr)")

        let probed = try cli.run(["reach", id, "--probe", "--json"])
        #expect(probed.status == 0, "\(probed.stderr)")
        let endpoints = try #require(try probed.object()["endpoints"] as? [[String: Any]])
        #expect(endpoints.count == 2, "\(endpoints)")
        #expect(endpoints.first?["name"] as? String == "web")
        let published = try #require(endpoints.first { ($0["name"] as? String)?.hasPrefix("web-published-") == true })
        #expect(published["host"] as? String == "127.0.0.1" && published["kind"] as? String == "http")
        #expect(endpoints.allSatisfy { ($0["probe"] as? [String: Any])?["status"] as? Int == 200 }, "\(endpoints)")
        let port = try #require(published["port"] as? Int)
        #expect(try Loopback.exchange(port, "GET / HTTP/1.0\r\n\r\n").hasSuffix("published\n"))
    }
}
