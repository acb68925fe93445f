import Foundation
import Testing
@testable import Core
@testable import Config
@testable import Store

/// `builders:`, a profile's `build:` and `images:` (docs/images.md), and the images table.
@Suite struct ImageConfigTests {
    func parse(_ profiles: String, builders: String = "builders:\n  packer:\n    plugin: libSandboxerPacker.so\n",
               extra: String = "") throws -> Config {
        try ConfigLoader.parse("""
            data_dir: /data
            backends:
              localvm:
                plugin: libSandboxerLocalVM.so
            \(builders)\(extra)
            profiles:
            \(profiles)
            """, file: "/etc/sandboxer/c.yaml", environment: [:], baseDirectory: "/etc/sandboxer")
    }

    @Test func aBuildBlockResolvesPathsAgainstTheConfigFile() throws {
        let config = try parse("""
              web:
                backend: localvm
                build:
                  builder: packer
                  template: images/web
                  vars:
                    marker: v1
                    key: "secret:deploy"
                    seed: "file:seeds/a.txt"
            """, extra: "images: {max_bytes: 2G}\n")
        let build = try #require(config.profiles["web"]?.build)
        #expect(build.builder == "packer")
        #expect(build.template == "/etc/sandboxer/images/web")
        #expect(build.vars == ["marker": "v1", "key": "secret:deploy", "seed": "file:/etc/sandboxer/seeds/a.txt"])
        #expect(config.profiles["web"]?.image == nil)
        #expect(config.builders["packer"]?.plugin == "/etc/sandboxer/libSandboxerPacker.so")
        #expect(config.images.maxBytes == 2 << 30)
    }

    @Test func mistakesAreConfigErrors() {
        func message(_ profiles: String, builders: String = "builders:\n  packer:\n    plugin: p.so\n") -> String {
            do { _ = try parse(profiles, builders: builders); return "" } catch { return "\(error)" }
        }
        #expect(message("  web:\n    backend: localvm\n    image: busybox\n    build: {builder: packer, template: t}\n")
            .contains("has both \"image\" and \"build\""))
        #expect(message("  web:\n    backend: localvm\n    build: {builder: docker, template: t}\n")
            .contains("names builder \"docker\", which is not defined under \"builders\" (defined: packer)"))
        #expect(message("  web:\n    backend: localvm\n    build: {builder: packer}\n").contains("needs a \"template\" key"))
        #expect(message("  web:\n    backend: localvm\n    build:\n      builder: packer\n      template: t\n      vars: {output_dir: x}\n")
            .contains("is set by the host"))
        #expect(message("  web:\n    backend: localvm\n    build: {builder: packer, template: t, color: red}\n").contains("color"))
        #expect(message("  web:\n    backend: localvm\n", builders: "builders:\n  packer: {}\n").contains("needs a \"plugin\" key"))
    }

    @Test func imageRowsRoundTripAndOneLiveRowPerKey() throws {
        let dir = try StoreDirectory()
        let store = try dir.open()
        let owner = ProcessIdentity(pid: 42, startTime: 7)
        var image = Image(id: "img-0000000000000001", profile: "web", builder: "packer", cacheKey: "k1", state: .building,
                          logPath: "/l.log", owner: owner, createdAt: storeBaseTime, updatedAt: storeBaseTime)
        try store.insert(image)
        #expect(try store.image(id: image.id) == image)
        var twin = image
        twin.id = "img-0000000000000002"
        #expect(throws: StoreError.self) { try store.insert(twin) }
        image.state = .ready
        image.owner = nil
        image.artifacts = [.init(kind: "rootfs-tar", path: "/d/images/sha256/ab", digest: "sha256:ab", sizeBytes: 10)]
        image.sizeBytes = 10
        #expect(try store.update(image, expecting: [.building]))
        #expect(try !store.update(image, expecting: [.building]), "a second finisher must not win")
        #expect(try store.liveImage(cacheKey: "k1") == image)
        image.state = .failed
        #expect(try store.update(image, expecting: [.ready]))
        // A failed row does not hold the key: the next build may insert.
        try store.insert(twin)
        #expect(try store.images().map(\.id).sorted() == [image.id, twin.id])
        #expect(try store.deleteImage(id: image.id, expecting: [.failed]))
        #expect(try store.images().map(\.id) == [twin.id])
    }
}
