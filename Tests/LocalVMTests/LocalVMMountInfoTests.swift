import Testing
@testable import LocalVM

/// `MountTable.points` reads mountinfo on its bytes; it must answer exactly what the line and
/// field split it replaced did (no root needed: fixed text).
@Suite("LocalVM mountinfo reading")
struct LocalVMMountInfoTests {
    static let text = """
        22 1 252:1 / / rw,relatime shared:1 - ext4 /dev/vda rw
        121 27 0:81 / /data/sandboxes/a/ctl rw,nosuid - tmpfs tmpfs rw,size=64k
        122 27 0:82 / /data/sandboxes/a/disk rw - ext4 /dev/loop0 rw
        123 27 0:83 / /data/sandboxes/ab/ctl rw - tmpfs tmpfs rw
        124 27 0:84 / /data/sandboxes/a rw - tmpfs tmpfs rw
        125 27 0:85 / /data/sandboxes/with\\040space/ctl rw - tmpfs tmpfs rw
        126 27 0:86 / /data/sandboxes/a\\134b rw - tmpfs tmpfs rw
        short line
        """

    @Test("mount points at or below a directory, not its siblings with a common prefix; escapes undone")
    func points() {
        let bytes = Array(Self.text.utf8)
        #expect(MountTable.points(under: "/data/sandboxes/a", in: bytes)
                == ["/data/sandboxes/a/ctl", "/data/sandboxes/a/disk", "/data/sandboxes/a"])
        #expect(MountTable.points(under: "/data/sandboxes/with space", in: bytes) == ["/data/sandboxes/with space/ctl"])
        #expect(MountTable.points(under: "/data/sandboxes/a\\b", in: bytes) == ["/data/sandboxes/a\\b"])
        #expect(MountTable.points(under: "/data/sandboxes", in: bytes).count == 6)
        #expect(MountTable.points(under: "/nothing", in: bytes).isEmpty)
        #expect(MountTable.points(under: "/data/sandboxes/a", in: []).isEmpty)
    }
}
