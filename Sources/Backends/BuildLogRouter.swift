import FoundationEssentials
import Glibc
import Core
import PluginProtocol
import Synchronization

/// Sends the lines a builder logs to the build that is running, so its progress reaches the front
/// that asked for it (and the build's log file) as it happens; other lines go to the host's log.
///
/// A line goes to the build its metadata names (`build_id`), else to the only running build of the
/// builder that logged it; with no such build it goes to `fallback`.
public final class BuildLogRouter: Sendable {
    struct Watch: Sendable {
        var builder: String
        var sink: @Sendable (PluginLogLine) -> Void
    }
    private let watches = Mutex<[String: Watch]>([:])

    public init() {}

    /// From now until `unwatch(buildId)`, lines of `buildId` (or of `builder`, see the type) reach `sink`.
    public func watch(buildId: String, builder: String, sink: @escaping @Sendable (PluginLogLine) -> Void) {
        watches.withLock { $0[buildId] = Watch(builder: builder, sink: sink) }
    }

    public func unwatch(_ buildId: String) {
        _ = watches.withLock { $0.removeValue(forKey: buildId) }
    }

    /// Delivers one line to its build's sink, or to `fallback`.
    func deliver(_ line: PluginLogLine, fallback: @Sendable (PluginLogLine) -> Void) {
        let named = line.metadata.first { $0.key == "build_id" }?.value
        let sink: (@Sendable (PluginLogLine) -> Void)? = watches.withLock { map in
            if let named, let watch = map[named] { return watch.sink }
            let candidates = map.values.filter { $0.builder == line.backend }
            return candidates.count == 1 ? candidates.first?.sink : nil
        }
        if let sink { sink(line) } else { fallback(line) }
    }
}
