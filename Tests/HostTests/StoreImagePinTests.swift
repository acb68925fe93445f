import Foundation
import Testing
@testable import Core
@testable import Store

/// Live sandboxes pin the built image they booted (migration 7; docs/images.md, "Pinning"): the pin is
/// the sandbox row's `image_id`, cleared by the change that ends the sandbox, and removals are
/// conditional on no pin in the same statement.
@Suite struct StoreImagePinTests {
    let dir: StoreDirectory
    let store: SandboxStore

    init() throws {
        dir = try StoreDirectory()
        store = try dir.open()
    }

    func readyImage(_ n: Int) throws -> Image {
        let image = Image(id: String(format: "img-%016x", n), profile: "web", builder: "tb", cacheKey: "key-\(n)", state: .ready,
                          createdAt: storeBaseTime, updatedAt: storeBaseTime)
        try store.insert(image)
        return image
    }

    func sandbox(_ id: String, image: Image?, state: SandboxState = .provisioning, created: Double = 0) -> Sandbox {
        var s = makeSandbox(id, state: state, created: created)
        s.imageId = image?.id
        return s
    }

    @Test func theIntentRowPinsTheImageAndTheEndOfTheSandboxUnpinsIt() throws {
        let image = try readyImage(1)
        var a = sandbox("sbx-000000000000000a", image: image)
        try store.insert(a, event: createdEvent(a.id))
        try store.insert(sandbox("sbx-000000000000000b", image: image, created: 1), event: createdEvent("sbx-000000000000000b"))
        #expect(try store.pins(imageId: image.id) == ImagePins(count: 2, example: a.id))
        #expect(try store.image(id: image.id)?.pins == 2)
        #expect(try store.images().first?.pins == 2)
        #expect(try store.get(id: a.id)?.imageId == image.id)

        // Every state but destroyed and failed keeps the pin: the instance may still run.
        for (from, to) in [(SandboxState.provisioning, SandboxState.ready), (.ready, .expired), (.expired, .destroying)] {
            a.state = to
            #expect(try store.update(a, expecting: [from], events: []))
            #expect(try store.pins(imageId: image.id).count == 2, "\(to) dropped the pin")
        }
        a.state = .destroyed
        #expect(try store.update(a, expecting: [.destroying], events: []))
        #expect(try store.pins(imageId: image.id) == ImagePins(count: 1, example: "sbx-000000000000000b"))
        #expect(try store.get(id: a.id)?.imageId == nil, "an ended sandbox still names its image")
    }

    @Test func aPinnedImageIsNotDeletedUnlessForcedAndAnUnpinnedOneIs() throws {
        let image = try readyImage(2)
        var s = sandbox("sbx-000000000000000c", image: image, state: .ready)
        try store.insert(s, event: createdEvent(s.id))
        #expect(try !store.deleteUnpinnedImage(id: image.id, expecting: [.ready]))
        #expect(try store.image(id: image.id) != nil)
        s.state = .failed
        #expect(try store.update(s, expecting: [.ready], events: []))
        #expect(try store.image(id: image.id)?.pins == 0)
        #expect(try store.deleteUnpinnedImage(id: image.id, expecting: [.ready]))
        #expect(try store.image(id: image.id) == nil)

        // The forced delete ignores pins; the sandbox row stays writable and keeps naming the image.
        let forced = try readyImage(3)
        var t = sandbox("sbx-000000000000000d", image: forced, state: .ready)
        try store.insert(t, event: createdEvent(t.id))
        #expect(try store.deleteImage(id: forced.id, expecting: [.ready]))
        t.lastActivity = "exec"
        #expect(try store.update(t, expecting: [.ready], events: []))
        #expect(try store.get(id: t.id)?.imageId == forced.id)
    }

    @Test func aCreateCannotPinAnImageThatWasRemovedMeanwhile() throws {
        let image = try readyImage(4)
        #expect(try store.deleteUnpinnedImage(id: image.id, expecting: [.ready]))
        let late = sandbox("sbx-000000000000000e", image: image)
        let error = #expect(throws: StoreError.self) { try store.insert(late, event: createdEvent(late.id)) }
        #expect(error?.code == .notFound)
        #expect(error?.message.contains("was removed meanwhile") == true)
        #expect(try store.get(id: late.id) == nil, "the refused intent left a row")
        #expect(try store.events(sandboxId: late.id, since: nil, limit: nil).isEmpty)
        // Without an image nothing is checked.
        try store.insert(sandbox("sbx-000000000000000f", image: nil), event: createdEvent("sbx-000000000000000f"))
    }

    @Test func theMigrationAddsTheColumnToAnExistingStore() throws {
        // A store at version 6 (before pins) gains image_id, NULL for its rows.
        let path = dir.url.appendingPathComponent("old.db").path
        let old = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 1000)
        try old.execute("CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, applied_at INTEGER NOT NULL)", doing: "test")
        for (i, script) in SandboxStore.migrations.prefix(6).enumerated() {
            try old.execute(script, doing: "test")
            try old.run("INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)", [.integer(Int64(i + 1))], doing: "test")
        }
        let legacy = makeSandbox("sbx-0000000000000010")
        try old.run("INSERT INTO sandboxes (id, profile, backend, state, ttl_seconds, max_ttl_seconds, created_at, updated_at, request, host_id) VALUES (?, 'p', 'b', 'ready', 1, 1, 0, 0, ?, 'h')",
                    [.text(legacy.id), .text(legacy.request.storedJSON)], doing: "test")
        let upgraded = try SandboxStore(path: path)
        #expect(upgraded.schemaVersion == SandboxStore.migrations.count)
        #expect(try upgraded.get(id: legacy.id)?.imageId == nil)
    }
}
