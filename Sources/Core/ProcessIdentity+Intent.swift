import PluginProtocol

// How an intent (`CreateIntent`, `SnapshotIntent`) stores the process doing the work.
extension ProcessIdentity {
    /// The owner an intent names in `owner_pid` and `owner_start`; nil unless both read. Removes
    /// the members it read from `consumed`.
    init?(members: [String: JSONValue], consumed: inout [String: JSONValue]) {
        guard let pid = members["owner_pid"]?.looseInt64.flatMap(Int32.init(exactly:)),
              let start = members["owner_start"]?.looseInt64.flatMap(UInt64.init(exactly:)) else { return nil }
        self.init(pid: pid, startTime: start)
        consumed["owner_pid"] = nil
        consumed["owner_start"] = nil
    }

    /// Writes `owner_pid` and `owner_start`.
    func write(to members: inout [String: JSONValue]) {
        members["owner_pid"] = .number(Double(pid))
        members["owner_start"] = .number(Double(startTime))
    }
}
