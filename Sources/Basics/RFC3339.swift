import FoundationEssentials


#if canImport(Glibc)
import Glibc
#endif

/// RFC 3339 timestamps in UTC with whole seconds (`2026-11-23T13:02:25Z`), as every front prints them.
public enum RFC3339 {
    /// Formats `date` in UTC.
    public static func format(_ date: Date) -> String {
        // Clamped to years 0000–9999, the ones the format can write (and `parse` reads): a date
        // outside them (or not finite) must not trap in the conversion or in the digits below.
        let seconds = date.timeIntervalSince1970
        var t = time_t(seconds.isNaN ? 0 : min(max(seconds.rounded(.down), -62_167_219_200), 253_402_300_799))
        var tm = tm()
        gmtime_r(&t, &tm)
        // Built by hand: String(format:) showed up as a hot spot when the API renders many dates.
        var out = [UInt8]()
        out.reserveCapacity(20)
        func put(_ value: Int32, _ width: Int) {
            var v = Int(value), digits = [UInt8](repeating: 48, count: width)
            for i in (0..<width).reversed() { digits[i] = UInt8(48 + v % 10); v /= 10 }
            out += digits
        }
        put(tm.tm_year + 1900, 4); out.append(45); put(tm.tm_mon + 1, 2); out.append(45); put(tm.tm_mday, 2)
        out.append(84); put(tm.tm_hour, 2); out.append(58); put(tm.tm_min, 2); out.append(58); put(tm.tm_sec, 2)
        out.append(90)
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses `YYYY-MM-DDTHH:MM:SSZ` (optionally with fractional seconds); nil for anything else.
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z") else { return nil }
        func num(_ r: Range<Int>) -> Int? {
            var v = 0
            for i in r { guard bytes[i] >= 48, bytes[i] <= 57 else { return nil }; v = v * 10 + Int(bytes[i] - 48) }
            return v
        }
        guard bytes[4] == 45, bytes[7] == 45, bytes[10] == 84 || bytes[10] == 116, bytes[13] == 58, bytes[16] == 58,
              let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10), let h = num(11..<13),
              let mi = num(14..<16), let s = num(17..<19), (1...12).contains(mo), (1...31).contains(d),
              h < 24, mi < 60, s < 61 else { return nil }
        var fraction = 0.0
        if bytes.count > 20 {
            guard bytes[19] == 46, bytes.count > 21, let f = num(20..<(bytes.count - 1)) else { return nil }
            fraction = Double(f) / pow(10, Double(bytes.count - 21))
        }
        var tm = tm()
        tm.tm_year = Int32(y - 1900); tm.tm_mon = Int32(mo - 1); tm.tm_mday = Int32(d)
        tm.tm_hour = Int32(h); tm.tm_min = Int32(mi); tm.tm_sec = Int32(s)
        let t = timegm(&tm)
        return Date(timeIntervalSince1970: Double(t) + fraction)
    }
}

extension Date {
    /// This date truncated to whole milliseconds: what the store keeps, so values round-trip exactly.
    public var wholeMilliseconds: Date {
        Date(timeIntervalSince1970: (timeIntervalSince1970 * 1000).rounded() / 1000)
    }
}

/// Minimal JSON text helpers for hand-built payloads.
public enum JSONText {
    /// `s` as a JSON string literal (the same escaping error messages use for odd text).
    public static func quote(_ s: String) -> String { s.quotedForMessage }
}
