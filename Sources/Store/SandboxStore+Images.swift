import FoundationEssentials
import Glibc
import Core
import Basics
import PluginProtocol

// The images cache's rows (migration 6). At most one `building` or `ready` row per cache key (a
// partial unique index), so inserting a `building` row is taking the build's lock.
extension SandboxStore {
    /// The image columns, in the order `imageValues` binds them (rows are read back by name).
    static let imageColumns = """
        id, profile, builder, cache_key, state, artifacts, size_bytes, log_path, error, owner_pid, owner_start, \
        created_at, updated_at, last_used_at
        """

    /// Inserts an image row; `.conflict` when a building or ready row already has its cache key.
    public func insert(_ image: Image) throws(StoreError) {
        let values = try Self.imageValues(image)
        let placeholders = Array(repeating: "?", count: values.count).joined(separator: ", ")
        try locked { () throws(StoreError) in
            do throws(StoreError) {
                try connection.run("INSERT INTO images (\(Self.imageColumns)) VALUES (\(placeholders))", values,
                                   doing: "Inserting image \(image.id)")
            } catch where error.isDuplicate {
                throw StoreError(code: .conflict, message: "Image \(image.id) was not inserted: an image with its cache key is already building or ready.")
            }
        }
    }

    /// Conditional update of an image: writes only if the stored state is in `expecting`. False when
    /// the state did not match; `.notFound` without a row.
    public func update(_ image: Image, expecting: Set<ImageState>) throws(StoreError) -> Bool {
        try conditionalUpdate(table: "images", what: "Image", columns: Self.imageColumns, values: try Self.imageValues(image),
                              states: expecting.map(\.rawValue), events: [])
    }

    /// The image with this id, or nil.
    public func image(id: String) throws(StoreError) -> Image? {
        try selectImages("WHERE id = ?", [.text(id)], doing: "Reading image \(id)").first
    }

    /// The building or ready image of this cache key, or nil.
    public func liveImage(cacheKey: String) throws(StoreError) -> Image? {
        try selectImages("WHERE cache_key = ? AND state IN ('building', 'ready')", [.text(cacheKey)],
                         doing: "Reading the image of a cache key").first
    }

    /// Every image, newest first.
    public func images() throws(StoreError) -> [Image] {
        try selectImages("ORDER BY created_at DESC, id DESC", [], doing: "Listing images")
    }

    /// Images in state building (to reconcile builds whose process died).
    public func buildingImages() throws(StoreError) -> [Image] {
        try selectImages("WHERE state = 'building' ORDER BY created_at, id", [], doing: "Listing building images")
    }

    /// Records that a create booted the image.
    public func touchImage(id: String, at: Date) throws(StoreError) {
        try locked { () throws(StoreError) in
            _ = try connection.run("UPDATE images SET last_used_at = ? WHERE id = ?",
                                   [.integer(at.millisecondsSince1970), .text(id)], doing: "Marking image \(id) used")
        }
    }

    /// Deletes the row if its state is in `expecting`; false when it did not match (or is gone).
    public func deleteImage(id: String, expecting: Set<ImageState>) throws(StoreError) -> Bool {
        let states = expecting.map(\.rawValue).sorted()
        return try locked { () throws(StoreError) in
            try connection.run("DELETE FROM images WHERE id = ? AND state IN (\(Array(repeating: "?", count: states.count).joined(separator: ", ")))",
                               [.text(id)] + states.map(SQLValue.text), doing: "Deleting image \(id)") == 1
        }
    }

    private func selectImages(_ clause: String, _ values: [SQLValue], doing: String) throws(StoreError) -> [Image] {
        try locked { () throws(StoreError) in
            try connection.rows("SELECT \(Self.imageColumns), \(Self.pinsColumn) FROM images \(clause)", values, doing: doing) {
                (row) throws(StoreError) -> Image in try Self.decodeImage(row, path: path)
            }
        }
    }

    static func imageValues(_ i: Image) throws(StoreError) -> [SQLValue] {
        let artifacts: String
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            artifacts = String(decoding: try encoder.encode(i.artifacts), as: UTF8.self)
        } catch {
            throw StoreError(code: .other, message: "The artifacts of image \(i.id) could not be encoded: \(error).")
        }
        return [.text(i.id), .text(i.profile), .text(i.builder), .text(i.cacheKey), .text(i.state.rawValue), .text(artifacts),
                .integer(i.sizeBytes), .text(i.logPath), .text(i.error), .integer(i.owner.map { Int64($0.pid) }),
                .integer(i.owner.map { Int64(bitPattern: $0.startTime) }), .integer(i.createdAt.millisecondsSince1970),
                .integer(i.updatedAt.millisecondsSince1970), .integer(i.lastUsedAt?.millisecondsSince1970)]
    }

    /// Reads a row selected with `imageColumns`, by column name.
    static func decodeImage(_ row: SQLiteStatement, path: String) throws(StoreError) -> Image {
        let id = try row.text("id")
        func corrupt(_ what: String) -> StoreError {
            StoreError(code: .corrupt, message: "Image \(id) in the store at \(path) has \(what).")
        }
        guard let state = ImageState(rawValue: try row.text("state")) else { throw corrupt("an unknown state") }
        let artifacts: [BuildArtifact]
        do {
            artifacts = try JSONDecoder().decode([BuildArtifact].self, from: Data(try row.text("artifacts").utf8))
        } catch {
            throw corrupt("unreadable artifacts")
        }
        var owner: ProcessIdentity?
        if let pid = try row.optionalInt64("owner_pid"), let start = try row.optionalInt64("owner_start"),
           let pid32 = Int32(exactly: pid) {
            owner = ProcessIdentity(pid: pid32, startTime: UInt64(bitPattern: start))
        }
        return Image(id: id, profile: try row.text("profile"), builder: try row.text("builder"),
                     cacheKey: try row.text("cache_key"), state: state, artifacts: artifacts,
                     sizeBytes: try row.int64("size_bytes"), logPath: try row.optionalText("log_path"),
                     error: try row.optionalText("error"), owner: owner, createdAt: try row.date("created_at"),
                     updatedAt: try row.date("updated_at"), lastUsedAt: try row.optionalDate("last_used_at"),
                     pins: Int(try row.int64("pins")))
    }
}
