import CCurl
import FoundationEssentials
import Glibc
import Basics

/// A small synchronous HTTP/1.1 client over libcurl's easy API (http and https only, no redirects;
/// TLS peers and host names are always verified).
///
/// Each `send` uses its own easy handle, so one client may be used from many threads at once. With
/// a `pool`, handles (and their open connections) are kept between requests and reused.
public struct HTTPClient: Sendable {
    /// The `User-Agent` header, unless a request sets its own.
    public var userAgent: String
    /// Where idle handles wait for the next request; nil opens a fresh connection every time.
    public var pool: HTTPConnectionPool?

    public init(userAgent: String = "sandboxer", pool: HTTPConnectionPool? = nil) {
        self.userAgent = userAgent
        self.pool = pool
    }

    /// Loads libcurl and runs its process-wide set-up on the first request (`ccurl_load` does it once
    /// per process, thread-safely); nil when ready, else why not.
    static func loadLibrary() -> HTTPClientError? {
        guard ccurl_load() != 0 else { return nil }
        return HTTPClientError(code: .libraryMissing, message: String(cString: ccurl_load_error()))
    }

    /// The error for a libcurl that cannot be loaded from `file` (a soname or a path); nil when it can.
    /// Tests point it at a missing file; the clients always load `libcurl.so.4`.
    static func checkLibrary(_ file: String) -> HTTPClientError? {
        var message = [CChar](repeating: 0, count: 512)
        guard ccurl_check_library(file, &message, message.count) != 0 else { return nil }
        return HTTPClientError(code: .libraryMissing, message: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) },
                                                                      as: UTF8.self))
    }

    /// POSTs `body`; any status is a response, only a failure to get one is an error.
    public func post(url: String, headers: [(name: String, value: String)] = [], body: [UInt8],
                     connectTimeout: Double = 10, timeout: Double = 30) throws(HTTPClientError) -> HTTPClientResponse {
        try send(HTTPClientRequest(method: "POST", url: url, headers: headers, body: body,
                                   connectTimeout: connectTimeout, timeout: timeout))
    }

    /// GETs `url`.
    public func get(url: String, headers: [(name: String, value: String)] = [],
                    connectTimeout: Double = 10, timeout: Double = 30) throws(HTTPClientError) -> HTTPClientResponse {
        try send(HTTPClientRequest(method: "GET", url: url, headers: headers, connectTimeout: connectTimeout, timeout: timeout))
    }

    /// Performs `request` and returns the final response, or why there was none.
    /// A request whose `isCancelled` answers true stops within about a second and throws `.cancelled`.
    public func send(_ request: HTTPClientRequest) throws(HTTPClientError) -> HTTPClientResponse {
        let isCancelled = request.isCancelled
        do {
            return try perform(request, collector: ResponseCollector(limit: request.maxResponseBytes,
                                                                     shouldAbort: isCancelled.map { check in { check() } }))
        } catch where error.code == .aborted && isCancelled != nil {
            var cancelled = error
            cancelled.code = .cancelled
            cancelled.message = error.message.replacing("was stopped by its caller", with: "was cancelled")
            throw cancelled
        }
    }

    /// Runs one transfer, feeding `collector`; the response's body is what the collector kept.
    func perform(_ request: HTTPClientRequest, collector: ResponseCollector) throws(HTTPClientError) -> HTTPClientResponse {
        let origin = try Self.validate(request)
        if let missing = Self.loadLibrary() { throw missing }
        guard let handle = pool?.take() ?? ccurl_easy_init() else {
            throw HTTPClientError(code: .transport, message: "libcurl could not be initialised for the \(request.method) request to \(origin).")
        }
        var reusable = false
        defer {
            if let pool, reusable { pool.give(handle) } else { ccurl_easy_cleanup(handle) }
        }

        var list: UnsafeMutablePointer<curl_slist>? = nil
        defer { ccurl_slist_free_all(list) }
        // An empty "Expect:" stops curl from waiting for 100 Continue before larger bodies.
        for line in request.headers.map({ "\($0.name): \($0.value)" }) + ["Expect:"] {
            guard let appended = ccurl_slist_append(list, line) else {
                throw HTTPClientError(code: .transport, message: "Out of memory building the headers of the request to \(origin).")
            }
            list = appended
        }

        var errorBuffer = [CChar](repeating: 0, count: Int(ccurl_error_size()) + 1)
        let result: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
            withExtendedLifetime(collector) {
                let context = Unmanaged.passUnretained(collector).toOpaque()
                var set = CURLE_OK
                func apply(_ code: CURLcode) { if set == CURLE_OK { set = code } }
                apply(ccurl_set_string(handle, CURLOPT_URL, request.url))
                apply(ccurl_set_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
                apply(ccurl_set_long(handle, CURLOPT_NOSIGNAL, 1))   // threads: no SIGALRM for timeouts
                apply(ccurl_set_long(handle, CURLOPT_FOLLOWLOCATION, 0))
                apply(ccurl_set_long(handle, CURLOPT_SSL_VERIFYPEER, 1))
                apply(ccurl_set_long(handle, CURLOPT_SSL_VERIFYHOST, 2))
                apply(ccurl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout)))
                apply(ccurl_set_long(handle, CURLOPT_TIMEOUT_MS, Self.milliseconds(request.timeout)))
                apply(ccurl_set_string(handle, CURLOPT_USERAGENT, userAgent))
                apply(ccurl_set_list(handle, CURLOPT_HTTPHEADER, list))
                apply(ccurl_set_pointer(handle, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorPointer.baseAddress)))
                apply(ccurl_set_callback(handle, CURLOPT_WRITEFUNCTION, { data, size, count, context in
                    guard let context else { return 0 }
                    let collector = Unmanaged<ResponseCollector>.fromOpaque(context).takeUnretainedValue()
                    return collector.body(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
                }))
                apply(ccurl_set_pointer(handle, CURLOPT_WRITEDATA, context))
                apply(ccurl_set_callback(handle, CURLOPT_HEADERFUNCTION, { data, size, count, context in
                    guard let context else { return 0 }
                    let collector = Unmanaged<ResponseCollector>.fromOpaque(context).takeUnretainedValue()
                    collector.header(UnsafeRawBufferPointer(start: data, count: size * count))
                    return size * count
                }))
                apply(ccurl_set_pointer(handle, CURLOPT_HEADERDATA, context))
                if collector.shouldAbort != nil {
                    apply(ccurl_set_long(handle, CURLOPT_NOPROGRESS, 0))
                    apply(ccurl_set_xferinfo(handle, { context, _, _, _, _ in
                        guard let context else { return 1 }
                        return Unmanaged<ResponseCollector>.fromOpaque(context).takeUnretainedValue().abortRequested() ? 1 : 0
                    }))
                    apply(ccurl_set_pointer(handle, CURLOPT_XFERINFODATA, context))
                }
                apply(Self.setMethod(handle, request))
                guard set == CURLE_OK else { return set }
                return ccurl_easy_perform(handle)
            }
        }
        if collector.overflowed {
            throw HTTPClientError(code: .responseTooLarge, message: "The response to the \(request.method) request to \(origin) was larger than \(request.maxResponseBytes) bytes.",
                                  curlCode: Int32(result.rawValue))
        }
        if collector.stopped {
            throw HTTPClientError(code: .aborted, message: "The \(request.method) request to \(origin) was stopped by its caller.",
                                  curlCode: Int32(result.rawValue))
        }
        guard result == CURLE_OK else {
            throw Self.error(result, detail: String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), request: request, origin: origin)
        }
        var status = 0
        _ = ccurl_get_long(handle, CURLINFO_RESPONSE_CODE, &status)
        reusable = true
        return HTTPClientResponse(status: status, headers: collector.headers, body: collector.bytes)
    }

    /// The method and body: COPYPOSTFIELDS copies the bytes, so nothing must outlive this call.
    private static func setMethod(_ handle: UnsafeMutableRawPointer, _ request: HTTPClientRequest) -> CURLcode {
        if request.method == "GET" && request.body.isEmpty { return ccurl_set_long(handle, CURLOPT_HTTPGET, 1) }
        var code = CURLE_OK
        if !request.body.isEmpty || request.method == "POST" {
            code = ccurl_set_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
            if code == CURLE_OK {
                // A non-null pointer even for an empty body: curl copies POSTFIELDSIZE (0) bytes from it.
                let bytes = request.body.isEmpty ? [0] : request.body
                code = bytes.withUnsafeBufferPointer { buffer in
                    ccurl_set_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress))
                }
            }
        }
        if code == CURLE_OK && request.method != "POST" { code = ccurl_set_string(handle, CURLOPT_CUSTOMREQUEST, request.method) }
        return code
    }

    /// Checks what curl would otherwise accept silently; returns the URL's origin for messages.
    static func validate(_ request: HTTPClientRequest) throws(HTTPClientError) -> String {
        guard ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(request.method) else {
            throw HTTPClientError(code: .invalidRequest, message: "The HTTP method \(request.method) is not supported; use GET, POST, PUT, PATCH or DELETE.")
        }
        guard let components = URLComponents(string: request.url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty else {
            throw HTTPClientError(code: .invalidRequest, message: "The URL of the \(request.method) request is not an absolute http:// or https:// URL with a host.")
        }
        let origin = "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "")
        for (name, value) in request.headers {
            let bad = { (s: String) in s.utf8.contains { $0 == 10 || $0 == 13 || $0 == 0 } }
            guard !name.isEmpty, !bad(name), !bad(value), !name.contains(":") else {
                throw HTTPClientError(code: .invalidRequest, message: "The header \(bad(name) ? "with a line break in its name" : "'\(name)'") of the request to \(origin) is malformed: names must be non-empty without ':' and neither may contain line breaks.")
            }
        }
        guard request.timeout > 0, request.connectTimeout > 0 else {
            throw HTTPClientError(code: .invalidRequest, message: "The time limits of the request to \(origin) must be positive.")
        }
        return origin
    }

    /// Whole milliseconds, at least 1 (curl reads 0 as "no limit").
    static func milliseconds(_ seconds: Double) -> Int {
        guard seconds.isFinite else { return Int(Int32.max) }
        return max(1, min(Int(Int32.max), Int((seconds * 1000).rounded(.up))))
    }

    static func error(_ result: CURLcode, detail: String, request: HTTPClientRequest, origin: String) -> HTTPClientError {
        let code: HTTPClientError.Code
        switch result {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: code = .resolve
        case CURLE_COULDNT_CONNECT: code = .connect
        case CURLE_OPERATION_TIMEDOUT: code = .timeout
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_ISSUER_ERROR,
             CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CRL_BADFILE, CURLE_SSL_SHUTDOWN_FAILED:
            code = .tls
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL: code = .invalidRequest
        default: code = .transport
        }
        var reason = detail.trimmed()
        if reason.isEmpty { reason = String(cString: ccurl_easy_strerror(result)) }
        // curl's detail can quote the URL it was given; keep only what names the origin.
        if reason.contains(request.url) { reason = reason.replacing(request.url, with: origin) }
        while reason.hasSuffix(".") { reason.removeLast() }
        let what = code == .timeout ? "timed out" : "failed"
        return HTTPClientError(code: code, message: "The \(request.method) request to \(origin) \(what): \(reason).",
                               curlCode: Int32(result.rawValue))
    }
}
