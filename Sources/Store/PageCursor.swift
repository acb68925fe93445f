import FoundationEssentials
import Glibc
import Core
import Basics

/// Where a page of a listing ended: the sort key `(created_at, id)` of its last row.
///
/// The next page starts strictly after it, so pages neither skip nor repeat rows however many are
/// inserted meanwhile, and each page is an index range read from here rather than an offset counted
/// from the start. Clients see it as an opaque `token`.
public struct PageCursor: Sendable, Equatable {
    /// The last row's `created_at`, in the store's milliseconds.
    public let createdAt: Int64
    public let id: String

    /// The longest token `init(token:)` reads; the ids in it are short.
    static let maxTokenLength = 256

    public init(createdAt: Date, id: String) {
        self.createdAt = createdAt.millisecondsSince1970
        self.id = id
    }

    init(createdAtMilliseconds: Int64, id: String) {
        self.createdAt = createdAtMilliseconds
        self.id = id
    }

    /// The cursor after `sandbox`, the last row of a page.
    public init(after sandbox: Sandbox) { self.init(createdAt: sandbox.createdAt, id: sandbox.id) }

    /// The cursor after `snapshot`, the last row of a page.
    public init(after snapshot: Snapshot) { self.init(createdAt: snapshot.createdAt, id: snapshot.id) }

    /// The text a client passes back: base64url of `MILLISECONDS:ID`, so nobody mistakes it for an offset.
    public var token: String {
        Data("\(createdAt):\(id)".utf8).base64EncodedString()
            .replacing("+", with: "-").replacing("/", with: "_")
            .replacing("=", with: "")
    }

    /// Reads a token made by `token`; nil for anything else. A forged cursor only moves where a page
    /// starts: the listing's filters (a consumer's owner among them) still apply to every row.
    public init?(token: String) {
        guard !token.isEmpty, token.utf8.count <= Self.maxTokenLength,
              token.utf8.allSatisfy({ $0.isBase64URL }) else { return nil }
        var base64 = token.replacing("-", with: "+").replacing("_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":"), let milliseconds = Int64(text[..<colon]) else { return nil }
        let id = String(text[text.index(after: colon)...])
        guard !id.isEmpty else { return nil }
        self.init(createdAtMilliseconds: milliseconds, id: id)
    }
}

/// One page of a listing and the cursor of the next, nil on the last page.
public struct Page<Row: Sendable>: Sendable {
    public var rows: [Row]
    public var next: PageCursor?

    public init(rows: [Row], next: PageCursor?) {
        self.rows = rows
        self.next = next
    }

    /// The first `limit` of `rows`, which were read with a limit of `limit + 1`: the extra row only
    /// says that another page exists, and the cursor is the last row kept.
    init(reading rows: [Row], limit: Int, cursor: (Row) -> PageCursor) {
        let kept = Array(rows.prefix(limit))
        self.init(rows: kept, next: rows.count > limit ? kept.last.map(cursor) : nil)
    }
}

private extension UInt8 {
    var isBase64URL: Bool {
        (0x30...0x39).contains(self) || (0x41...0x5A).contains(self) || (0x61...0x7A).contains(self)
            || self == UInt8(ascii: "-") || self == UInt8(ascii: "_")
    }
}
