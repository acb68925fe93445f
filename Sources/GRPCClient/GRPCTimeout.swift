/// The `grpc-timeout` header: at most 8 digits and a unit (H, M, S, m, u, n).
enum GRPCTimeout {
    /// The most precise unit whose value fits in 8 digits, rounded up so the server's deadline is
    /// never earlier than the client's.
    static func headerValue(seconds: Double) -> String {
        let units: [(String, Double)] = [("n", 1e9), ("u", 1e6), ("m", 1e3), ("S", 1), ("M", 1.0 / 60), ("H", 1.0 / 3600)]
        for (unit, perSecond) in units {
            let value = (max(0, seconds) * perSecond).rounded(.up)
            if value <= 99_999_999 { return "\(max(1, Int(value)))\(unit)" }
        }
        return "99999999H"
    }

    /// Whole milliseconds for libcurl, at least 1 (0 would mean "no limit").
    static func milliseconds(_ seconds: Double) -> Int {
        guard seconds.isFinite else { return Int(Int32.max) }
        return max(1, min(Int(Int32.max), Int((seconds * 1000).rounded(.up))))
    }
}
