import FoundationEssentials
import Glibc
import Basics
import PluginProtocol

/// `explain` as both fronts print it: JSON for `--json` and HTTP, aligned text for people.
package enum ExplainView {
    package static func render(_ e: Explanation) -> JSONValue {
        func time(_ d: Date?) -> JSONValue { d.map { .string(RFC3339.format($0)) } ?? .null }
        func duration(_ seconds: Int64?) -> JSONValue { seconds.map { .string(DurationText.format($0)) } ?? .null }
        func number(_ n: Int64?) -> JSONValue { n.map { .number(Double($0)) } ?? .null }
        let s = e.sandbox
        let remaining: Int64? = SandboxState.live.contains(s.state) && s.expiresAt != nil ? TTLRules.remaining(s, now: e.now) : nil
        return .object([
            "id": .string(s.id), "state": .string(s.state.rawValue), "now": time(e.now), "summary": .string(e.summary),
            "profile": .object(["name": .string(s.profile), "exists": .bool(e.profileExists),
                                "on_expire": e.onExpire.map { .string($0.rawValue) } ?? .null]),
            "ttl": .object([
                "granted": duration(e.ttl.grantedSeconds), "granted_seconds": number(e.ttl.grantedSeconds),
                "requested": duration(e.ttl.requestedSeconds), "capped": .bool(e.ttl.cappedAtCreate),
                "extensions": .number(Double(e.ttl.extensions)), "ready_at": time(e.ttl.readyAt),
                "expires_at": time(e.ttl.expiresAt), "remaining_seconds": number(remaining),
            ]),
            "cap": .object(["max": duration(e.cap.maxSeconds), "latest_expires_at": time(e.cap.latestDeadline),
                            "reached": .bool(e.cap.reached)]),
            "backstop": e.backstop.map { b in
                .object(["follows_extensions": .bool(b.followsExtensions), "fixed_at": time(b.fixedAt)])
            } ?? .null,
            "activity": .object(["last": e.idle.lastActivity.map { .string($0) } ?? .null, "updated_at": time(e.idle.lastChange)]),
            "idle": .object(["idle_reap": duration(e.idle.reapSeconds), "deadline": time(e.idle.deadline)]),
            "expiry_warning": .object([
                "before": duration(e.warning.beforeSeconds), "at": time(e.warning.at), "sent": .bool(e.warning.sent),
                "last_event": e.warning.lastEvent.map(\.jsonValue) ?? .null,
            ]),
            "next": e.next.map { n in
                .object(["rule": .string(n.rule.rawValue), "at": time(n.at), "due": .bool(n.due),
                         "action": .string(e.onExpire == .snapshot ? "snapshot_then_destroy" : "destroy")])
            } ?? .null,
            "ended": e.ending.map { end in
                .object(["reason": end.reason.map { .string($0.rawValue) } ?? .null, "at": time(end.at),
                         "event": end.event.map(\.jsonValue) ?? .null, "final_event": end.finalEvent.map(\.jsonValue) ?? .null,
                         "message": end.message.map { .string($0) } ?? .null])
            } ?? .null,
        ])
    }

    /// The summary, a blank line, then one aligned line per fact.
    package static func text(_ e: Explanation) -> String {
        let s = e.sandbox
        func time(_ d: Date?) -> String { d.map(RFC3339.format) ?? "-" }
        var rows: [(String, String)] = [("state", s.state.rawValue)]
        let onExpire = e.onExpire.map { "on_expire \($0.rawValue)" } ?? "no longer configured; the sweep destroys"
        rows.append(("profile", "\(s.profile) (\(onExpire))"))
        var ttl = "\(DurationText.format(e.ttl.grantedSeconds))"
        if let requested = e.ttl.requestedSeconds {
            ttl += " (requested \(DurationText.format(requested))\(e.ttl.cappedAtCreate ? ", capped at create" : ""))"
        }
        if e.ttl.extensions > 0 { ttl += ", extended \(e.ttl.extensions) time\(e.ttl.extensions == 1 ? "" : "s")" }
        rows.append(("ttl", ttl))
        rows.append(("ready_at", time(e.ttl.readyAt)))
        var expires = time(e.ttl.expiresAt)
        if let at = e.ttl.expiresAt, SandboxState.live.contains(s.state) {
            expires += at > e.now ? " (in \(Explanation.span(at, e.now)))" : " (\(Explanation.span(e.now, at)) ago)"
        }
        rows.append(("expires_at", expires))
        rows.append(("max", "\(DurationText.format(e.cap.maxSeconds)): latest possible expires_at \(time(e.cap.latestDeadline))"
                     + (e.cap.reached ? " (reached)" : "")))
        if let b = e.backstop {
            rows.append(("backstop", b.followsExtensions
                ? "the backend's deadline follows expires_at (pushed again on every extend, plus grace)"
                : "fixed at create at \(time(b.fixedAt)) (max + grace): this backend cannot extend, so extend-ttl moves only the host's deadline"))
        }
        rows.append(("activity", "\(s.lastActivity ?? "-") (updated_at \(time(e.idle.lastChange)))"))
        rows.append(("idle_reap", e.idle.reapSeconds.map { reap in
            DurationText.format(reap) + (e.idle.deadline.map { ": idle deadline \(RFC3339.format($0))" } ?? "")
        } ?? "off"))
        if let before = e.warning.beforeSeconds {
            var text = "\(DurationText.format(before)) before expiry"
            if let at = e.warning.at {
                let status = e.warning.sent ? "sent" + (e.warning.lastEvent.map { " at \(RFC3339.format($0.at))" } ?? "") : "not sent yet"
                text += ": \(RFC3339.format(at)) (\(status))"
            } else {
                text += e.warning.lastEvent.map { " (last sent at \(RFC3339.format($0.at)))" } ?? " (none sent)"
            }
            rows.append(("warning", text))
        } else {
            rows.append(("warning", "off"))
        }
        if let n = e.next {
            let action = e.onExpire == .snapshot ? "snapshot, then destroy" : "destroy"
            rows.append(("next", "rule \(n.rule.rawValue) at \(RFC3339.format(n.at))\(n.due ? " (due now)" : ""): \(action)"))
        }
        if let end = e.ending {
            var ended = "\(end.reason?.rawValue ?? "-") at \(RFC3339.format(end.at))"
            if let event = end.event { ended += " (event #\(event.seq) \(event.type))" }
            rows.append(("ended", ended))
        }
        let width = rows.map(\.0.count).max() ?? 0
        let lines = rows.map { $0.0.paddedWithSpaces(toLength: width + 2) + $0.1 }
        return e.summary + "\n\n" + lines.joined(separator: "\n") + "\n"
    }
}
