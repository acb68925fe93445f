import CLocalVM
import Foundation
import Glibc
import PluginKit
import Testing
@testable import LocalVM

// Bridged networking needs root, namespaces, cgroups and nft; each test skips with the reason
// otherwise. Traffic only ever goes to sandboxes these tests create, to namespaces they make
// themselves (Upstream), or to 127.0.0.1.
@Suite("LocalVM network", localVMNetworkAvailable)
struct LocalVMNetworkTests {
    @Test("a bridged sandbox's httpd answers the host on the endpoint's address; create→reachable is measured")
    func bridgedHttpd() throws {
        let world = try LocalVMWorld.bridged()
        defer { world.finish() }
        let id = "br-\(UInt16.random(in: 0 ... .max))"
        let ms = { (a: DispatchTime, b: DispatchTime) in Double(b.uptimeNanoseconds - a.uptimeNanoseconds) / 1e6 }
        // A network-none create first: it builds the image cache, and is the baseline.
        let plainStart = DispatchTime.now()
        try world.create(id + "-none")
        let plain = ms(plainStart, DispatchTime.now())
        let start = DispatchTime.now()
        let created = try world.createBridged(id)
        let createdAt = DispatchTime.now()
        try world.startHttpd(id, text: "hello-\(id)")
        let endpoints = try world.endpoints(id, ports: [8080])
        let e = try #require(endpoints.first)
        let lease = try world.lease(id)
        #expect(endpoints.count == 1)
        #expect(e["kind"] == "tcp" && e["target_port"] == 8080 && e["port"] == 8080 && e["tls"] == false)
        #expect(e["auth"] == ["scheme": "none"])
        #expect(e["host"]?.stringValue == lease.sandboxAddress)
        let body = NetTest.httpGet(lease.sandboxAddress, 8080)
        let reachable = DispatchTime.now()
        #expect(body == "hello-\(id)\n")
        let noneStart = DispatchTime.now()
        try world.create(id + "-none2")
        let none = ms(noneStart, DispatchTime.now())
        print("localvm bridge: create \(ms(start, createdAt)) ms (network none: \(none) ms; the first, with the image build: \(plain) ms), create→httpd answering \(ms(start, reachable)) ms")
        try world.destroy(id + "-none2")
        try world.destroy(id + "-none")

        // What was made: a /30 from the pool, the labelled host link, eth0 inside, no default route.
        #expect(created.info["network"] == "bridge")
        #expect(created.info["bridge"]?["sandbox_address"]?.stringValue == lease.sandboxAddress)
        #expect(HostNetwork.alias(of: lease.link) == world.plugin.networkLabel(id))
        #expect(lease.link.count <= 15 && lease.link.hasPrefix("sbx"))
        #expect(try world.exec(id, ["ls", "/sys/class/net"]).out == "eth0\nlo\n")
        let addr = try world.exec(id, ["ip", "-o", "-4", "addr", "show", "eth0"]).out
        #expect(addr.contains(lease.sandboxAddress + "/30"), "\(addr)")
        #expect(!(try world.exec(id, ["ip", "route"]).out.contains("default")))
        // The host end forwards nothing for an egress-none sandbox and has no IPv6 address.
        #expect(FileOps.readText("/proc/sys/net/ipv4/conf/\(lease.link)/forwarding") == "0\n")
        #expect(FileOps.readText("/proc/sys/net/ipv6/conf/\(lease.link)/disable_ipv6").map { $0 == "1\n" } ?? true)
        // The sandbox cannot open connections to the host, not even to a listener on its gateway.
        let listener = try #require(try PortForwarder.listen([.init(targetPort: 1, hostPort: 0, hostAddress: lease.hostAddress)]).first)
        defer { close(listener.fd) }
        let toHost = try world.sh(id, "nc -w 2 \(lease.hostAddress) \(listener.hostPort) </dev/null; echo rc=$?")
        #expect(toHost.out.contains("rc=1"), "\(toHost.out) \(toHost.err)")
        _ = fcntl(listener.fd, F_SETFL, O_NONBLOCK)
        #expect(accept(listener.fd, nil, nil) < 0 && errno == EAGAIN, "a connection from the sandbox reached the host")
        try world.destroy(id)
    }

    @Test("a none sandbox has only lo; endpoints refuse it, bad ports and bad options")
    func noneAndValidation() throws {
        let world = try LocalVMWorld.bridged()
        defer { world.finish() }
        let none = "none-\(UInt16.random(in: 0 ... .max))"
        try world.create(none)
        #expect(try world.exec(none, ["ls", "/sys/class/net"]).out == "lo\n")
        expectPluginError(.invalidRequest) { try world.endpoints(none, ports: [80]) }
        let br = "brv-\(UInt16.random(in: 0 ... .max))"
        try world.createBridged(br)
        for bad: JSONValue in [0, 65536, -1, .number(80.5), "80", .null] {
            expectPluginError(.invalidRequest) { try world.endpoints(br, ports: [bad]) }
        }
        #expect(try world.endpoints(br).isEmpty) // nothing published, nothing asked
        expectPluginError(.notFound) { try world.endpoints("missing-\(UInt16.random(in: 0 ... .max))", ports: [80]) }
        // Options through the wire format: a bad egress is refused, unknown keys are ignored.
        let request = try JSONEncoder().encode(world.request("opt-\(UInt16.random(in: 0 ... .max))", network: "bridge"))
        var object = try JSONDecoder().decode(JSONValue.self, from: request).objectValue ?? [:]
        object["network_options"] = ["egress": "everywhere"]
        expectPluginError(.invalidRequest) {
            try world.plugin.invoke(operation: "create", request: try JSONEncoder().encode(JSONValue.object(object)), call: .detached)
        }
        object["network_options"] = ["egress": "none", "future_key": true, "publish": [["target_port": 70000]]]
        expectPluginError(.invalidRequest) {
            try world.plugin.invoke(operation: "create", request: try JSONEncoder().encode(JSONValue.object(object)), call: .detached)
        }
        object["network_options"] = ["egress": "none", "future_key": true]
        let data = try world.plugin.invoke(operation: "create", request: try JSONEncoder().encode(JSONValue.object(object)), call: .detached)
        #expect(try JSONDecoder().decode(CreateResponse.self, from: data).info["network"] == "bridge")
        try world.destroy(none)
        try world.destroy(br)
    }

    @Test("two bridged sandboxes cannot reach each other unless both allow it")
    func isolationBetweenSandboxes() throws {
        let world = try LocalVMWorld.bridged()
        defer { world.finish() }
        let r = UInt16.random(in: 0 ... .max)
        // Egress nat turns forwarding on for their links: the filter alone must keep them apart.
        let a = "iso-a-\(r)", b = "iso-b-\(r)", c = "iso-c-\(r)", d = "iso-d-\(r)"
        try world.createBridged(a, NetworkOptions(egress: .nat))
        try world.createBridged(b, NetworkOptions(egress: .nat))
        try world.createBridged(c, NetworkOptions(allowSandboxes: true))
        try world.createBridged(d, NetworkOptions(allowSandboxes: true))
        for id in [b, d] { try world.startHttpd(id, text: "from-\(id)") }
        let addrB = try world.lease(b).sandboxAddress, addrD = try world.lease(d).sandboxAddress
        // The host reaches both (so the negatives below are real).
        #expect(NetTest.httpGet(addrB, 8080) == "from-\(b)\n")
        #expect(NetTest.httpGet(addrD, 8080) == "from-\(d)\n")
        let aToB = try world.sh(a, "timeout 3 wget -q -O - http://\(addrB):8080/; echo rc=$?")
        #expect(!aToB.out.contains("from-"), "\(aToB.out)")
        // A peer reaching a non-peer, even with a route it adds itself: dropped.
        let cToB = try world.sh(c, "ip route add \(addrB)/32 via \(try world.lease(c).hostAddress); timeout 3 wget -q -O - http://\(addrB):8080/; echo rc=$?")
        #expect(!cToB.out.contains("from-"), "\(cToB.out)")
        // Two peers: the positive control, through the route to the pool a peer gets.
        #expect(try world.exec(c, ["ip", "route"]).out.contains("\(world.plugin.config.networkPool.prefix) via \(try world.lease(c).hostAddress)"))
        let cToD = try world.sh(c, "timeout 3 wget -q -O - http://\(addrD):8080/")
        #expect(cToD.out == "from-\(d)\n", "\(cToD.out) \(cToD.err)")
        for id in [a, b, c, d] { try world.destroy(id) }
    }

    @Test("egress nat reaches a namespace the test made, masqueraded; egress none really blocks")
    func egress() throws {
        let world = try LocalVMWorld.bridged()
        defer { world.finish() }
        let upstream = try Upstream()
        defer { upstream.finish() }
        let url = "http://\(upstream.address):\(upstream.port)/cgi-bin/ip"
        let r = UInt16.random(in: 0 ... .max)
        let nat = "nat-\(r)", closed = "closed-\(r)"
        try world.createBridged(nat, NetworkOptions(egress: .nat))
        try world.createBridged(closed)
        #expect(try world.exec(nat, ["ip", "route"]).out.contains("default via \(try world.lease(nat).hostAddress)"))
        let seen = try world.sh(nat, "timeout 3 wget -q -O - \(url)")
        #expect(seen.out == upstream.hostAddress + "\n", "\(seen.out) \(seen.err)") // the host's address: masqueraded
        #expect(FileOps.readText("/proc/sys/net/ipv4/conf/\(try world.lease(nat).link)/forwarding") == "1\n")

        // egress none: no route out; and a route the sandbox adds itself leads nowhere either.
        let noRoute = try world.sh(closed, "timeout 3 wget -q -O - \(url); echo rc=$?")
        #expect(noRoute.out == "rc=1\n", "\(noRoute.out)") // fails at once: Network is unreachable
        #expect(noRoute.err.contains("unreachable"), "\(noRoute.err)")
        let gateway = try world.lease(closed).hostAddress
        let ownRoute = try world.sh(closed, "ip route add default via \(gateway) && timeout 3 wget -q -O - \(url); echo rc=$?")
        #expect(!ownRoute.out.contains(upstream.hostAddress) && !ownRoute.out.hasSuffix("rc=0\n"), "\(ownRoute.out)")
        for id in [nat, closed] { try world.destroy(id) }
    }

    @Test("a published port answers on 127.0.0.1; a taken host port is a conflict")
    func publishedPort() throws {
        let world = try LocalVMWorld.bridged()
        defer { world.finish() }
        let id = "pub-\(UInt16.random(in: 0 ... .max))"
        try world.createBridged(id, NetworkOptions(publish: [.init(targetPort: 8080, hostPort: 0, hostAddress: "127.0.0.1")]))
        try world.startHttpd(id, text: "published-\(id)")
        let endpoints = try world.endpoints(id)
        #expect(endpoints.count == 2, "\(endpoints)")
        let published = try #require(endpoints.first { $0["host"] == "127.0.0.1" })
        let port = try #require(published["port"]?.numberValue.map(Int.init))
        #expect(port > 0 && published["target_port"] == 8080)
        #expect(NetTest.httpGet("127.0.0.1", port) == "published-\(id)\n")
        #expect(NetTest.httpGet("127.0.0.1", port) == "published-\(id)\n") // the forwarder serves more than one
        let other = "pub2-\(UInt16.random(in: 0 ... .max))"
        expectPluginError(.conflict) {
            try world.createBridged(other, NetworkOptions(publish: [.init(targetPort: 80, hostPort: port, hostAddress: "127.0.0.1")]))
        }
        #expect(!FileOps.exists(world.dataDir + "/sandboxes/\(other)"))
        try world.destroy(id)
        #expect(!NetTest.connects("127.0.0.1", port))
    }

    @Test("restore through the wire keeps network_options: a recreated bridged sandbox answers again")
    func restoreBridged() throws {
        let world = try LocalVMWorld.bridged()
        defer { world.finish() }
        let id = "rb-\(UInt16.random(in: 0 ... .max))"
        try world.createBridged(id)
        #expect(try world.sh(id, "mkdir -p /www && echo restored-\(id) > /www/index.html").exitCode == 0)
        let snap = LocalVMWorld.snapshotId()
        try world.snapshot(id, snap)
        defer { try? world.deleteSnapshot(snap) }
        try world.destroy(id)
        var object = try JSONDecoder().decode(JSONValue.self, from: try JSONEncoder().encode(world.request(id, network: "bridge"))).objectValue ?? [:]
        object["snapshot_ref"] = .string(snap)
        object["network_options"] = ["publish": [["target_port": 8080]]]
        let data = try world.plugin.invoke(operation: "restore", request: try JSONEncoder().encode(JSONValue.object(object)), call: .detached)
        #expect(try JSONDecoder().decode(CreateResponse.self, from: data).info["bridge"]?["published"]?.arrayValue?.count == 1)
        #expect(try world.sh(id, "httpd -p 8080 -h /www").exitCode == 0)
        let published = try #require(try world.endpoints(id).first { $0["host"] == "127.0.0.1" })
        let port = try #require(published["port"]?.numberValue.map(Int.init))
        #expect(NetTest.httpGet("127.0.0.1", port) == "restored-\(id)\n")
        try world.destroy(id)
    }

    @Test("destroy leaves no link, filter element, lease, forwarder or port")
    func destroyLeavesNothing() throws {
        let world = try LocalVMWorld.bridged()
        defer { world.finish() }
        let id = "gone-\(UInt16.random(in: 0 ... .max))"
        try world.createBridged(id, NetworkOptions(egress: .nat, allowSandboxes: true,
                                                   publish: [.init(targetPort: 8080, hostPort: 0, hostAddress: "127.0.0.1")]))
        let lease = try world.lease(id)
        let label = world.plugin.networkLabel(id)
        let forwarder = try #require(lease.forwarderPid)
        // The forwarder: in the sandbox's cgroups (cgroup.kill takes it), running as nobody.
        #expect(CgroupLayout(parent: world.cgroupParent).pids(id).contains(forwarder))
        let uids = FileOps.readText("/proc/\(forwarder)/status")?.split(separator: "\n").first { $0.hasPrefix("Uid:") }
        #expect(uids?.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().allSatisfy { $0 == "65534" } == true, "\(uids ?? "")")
        #expect(HostNetwork.linkExists(lease.link))
        #expect(Set(try NetFilter.labelled(label).map(\.set)) == ["links", "nat", "peers", "nat_sources"])
        try world.destroy(id)
        #expect(!HostNetwork.linkExists(lease.link))
        #expect(try NetFilter.labelled(label).isEmpty)
        #expect(!world.plugin.leases.exists(id))
        #expect(!ProcessIdentity(pid: forwarder, startTime: lease.forwarderStartTime ?? 0).isRunning)
        #expect(!NetTest.connects("127.0.0.1", lease.published[0].hostPort))
        expectPluginError(.notFound) { try world.destroy(id) }
    }

    @Test("a caller killed between lease and link leaks nothing and double-leases nothing")
    func leaseCrashSafety() throws {
        let world = try LocalVMWorld.bridged()
        defer { world.finish() }
        let r = UInt16.random(in: 0 ... .max)
        // Crash 1, for real: another process takes a lease (and adds its filter elements), then is
        // killed with SIGKILL while it holds the network lock, before any link exists.
        let half = "half-\(r)"
        let fifo = world.dataDir + "/ready.fifo"
        #expect(mkfifo(fifo, 0o600) == 0)
        let spec = [world.dataDir, world.cgroupParent, world.plugin.config.networkPool.prefix.description, half, fifo]
        let child = try #require(NetTest.spawn(["/proc/self/exe", "--testing-library", "swift-testing", "--filter", "crashChild"],
                                               extraEnv: ["LOCALVM_CRASH_CHILD=" + spec.joined(separator: "|")]))
        let readyFd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        let childFd = clvm_pidfd_open(child)
        defer { close(readyFd); close(childFd) }
        // Ready handshake: the child writes a line once it holds the lock; or it dies first.
        var fds = [pollfd(fd: readyFd, events: Int16(POLLIN), revents: 0), pollfd(fd: childFd, events: Int16(POLLIN), revents: 0)]
        #expect(poll(&fds, 2, 120_000) > 0 && fds[0].revents & Int16(POLLIN) != 0, "the crash child did not get ready")
        #expect(kill(child, SIGKILL) == 0)
        var status: Int32 = 0
        while waitpid(child, &status, 0) < 0 && errno == EINTR {}
        let prepared = try world.lease(half)
        // The lock died with it; the next create takes another /30; inventory shows the half-made sandbox.
        let next = "next-\(r)"
        try world.createBridged(next)
        #expect(try world.lease(next).slot != prepared.slot)
        let items = try world.plugin.inventory(InventoryRequest(hostId: "test-host"), call: .detached).resources
        #expect(items.contains { $0.sandboxId == half })
        try world.destroy(half)
        #expect(!world.plugin.leases.exists(half))
        #expect(try NetFilter.labelled(world.plugin.networkLabel(half)).isEmpty)

        // "Crash" 2: a lease whose sandbox directory is gone is freed by the next bridged create.
        let orphan = "orphan-\(r)"
        try FileOps.mkdirs(world.dataDir + "/sandboxes/\(orphan)", mode: 0o711)
        let stale = try world.plugin.prepareNetwork(world.request(orphan, network: "bridge"), options: NetworkOptions())
        try FileOps.removeTree(world.dataDir + "/sandboxes/\(orphan)")
        let after = "after-\(r)"
        try world.createBridged(after)
        #expect(!world.plugin.leases.exists(orphan))
        #expect(try NetFilter.labelled(world.plugin.networkLabel(orphan)).isEmpty)
        #expect(try world.lease(after).slot == stale.lease.slot) // its /30 is free again
        for id in [next, after] { try world.destroy(id) }
    }
    @Test("network_pool is validated and must not overlap the host's routes")
    func poolValidation() throws {
        let dir = "/tmp/lvnet-pool-\(UInt32.random(in: 0 ... .max))"
        for bad in ["10.0.0.1/8", "8.8.8.0/24", "10.231.0.0/31", "10.231.0.0", "banana", "10.231.0.0/016"] {
            expectPluginError(.invalidRequest) { try LocalVMPlugin(config: ["data_dir": .string(dir), "network_pool": .string(bad)], host: .standalone()) }
        }
        #expect(try NetworkPool(cidr: NetworkPool.defaultCIDR) == NetworkPool.fallback)
        let upstream = try Upstream()
        defer { upstream.finish() }
        let overlapping = IPv4Prefix(base: IPv4Prefix.parseAddress(upstream.address) ?? 0, length: 24).description
        expectPluginError(.invalidRequest) {
            try LocalVMPlugin(config: ["data_dir": .string(dir), "network_pool": .string(overlapping)], host: .standalone())
        }
    }
}

/// The other half of leaseCrashSafety: runs only in the child process that test starts (with
/// LOCALVM_CRASH_CHILD set), takes a lease for a sandbox, then blocks holding the network lock
/// until the parent kills it with SIGKILL. Skipped in every ordinary run.
@Suite("LocalVM network crash child")
struct LocalVMNetworkCrashChild {
    static let spec = ProcessInfo.processInfo.environment["LOCALVM_CRASH_CHILD"]?.split(separator: "|").map(String.init)

    @Test("crashChild: lease, then die holding the lock (started by leaseCrashSafety only)", .enabled(if: spec?.count == 5))
    func crashChild() throws {
        let s = try #require(Self.spec)
        let plugin = try LocalVMWorld.instance(dataDir: s[0], cgroupParent: s[1], networkPool: s[2])
        try FileOps.mkdirs(s[0] + "/sandboxes/" + s[3], mode: 0o711)
        let request = CreateRequest(sandboxId: s[3], hostId: "test-host", profile: "default", image: nil, resources: ResourceLimits(),
                                    network: "bridge", env: [:],
                                    labels: [OwnershipLabel.host: "test-host", OwnershipLabel.sandbox: s[3], OwnershipLabel.profile: "default"],
                                    timeoutSeconds: nil)
        _ = try plugin.prepareNetwork(request, options: NetworkOptions(egress: .nat))
        try plugin.leases.withLock { () throws(PluginError) in
            let fd = open(s[4], O_WRONLY | O_CLOEXEC)
            _ = write(fd, "ready\n", 6)
            while true { pause() } // until SIGKILL
        }
    }
}
