import Foundation
import Testing

/// The hardened LocalVM through the built binary: a profile's `resources.disk` reaches the plugin
/// and stops a fill with ENOSPC; an exec shows the fence (capabilities, no_new_privs, seccomp) and
/// gets EPERM from a mount; two sandboxes run as different host uids.
@Suite(.serialized, .enabled(if: Machine.isRoot && Machine.hasBusybox, "needs root and busybox-static (apt-get install busybox-static)"))
struct LocalVMHardeningEndToEndTests {
    @Test func diskLimitFenceAndHostUidsThroughTheCLI() throws {
        var cli = try CLIRunner()
        try cli.useConfig(CLIRunner.localVMConfigHead() + """
            profiles:
              small:
                backend: localvm
                resources: {disk: 8M}
            """)
        var ids: [String] = []
        defer { for id in ids { _ = try? cli.run(["destroy", id]) } }
        for _ in 0..<2 {
            let created = try cli.run(["create", "--profile", "small", "--json"])
            try #require(created.status == 0, "create failed: \(created.stderr)")
            ids.append(try #require(try created.object()["id"] as? String))
        }
        let id = ids[0]
        let df = try cli.run(["exec", id, "--", "sh", "-c", "df -k / | tail -1 | awk '{print $2}'"])
        #expect(df.stdout == "8192\n", "\(df.stdout) \(df.stderr)")
        let fill = try cli.run(["exec", id, "--", "dd", "if=/dev/zero", "of=/fill", "bs=1M", "count=32"])
        #expect(fill.status != 0 && fill.stderr.contains("No space left on device"), "\(fill.stderr)")

        let status = try cli.run(["exec", id, "--", "cat", "/proc/self/status"])
        let fields = Dictionary(status.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }, uniquingKeysWith: { a, _ in a })
        #expect(fields["NoNewPrivs"] == "1" && fields["Seccomp"] == "2", "\(status.stdout)")
        #expect(fields["CapEff"] == "00000000a00405fb" && fields["CapBnd"] == "00000000a00405fb", "\(status.stdout)")
        let mount = try cli.run(["exec", id, "--", "mount", "-t", "tmpfs", "none", "/tmp"])
        #expect(mount.status != 0, "a mount inside succeeded")

        // Each sandbox's root is a different host uid (the first id of its uid_map line).
        var hostUids: [String] = []
        for id in ids {
            let map = try cli.run(["exec", id, "--", "cat", "/proc/self/uid_map"])
            hostUids.append(map.stdout.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init) ?? "?")
        }
        #expect(Set(hostUids).count == 2, "\(hostUids)")
    }
}
