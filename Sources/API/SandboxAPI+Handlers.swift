import FoundationEssentials
import Glibc
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
    func health(_ c: RouteContext) -> HTTPResponse {
        json(200, ["status": "ok", "host_id": .string(service.hostId)])
    }

    func openAPI(_ c: RouteContext) -> HTTPResponse { HTTPResponse.json(200, openAPIJSON) }

    func show(_ c: RouteContext, _ sandbox: Sandbox) -> HTTPResponse {
        HTTPResponse.json(200, sandboxCache.json(for: sandbox))
    }

    func destroy(_ c: RouteContext, _ sandbox: Sandbox) throws(APIError) -> HTTPResponse {
        let s = try call { () throws(SandboxerError) in try service.destroy(sandbox.id) }
        metrics.increment("sandboxer_destroys_total", labels: ["reason": TerminationReason.manual.rawValue])
        return json(200, s.jsonValue)
    }

    func extendTTL(_ c: RouteContext, _ sandbox: Sandbox) throws(APIError) -> HTTPResponse {
        let body = try RequestBody(c.request.body, allowed: ["duration"])
        guard let duration = try body.string("duration", required: true) else { throw APIError.unprocessable("The field 'duration' is required.") }
        let outcome = try call { () throws(SandboxerError) in
            try service.extendTTL(sandbox.id, duration: duration, by: "api:\(c.caller.name)")
        }
        var object = outcome.sandbox.jsonValue.objectValue ?? [:]
        object["extended_from"] = .string(RFC3339.format(outcome.from))
        object["extended_to"] = .string(RFC3339.format(outcome.to))
        object["ttl_capped"] = .bool(outcome.capped)
        return json(200, .object(object))
    }

    func expire(_ c: RouteContext) throws(APIError) -> HTTPResponse {
        let apply = try flag(c.request, "apply")
        let items = try call { () throws(SandboxerError) in try service.expire(apply: apply) }
        for item in items where item.outcome == .destroyed {
            metrics.increment("sandboxer_expiries_total", labels: ["rule": item.rule.rawValue])
        }
        return json(200, ExpiryView.render(items, apply: apply, now: service.clock.now()))
    }

    func reapStale(_ c: RouteContext) throws(APIError) -> HTTPResponse {
        let apply = try flag(c.request, "apply")
        let report = try call { () throws(SandboxerError) in try service.reapStale(apply: apply) }
        return json(200, ReapView.render(report, apply: apply))
    }

    func backends(_ c: RouteContext) -> HTTPResponse {
        json(200, .object(["backends": .array(BackendView.describeAll(service))]))
    }

    func profiles(_ c: RouteContext) -> HTTPResponse {
        // A consumer sees only the profiles open to it: the ones it may create from.
        let profiles = service.visibleProfiles(to: c.owner).map(ProfileView.render)
        return json(200, .object(["profiles": .array(profiles)]))
    }

    func explain(_ c: RouteContext, _ sandbox: Sandbox) throws(APIError) -> HTTPResponse {
        json(200, ExplainView.render(try call { () throws(SandboxerError) in try service.explain(sandbox.id) }))
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

    /// The `cursor` query parameter: a `next_cursor` this server gave out, or nil for the first page.
    func cursor(_ request: HTTPRequest) throws(APIError) -> PageCursor? {
        guard let text = request.query["cursor"]?.last else { return nil }
        guard let cursor = PageCursor(token: text) else {
            throw APIError.badRequest("The query parameter 'cursor' must be the next_cursor of a previous page.")
        }
        return cursor
    }

    /// The page size: `limit` (1…1000), 100 when absent.
    func pageLimit(_ request: HTTPRequest) throws(APIError) -> Int { try number(request, "limit", 1...1000) ?? 100 }

    /// `GET /v1/sandboxes`: one page, filtered and paged by the store (a consumer's own sandboxes only).
    func listSandboxes(_ c: RouteContext) throws(APIError) -> HTTPResponse {
        let request = c.request
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
        let limit = try pageLimit(request)
        let filter = SandboxFilter(states: states, backend: request.query["backend"]?.last,
                                   profile: request.query["profile"]?.last, owner: c.owner, labels: labels,
                                   after: try cursor(request))
        let page = try call { () throws(SandboxerError) in
            try service.storeCall { () throws(StoreError) in try service.store.page(filter, limit: limit) }
        }
        return json(200, .object(["sandboxes": .array(page.rows.map(\.jsonValue)),
                                  "next_cursor": page.next.map { .string($0.token) } ?? .null]))
    }

    func createSandbox(_ c: RouteContext) throws(APIError) -> HTTPResponse {
        let request = c.request
        let body = try RequestBody(request.body, allowed: ["profile", "ttl", "labels", "from_snapshot"])
        let fromSnapshot = try body.string("from_snapshot")
        let profile = try body.string("profile")
        let options = CreateOptions(profile: profile, ttl: try body.string("ttl"), labels: try body.stringMap("labels"),
                                    idempotencyKey: request.headers["Idempotency-Key"],
                                    owner: settings.tokens.isEmpty ? nil : c.caller.name, fromSnapshot: fromSnapshot,
                                    consumer: c.caller.isOperator ? nil : c.caller.name)
        if fromSnapshot == nil, let accepted = try asyncBuildResponse(request, profile: profile) { return accepted }
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

    func exec(_ c: RouteContext, _ sandbox: Sandbox) throws(APIError) -> HTTPResponse {
        let body = try RequestBody(c.request.body, allowed: ["argv", "stdin", "stdin_b64", "timeout", "env"])
        guard let argv = try body.stringArray("argv", required: true), !argv.isEmpty else {
            throw APIError.unprocessable("The field 'argv' must name a command to run.")
        }
        var timeout: Int64? = nil
        if let t = try body.string("timeout") {
            do { timeout = try TTLDuration.parse(t).seconds } catch { throw APIError.unprocessable(error.message) }
        }
        var stdin = try body.string("stdin").map { Data($0.utf8) }
        if let b64 = try body.string("stdin_b64") {
            guard stdin == nil, let bytes = Data(base64Encoded: b64) else {
                throw APIError.unprocessable("The field 'stdin_b64' must be base64, and not given together with 'stdin'.")
            }
            stdin = bytes
        }
        let env = try body.stringMap("env")
        if Self.wantsStreamedExec(c.request) {
            return try execStreamed(sandbox, argv: argv, stdin: stdin, env: env, timeout: timeout)
        }
        let result = try call { () throws(SandboxerError) in
            try service.exec(sandbox.id, argv: argv, stdin: stdin, env: env, timeoutSeconds: timeout)
        }
        // `stdout`/`stderr` stay for compatibility (lossy: invalid UTF-8 becomes U+FFFD); the
        // `_b64` fields are the exact bytes.
        return json(200, .object([
            "exit_code": .number(Double(result.exitCode)), "timed_out": .bool(result.timedOut),
            "stdout": .string(String(decoding: result.stdout, as: UTF8.self)),
            "stderr": .string(String(decoding: result.stderr, as: UTF8.self)),
            "stdout_b64": .string(result.stdoutB64), "stderr_b64": .string(result.stderrB64),
            "stdout_truncated": .bool(result.stdoutTruncated ?? false),
            "stderr_truncated": .bool(result.stderrTruncated ?? false),
        ]))
    }

    func metricsResponse(_ c: RouteContext) -> HTTPResponse {
        var samples: [([String: String], Double)] = []
        if let counts = try? service.store.countsByStateAndBackend() {
            samples = counts.map { (["state": $0.state.rawValue, "backend": $0.backend], Double($0.count)) }
        }
        let text = metrics.render(gauges: [(name: "sandboxer_sandboxes", help: "Sandboxes in the store, by state and backend.",
                                            samples: samples),
                                           (name: "sandboxer_long_requests", help: "Requests holding a worker for long (exec) now.",
                                            samples: [([:], Double(longRequests.running))])])
        var response = HTTPResponse(status: 200, body: Data(text.utf8))
        response.headers.set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        return response
    }
}
