import Foundation
import HTTPClient
import PluginKit

/// The hub's HTTP API as the plugin uses it: bearer auth, JSON bodies, bounded responses, hub errors
/// mapped to ABI codes (`HubError`), and bounded retries for idempotent calls only.
struct HubClient: Sendable {
    /// The hub's base URL, without a trailing slash.
    let baseURL: String
    /// The consumer token. Only ever put in the Authorization header: never formatted into a
    /// message, a log line or an error.
    let token: String
    /// The host secret's name, which messages may name.
    let tokenSecretName: String
    let callTimeout: Double
    let http = HTTPClient(userAgent: "sandboxer-finhub")

    /// Attempts for an idempotent call whose hub was unreachable or answered 5xx.
    static let attempts = 3
    /// Hub answers are bounded: the largest the plugin reads is a page of sandboxes or an exec result.
    static let maxResponseBytes = 8 << 20

    /// One answer from the hub: its status, body and `Date` header.
    struct Answer: Sendable {
        var status: Int
        var body: Data
        var date: Date?
    }

    /// Sends `method path` with an optional JSON `body` and returns a 2xx answer; anything else is a
    /// `PluginError`. `idempotent` calls are retried on transport failures and 5xx, with a short
    /// backoff, up to `attempts` in all; the others are tried once (a lost answer could hide a done call).
    func send(_ method: String, _ path: String, body: Data? = nil, headers: [(name: String, value: String)] = [],
              idempotent: Bool, timeout: Double? = nil, call: PluginCall) throws(PluginError) -> Answer {
        var all: [(name: String, value: String)] = [("Authorization", "Bearer \(token)"), ("Accept", "application/json")]
        if body != nil { all.append(("Content-Type", "application/json")) }
        all += headers
        let request = HTTPClientRequest(method: method, url: baseURL + path, headers: all, body: body.map { Array($0) } ?? [],
                                        connectTimeout: min(10, timeout ?? callTimeout), timeout: timeout ?? callTimeout,
                                        maxResponseBytes: Self.maxResponseBytes, isCancelled: { call.isCancelled })
        var attempt = 0
        while true {
            attempt += 1
            let failure: PluginError
            do {
                let response = try http.send(request)
                let answer = Answer(status: response.status, body: Data(response.body),
                                    date: response.header("Date").flatMap(Self.httpDate))
                if response.isSuccess { return answer }
                failure = HubError.map(status: response.status, body: answer.body, method: method, path: path,
                                       tokenSecret: tokenSecretName)
            } catch {
                failure = HubError.transport(error, method: method, path: path)
            }
            guard idempotent, failure.code == .unavailable, attempt < Self.attempts, !call.isCancelled else { throw failure }
            // A short pause between attempts (100 ms, then 300 ms): a restarting hub is back quickly,
            // and the whole call stays well inside the host's deadline.
            usleep(useconds_t(attempt == 1 ? 100_000 : 300_000))
        }
    }

    /// Encodes a request body.
    static func json(_ value: some Encodable) throws(PluginError) -> Data {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return try encoder.encode(value)
        } catch {
            throw PluginError(.internal, "The fin-hub plugin could not encode a request: \(error).")
        }
    }

    /// Decodes a hub answer; a shape the plugin does not understand is `internal` (the hub is another version).
    static func decode<T: Decodable>(_ type: T.Type, _ answer: Answer, what: String) throws(PluginError) -> T {
        do { return try JSONDecoder().decode(T.self, from: answer.body) }
        catch {
            throw PluginError(.internal, "The hub's answer to \(what) is not the JSON this plugin expects (is the hub a compatible sandboxer?).")
        }
    }

    /// Percent-encodes one path segment or query value.
    static func escape(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// An RFC 7231 `Date` header (`Sun, 06 Nov 1994 08:49:37 GMT`).
    static func httpDate(_ text: String) -> Date? {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter.date(from: text)
    }
}
