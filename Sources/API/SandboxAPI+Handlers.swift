import Foundation
import HTTPServer
import YAMLSubset
import Lifecycle
import Webhooks
import Store
import Config
import Core
import Backends
import Basics
import PluginProtocol

extension SandboxAPI {
    func dispatch(_ route: APIRoute, params: [String: String], request: HTTPRequest, caller: Caller) throws(APIError) -> HTTPResponse {
        let id = params["id"] ?? ""
        switch route.handler {
        case .health:
            return json(200, ["status": "ok", "host_id": .string(service.hostId)])
        case .openAPI:
            return HTTPResponse.json(200, openAPIJSON)
        case .metrics:
            return metricsResponse()
        case .listSandboxes:
            return try listSandboxes(request, caller: caller)
        case .createSandbox:
            return try createSandbox(request, caller: caller)
        case .getSandbox:
            return json(200, try visibleSandbox(id, caller: caller).jsonValue)
        case .deleteSandbox:
            _ = try visibleSandbox(id, caller: caller)
            let s = try call { () throws(SandboxerError) in try service.destroy(id) }
            metrics.increment("sandboxer_destroys_total", labels: ["reason": TerminationReason.manual.rawValue])
            return json(200, s.jsonValue)
        case .extendTTL:
            let body = try RequestBody(request.body, allowed: ["duration"])
            guard let duration = try body.string("duration", required: true) else { throw APIError.unprocessable("The field 'duration' is required.") }
            _ = try visibleSandbox(id, caller: caller)
            let outcome = try call { () throws(SandboxerError) in try service.extendTTL(id, duration: duration, by: "api:\(caller.name)") }
            var object = outcome.sandbox.jsonValue.objectValue ?? [:]
            object["extended_from"] = .string(RFC3339.format(outcome.from))
            object["extended_to"] = .string(RFC3339.format(outcome.to))
            object["ttl_capped"] = .bool(outcome.capped)
            return json(200, .object(object))
        case .exec:
            return try exec(id, request, caller: caller)
        case .expire:
            let apply = try flag(request, "apply")
            let items = try call { () throws(SandboxerError) in try service.expire(apply: apply) }
            for item in items where item.outcome == SandboxState.destroyed.rawValue {
                metrics.increment("sandboxer_expiries_total", labels: ["rule": item.rule.rawValue])
            }
            return json(200, ExpiryView.render(items, apply: apply, now: service.clock.now()))
        case .reapStale:
            let apply = try flag(request, "apply")
            let report = try call { () throws(SandboxerError) in try service.reapStale(apply: apply) }
            return json(200, ReapView.render(report, apply: apply))
        case .backends:
            return json(200, .object(["backends": .array(BackendView.describeAll(service))]))
        case .profiles:
            // A consumer sees only the profiles open to it: the ones it may create from.
            let profiles = service.visibleProfiles(to: caller.isOperator ? nil : caller.name).map(ProfileView.render)
            return json(200, .object(["profiles": .array(profiles)]))
        case .events:
            return try events(request, caller: caller)
        case .createSnapshot, .listSandboxSnapshots, .listSnapshots, .getSnapshot, .deleteSnapshot, .pruneSnapshots, .recreate:
            return try snapshotRoute(route.handler, id: id, request: request, caller: caller)
        case .failedEvents:
            return try failedEvents(request)
        case .explain:
            _ = try visibleSandbox(id, caller: caller)
            return json(200, ExplainView.render(try call { () throws(SandboxerError) in try service.explain(id) }))
        case .endpoints:
            return try endpoints(id, request, caller: caller)
        }
    }

    /// A boolean query parameter (`true`/`false`, default false).
    func flag(_ request: HTTPRequest, _ name: String) throws(APIError) -> Bool {
        switch request.query[name]?.last {
        case nil, "false"?: return false
        case "true"?: return true
        case let other?: throw APIError.badRequest("The query parameter '\(name)' must be true or false, not '\(other)'.")
        }
    }

    /// A whole-number query parameter within `range`.
    func number(_ request: HTTPRequest, _ name: String, _ range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let text = request.query[name]?.last else { return nil }
        guard let n = Int(text), range.contains(n) else {
            throw APIError.badRequest("The query parameter '\(name)' must be a whole number from \(range.lowerBound) to \(range.upperBound).")
        }
        return n
    }

    func listSandboxes(_ request: HTTPRequest, caller: Caller) throws(APIError) -> HTTPResponse {
        var states: Set<SandboxState>? = nil
        for word in (request.query["state"] ?? []).flatMap({ $0.split(separator: ",").map(String.init) }) {
            guard let s = SandboxState(rawValue: word) else { throw APIError.badRequest("Unknown state '\(word)'.") }
            states = (states ?? []).union([s])
        }
        var labels: [String: String] = [:]
        for pair in request.query["label"] ?? [] {
            guard let eq = pair.firstIndex(of: "="), eq != pair.startIndex else {
                throw APIError.badRequest("The query parameter 'label' takes KEY=VALUE, got '\(pair)'.")
            }
            labels[String(pair[..<eq])] = String(pair[pair.index(after: eq)...])
        }
        if !caller.isOperator { labels[SandboxLabels.owner] = caller.name }
        let limit = try number(request, "limit", 1...1000) ?? 100
        let offset = try number(request, "page_token", 0...Int(Int32.max)) ?? 0
        let filter = SandboxFilter(states: states, backend: request.query["backend"]?.last,
                                   profile: request.query["profile"]?.last, labels: labels)
        let all = try call { () throws(SandboxerError) in try service.list(filter) }
        let page = all.dropFirst(offset).prefix(limit)
        let next: JSONValue = offset + page.count < all.count ? .string(String(offset + page.count)) : .null
        return json(200, .object(["sandboxes": .array(page.map(\.jsonValue)), "next_page_token": next]))
    }

    func createSandbox(_ request: HTTPRequest, caller: Caller) throws(APIError) -> HTTPResponse {
        let body = try RequestBody(request.body, allowed: ["profile", "ttl", "labels", "from_snapshot"])
        let fromSnapshot = try body.string("from_snapshot")
        let profile = try body.string("profile")
        let options = CreateOptions(profile: profile, ttl: try body.string("ttl"), labels: try body.stringMap("labels"),
                                    idempotencyKey: request.headers["Idempotency-Key"],
                                    owner: settings.tokens.isEmpty ? nil : caller.name, fromSnapshot: fromSnapshot,
                                    consumer: caller.isOperator ? nil : caller.name)
        let outcome: CreateOutcome
        do {
            outcome = try service.create(options)
        } catch {
            metrics.increment("sandboxer_creates_total", labels: ["profile": profile ?? "-", "outcome": "error"])
            throw APIError(error)
        }
        if !outcome.replayed {
            metrics.increment("sandboxer_creates_total", labels: ["profile": outcome.sandbox.profile, "outcome": "ok"])
        }
        var object = outcome.sandbox.jsonValue.objectValue ?? [:]
        object["ttl_capped"] = .bool(outcome.capped)
        object["requested_ttl"] = .string(DurationText.format(outcome.requestedTTLSeconds))
        return json(outcome.replayed ? 200 : 201, .object(object))
    }

    func exec(_ id: String, _ request: HTTPRequest, caller: Caller) throws(APIError) -> HTTPResponse {
        let body = try RequestBody(request.body, allowed: ["argv", "stdin", "timeout", "env"])
        guard let argv = try body.stringArray("argv", required: true), !argv.isEmpty else {
            throw APIError.unprocessable("The field 'argv' must name a command to run.")
        }
        var timeout: Int64? = nil
        if let t = try body.string("timeout") {
            do { timeout = try TTLDuration.parse(t).seconds } catch { throw APIError.unprocessable(error.message) }
        }
        let stdin = try body.string("stdin").map { Data($0.utf8) }
        let env = try body.stringMap("env")
        _ = try visibleSandbox(id, caller: caller)
        let result = try call { () throws(SandboxerError) in
            try service.exec(id, argv: argv, stdin: stdin, env: env, timeoutSeconds: timeout)
        }
        return json(200, .object([
            "exit_code": .number(Double(result.exitCode)), "timed_out": .bool(result.timedOut),
            "stdout": .string(String(decoding: result.stdout, as: UTF8.self)),
            "stderr": .string(String(decoding: result.stderr, as: UTF8.self)),
        ]))
    }

    /// `GET /v1/events?since=SEQ&limit=N[&sandbox=ID][&wait=SECONDS]`: the events after `since`, and
    /// `next_since` to pass as `since` next time. With `wait`, an empty answer is held until events
    /// arrive or the wait ends (see `LongPollGate` for the bound on waiting requests).
    func events(_ request: HTTPRequest, caller: Caller) throws(APIError) -> HTTPResponse {
        let since = try number(request, "since", 0...Int.max).map(Int64.init)
        let limit = try number(request, "limit", 1...1000) ?? 100
        let wait = try number(request, "wait", 0...Self.maxEventWait) ?? 0
        let sandbox = request.query["sandbox"]?.last
        if let sandbox { _ = try visibleSandbox(sandbox, caller: caller) }
        var page = try eventPage(since: since, limit: limit, sandbox: sandbox, caller: caller)
        if page.events.isEmpty && wait > 0 {
            try longPolls.wait(seconds: Double(wait)) { () throws(APIError) -> Bool in
                page = try eventPage(since: since, limit: limit, sandbox: sandbox, caller: caller)
                return !page.events.isEmpty
            }
        }
        return json(200, .object(["events": .array(page.events.map(\.jsonValue)), "next_since": .number(Double(page.next))]))
    }

    /// The longest `wait` a request may ask for, in seconds.
    static let maxEventWait = 30

    /// One page of the events `caller` may see after `since`, and the cursor after it. A consumer
    /// sees only its own sandboxes' events; its cursor still moves past the others it skipped, so
    /// polling never rereads them.
    func eventPage(since: Int64?, limit: Int, sandbox: String?, caller: Caller) throws(APIError) -> (events: [SandboxEvent], next: Int64) {
        if caller.isOperator || sandbox != nil {
            let found = try call { () throws(SandboxerError) in try service.events(sandboxId: sandbox, since: since, limit: limit) }
            return (found, found.last?.seq ?? since ?? 0)
        }
        let mine = Set(try call { () throws(SandboxerError) in
            try service.list(SandboxFilter(labels: [SandboxLabels.owner: caller.name]))
        }.map(\.id))
        var cursor = since ?? 0
        var found: [SandboxEvent] = []
        let batchSize = 1000
        scan: while true {
            let batch = try call { () throws(SandboxerError) in try service.events(sandboxId: nil, since: cursor, limit: batchSize) }
            for event in batch {
                cursor = event.seq
                if mine.contains(event.sandboxId) {
                    found.append(event)
                    if found.count == limit { break scan }
                }
            }
            if batch.count < batchSize { break }
        }
        return (found, cursor)
    }

    func metricsResponse() -> HTTPResponse {
        var samples: [([String: String], Double)] = []
        if let counts = try? service.store.countsByStateAndBackend() {
            samples = counts.map { (["state": $0.state.rawValue, "backend": $0.backend], Double($0.count)) }
        }
        let text = metrics.render(gauges: [(name: "sandboxer_sandboxes", help: "Sandboxes in the store, by state and backend.",
                                            samples: samples)])
        var response = HTTPResponse(status: 200, body: Data(text.utf8))
        response.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        return response
    }
}
