import Foundation
import Testing

/// The images cache with the real Packer builder (libSandboxerPacker.so from branch `packer`) and
/// Debian's packer, offline: build → create boots the built rootfs tar → a second create reuses it →
/// a var change rebuilds. The backend is the file-backed TestPlugin, so no root is needed.
@Suite struct ImagePackerEndToEndTests {
    static let plugin = CLIRunner.productsDirectory + "/libSandboxerPacker.so"
    // Skipped without the Packer plugin (not built on this branch) or without packer and busybox.
    static let ready = FileManager.default.fileExists(atPath: plugin) && Machine.hasTool("packer") && Machine.hasBusybox

    static let template = """
        variable "output_dir" {
          type = string
        }
        variable "marker" {
          type = string
        }
        source "null" "rootfs" {
          communicator = "none"
        }
        build {
          sources = ["source.null.rootfs"]
          provisioner "shell-local" {
            inline = [
              "set -e",
              "d=$(mktemp -d)",
              "mkdir -p $d/bin",
              "cp /bin/busybox $d/bin/busybox",
              "ln -s busybox $d/bin/sh",
              "echo ${var.marker} > $d/marker",
              "tar --numeric-owner -C $d -cf ${var.output_dir}/rootfs.tar .",
              "rm -rf $d",
            ]
          }
        }
        """

    func config(marker: String) -> String {
        """
        data_dir: @HOME@/data
        backends:
          fake:
            plugin: @PRODUCTS@/libSandboxerTestPlugin.so
            config:
              state_dir: @HOME@/fake
              boot_artifact_kinds: [rootfs-tar]
        builders:
          packer:
            plugin: \(Self.plugin)
        profiles:
          web:
            backend: fake
            build:
              builder: packer
              template: images/rootfs.pkr.hcl
              vars: {marker: \(marker)}
        """
    }

    @Test(.enabled(if: ready, "needs libSandboxerPacker.so (branch packer), packer and /bin/busybox"))
    func packerBuildsCreateBootsAndTheCacheHolds() throws {
        var cli = try CLIRunner()
        for dir in ["fake", "images"] {
            try FileManager.default.createDirectory(atPath: cli.home + "/" + dir, withIntermediateDirectories: true)
        }
        try Self.template.write(toFile: cli.home + "/images/rootfs.pkr.hcl", atomically: true, encoding: .utf8)
        try cli.useConfig(config(marker: "v1"))
        let env = ["CHECKPOINT_DISABLE": "1"]
        let first = try cli.run(["create", "--profile", "web"], extraEnv: env)
        #expect(first.status == 0, "\(first.stderr)")
        let images = try cli.run(["images", "--json"]).array()
        #expect(images.count == 1)
        let artifact = try #require((images.first?["artifacts"] as? [[String: Any]])?.first)
        #expect(artifact["kind"] as? String == "rootfs-tar")
        let path = try #require(artifact["path"] as? String)
        // The marker is in the tar the create booted.
        let listing = Process()
        listing.executableURL = URL(fileURLWithPath: "/bin/tar")
        listing.arguments = ["-xOf", path, "./marker"]
        let out = Pipe()
        listing.standardOutput = out
        try listing.run()
        let marker = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        listing.waitUntilExit()
        #expect(marker == "v1\n")
        let booted = ((try? String(contentsOfFile: cli.home + "/fake/create-images.log", encoding: .utf8)) ?? "")
        #expect(booted.contains(path))

        let second = try cli.run(["create", "--profile", "web", "--no-build"], extraEnv: env)
        #expect(second.status == 0, "the second create did not reuse the cache: \(second.stderr)")
        try cli.useConfig(config(marker: "v2"))
        #expect(try cli.run(["create", "--profile", "web", "--no-build"], extraEnv: env).status == 1, "a var change kept the old image")
        #expect(try cli.run(["build", "web"], extraEnv: env).status == 0)
        #expect(try cli.run(["images", "--json"]).array().count == 2)
    }

    /// The repository's offline example template (docs/examples/images/busybox-marker), a directory:
    /// its script is keyed with it.
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/examples/images/busybox-marker").path

    @Test(.enabled(if: ready && Machine.isRoot, "needs root, libSandboxerPacker.so, packer and /bin/busybox"))
    func packerBuildsALocalVMRootfsThatCreateBoots() throws {
        var cli = try CLIRunner()
        func config(_ marker: String) -> String {
            CLIRunner.localVMConfigHead() + """
            builders:
              packer:
                plugin: \(Self.plugin)
            profiles:
              web:
                backend: localvm
                ttl: {default: 10m, max: 1h}
                build:
                  builder: packer
                  template: \(Self.example)
                  vars: {marker: \(marker)}
            """
        }
        try cli.useConfig(config("v1"))
        let env = ["CHECKPOINT_DISABLE": "1"]
        var ids: [String] = []
        defer { for id in ids { _ = try? cli.run(["destroy", id]) } }
        let first = try cli.run(["create", "--profile", "web", "--json"], extraEnv: env)
        try #require(first.status == 0, "\(first.stderr)")
        ids.append(try #require(try first.object()["id"] as? String))
        let marker = try cli.run(["exec", ids[0], "--", "cat", "/etc/marker"])
        #expect(marker.status == 0, "\(marker.stderr)")
        #expect(marker.stdout == "v1\n")

        let second = try cli.run(["create", "--profile", "web", "--no-build", "--json"], extraEnv: env)
        try #require(second.status == 0, "the second create did not reuse the cache: \(second.stderr)")
        ids.append(try #require(try second.object()["id"] as? String))
        #expect(try cli.run(["exec", ids[1], "--", "cat", "/etc/marker"]).stdout == "v1\n")
        #expect(try cli.run(["images", "--json"]).array().count == 1)

        try cli.useConfig(config("v2"))
        let third = try cli.run(["create", "--profile", "web", "--json"], extraEnv: env)
        try #require(third.status == 0, "\(third.stderr)")
        ids.append(try #require(try third.object()["id"] as? String))
        #expect(try cli.run(["exec", ids[2], "--", "cat", "/etc/marker"]).stdout == "v2\n", "a var change did not rebuild")
        #expect(try cli.run(["images", "--json"]).array().count == 2)
    }
}
