/// Percent-encoding as E2B's official Python SDK does it, byte for byte, so our requests look
/// like the SDK's on the wire.
enum QueryEncoding {
    /// RFC 3986 unreserved characters: never encoded.
    static func isUnreserved(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2d || c == 0x2e || c == 0x5f || c == 0x7e
    }

    private static func encode(_ text: String, keep: (UInt8) -> Bool, spaceAsPlus: Bool = false) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for c in text.utf8 {
            if keep(c) { out.append(c) }
            else if spaceAsPlus && c == 0x20 { out.append(0x2b) }
            else { out += [0x25, hex[Int(c >> 4)], hex[Int(c & 0xf)]] }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Everything but unreserved characters encoded: a path segment or a query value.
    static func strict(_ text: String) -> String { encode(text, keep: isUnreserved) }

    /// Python's `urllib.parse.quote` (safe `/`).
    static func quote(_ text: String) -> String { encode(text, keep: { isUnreserved($0) || $0 == 0x2f }) }

    /// Python's `urllib.parse.quote_plus`, what `urlencode` applies to keys and values.
    static func quotePlus(_ text: String) -> String { encode(text, keep: isUnreserved, spaceAsPlus: true) }

    /// The `metadata=` query value of `GET /v2/sandboxes`: each key and value quoted, the pairs
    /// form-encoded (`urlencode`), and that string encoded once more as the query value, so
    /// `{"k": "v w"}` travels as `k%3Dv%252520w`.
    static func metadataFilter(_ pairs: [(key: String, value: String)]) -> String {
        let form = pairs.map { quotePlus(quote($0.key)) + "=" + quotePlus(quote($0.value)) }.joined(separator: "&")
        return strict(form)
    }
}
