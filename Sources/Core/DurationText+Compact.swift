import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

extension DurationText {
    /// Seconds as at most two adjacent units, for people: `3h12m`, `45s`, `2d3h`, `0s`. Truncates
    /// (3h12m59s is `3h12m`); the exact grammar form is `format`.
    public static func compact(_ seconds: Int64) -> String {
        let units = TTLDuration.units
        guard let i = units.firstIndex(where: { seconds >= $0.seconds }) else { return "0s" }
        var text = "\(seconds / units[i].seconds)\(units[i].suffix)"
        if i + 1 < units.count {
            let next = (seconds % units[i].seconds) / units[i + 1].seconds
            if next > 0 { text += "\(next)\(units[i + 1].suffix)" }
        }
        return text
    }
}
