import FoundationEssentials
import Core
import Basics

/// How many sandboxes pin an image, and one of them to name in a message.
public struct ImagePins: Sendable, Equatable {
    /// Sandboxes not destroyed or failed whose `image_id` is the image.
    public var count: Int
    /// The oldest of them (nil when none).
    public var example: String?

    public init(count: Int, example: String?) {
        self.count = count; self.example = example
    }
}

// Live sandboxes pin the built image they booted (migration 7, docs/images.md "Pinning"). The pin is
// the sandbox row's own `image_id`, written with its create or recreate intent, so there is no moment
// when a sandbox uses an image its row does not name; the checks below run inside the same write
// transaction as the change they guard, so a create and a prune can never both win.
extension SandboxStore {
    /// The SQL condition "some sandbox that has not ended names `images.id`" (`sandboxes_image` serves it).
    static let pinnedCondition = """
        EXISTS (SELECT 1 FROM sandboxes WHERE sandboxes.image_id = images.id \
        AND sandboxes.state NOT IN ('destroyed', 'failed'))
        """

    /// The pin count of each image row, as a column `pins` beside `imageColumns`.
    static let pinsColumn = """
        (SELECT count(*) FROM sandboxes WHERE sandboxes.image_id = images.id \
        AND sandboxes.state NOT IN ('destroyed', 'failed')) AS pins
        """

    /// The sandboxes that pin image `id`: how many, and the oldest one.
    public func pins(imageId id: String) throws(StoreError) -> ImagePins {
        try locked { () throws(StoreError) in
            let rows = try connection.rows("""
                SELECT id FROM sandboxes WHERE image_id = ? AND state NOT IN ('destroyed', 'failed')
                ORDER BY created_at, id
                """, [.text(id)], doing: "Reading the sandboxes that use image \(id)") { $0.text(0) }
            return ImagePins(count: rows.count, example: rows.first)
        }
    }

    /// Deletes the image row if its state is in `expecting` and no live sandbox pins it, in one
    /// statement (so a create pinning it concurrently either lands first and keeps it, or finds it
    /// gone). False when it did not match, is gone, or is pinned.
    public func deleteUnpinnedImage(id: String, expecting: Set<ImageState>) throws(StoreError) -> Bool {
        let states = expecting.map(\.rawValue).sorted()
        return try locked { () throws(StoreError) in
            try connection.run("""
                DELETE FROM images WHERE id = ? \
                AND state IN (\(Array(repeating: "?", count: states.count).joined(separator: ", "))) \
                AND NOT \(Self.pinnedCondition)
                """, [.text(id)] + states.map(SQLValue.text), doing: "Deleting image \(id)") == 1
        }
    }

    /// Inside `insert`'s transaction: a sandbox that pins an image may be written only while the
    /// image's row exists; otherwise a prune removed it after the create chose it (a conflict the
    /// create reports, so nothing boots from files that are going away).
    func checkPinnedImageExists(_ sandbox: Sandbox) throws(StoreError) {
        guard let imageId = sandbox.imageId, !sandbox.state.isTerminal else { return }
        let found = try connection.rows("SELECT 1 FROM images WHERE id = ?", [.text(imageId)],
                                        doing: "Checking image \(imageId) of sandbox \(sandbox.id)") { _ in true }
        guard found.isEmpty else { return }
        throw StoreError(code: .notFound, message: "Sandbox \(sandbox.id) was not inserted: its image \(imageId) was removed meanwhile.")
    }
}
