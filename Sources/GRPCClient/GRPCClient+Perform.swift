import CCurl
import FoundationEssentials
import Glibc

/// Running one call on the client's curl handle.
extension GRPCClient {
    /// What a call that ended OK leaves behind.
    struct Outcome {
        var headers: [(name: String, value: String)]
        var trailers: [(name: String, value: String)]
        var messageCount: Int
    }

    /// Sends one request message to `path` and hands each response message to `deliver`;
    /// returns when the server's status is OK, throws any other status.
    func perform(_ path: String, request: [UInt8], options: GRPCCallOptions,
                 deliver: @escaping ([UInt8]) throws(GRPCStatus) -> Void) throws(GRPCStatus) -> Outcome {
        try GRPCMetadata.checkPath(path)
        guard request.count <= configuration.maxMessageBytes else {
            throw GRPCStatus(code: .resourceExhausted, message: "The request to \(path) is \(request.count) bytes, above the client's limit of \(configuration.maxMessageBytes) bytes.")
        }
        if let timeout = options.timeout, !(timeout > 0) {
            throw GRPCStatus(code: .invalidArgument, message: "The deadline of the call to \(path) must be a positive number of seconds.")
        }
        var lines = try GRPCMetadata.headerLines(configuration.metadata) + GRPCMetadata.headerLines(options.metadata)
        // curl's own defaults removed ("Accept:", "Expect:"); te: trailers is what gRPC servers check.
        lines += ["content-type: application/grpc", "te: trailers", "grpc-accept-encoding: identity", "Accept:", "Expect:"]
        if let timeout = options.timeout { lines.append("grpc-timeout: \(GRPCTimeout.headerValue(seconds: timeout))") }
        var list: UnsafeMutablePointer<curl_slist>? = nil
        defer { ccurl_slist_free_all(list) }
        for line in lines {
            guard let appended = ccurl_slist_append(list, line) else {
                throw GRPCStatus(code: .resourceExhausted, message: "Out of memory building the headers of the call to \(path).")
            }
            list = appended
        }

        let frame = GRPCFrame.encode(request)
        callLock.lock()
        defer { callLock.unlock() }
        let started = ContinuousClock.now
        var run = transfer(path, frame: frame, headers: list, options: options, deliver: deliver)
        let trace = AttemptTrace(result: run.result, detail: run.detail,
                                 sawResponse: run.collector.httpStatus != nil || run.collector.failure != nil || run.collector.cancelled,
                                 uploaded: run.uploaded, requestBytes: frame.count)
        if Self.lostEarlyAnswer(trace), let retry = Self.remaining(options, since: started) {
            // libcurl lost the server's answer to a message it never received in full (see
            // GRPCClient+LostAnswer.swift): ask once more, within what is left of the deadline.
            run = transfer(path, frame: frame, headers: list, options: retry, deliver: deliver)
        }
        return try conclude(run.result, detail: run.detail, collector: run.collector, path: path, timeout: options.timeout)
    }

    /// The options for a second attempt: the deadline shortened by the time spent; nil when none is left.
    static func remaining(_ options: GRPCCallOptions, since start: ContinuousClock.Instant) -> GRPCCallOptions? {
        guard let timeout = options.timeout else { return options }
        let spent = ContinuousClock.now - start
        let left = timeout - (Double(spent.components.seconds) + Double(spent.components.attoseconds) / 1e18)
        guard left > 0 else { return nil }
        var shortened = options
        shortened.timeout = left
        return shortened
    }

    /// One request on the client's connection: a transfer, redone once with prior knowledge when
    /// curl had to open a connection by an HTTP/1.1 upgrade the server never answered.
    private func transfer(_ path: String, frame: [UInt8], headers: UnsafeMutablePointer<curl_slist>?, options: GRPCCallOptions,
                          deliver: @escaping ([UInt8]) throws(GRPCStatus) -> Void)
        -> (result: CURLcode, collector: GRPCCallCollector, detail: String, connects: Int, uploaded: Int?) {
        var run = attempt(path, frame: frame, headers: headers, options: options, deliver: deliver, priorKnowledge: !reuseH2C, fresh: false)
        if reuseH2C && run.connects > 0 && run.collector.httpStatus == nil && run.collector.failure == nil
            && run.result != CURLE_OK && !run.collector.cancelled {
            // The connection to reuse was gone, so curl opened a new one with an HTTP/1.1 upgrade,
            // which a gRPC server does not answer: it never saw a request. Redo it with prior
            // knowledge. (A failure on a reused connection is not retried: the server may have
            // acted on the request.)
            run = attempt(path, frame: frame, headers: headers, options: options, deliver: deliver, priorKnowledge: true, fresh: true)
        }
        // libcurl before 8.0 breaks when it reuses a cleartext HTTP/2 connection under
        // CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE (curl issue 10634): while a connection is open,
        // calls ask for plain HTTP/2 instead, which reuses it as it is.
        if !target.isTLS && Self.priorKnowledgeReuseIsBroken {
            var socket: curl_socket_t = -1
            reuseH2C = ccurl_get_socket(handle, CURLINFO_ACTIVESOCKET, &socket) == CURLE_OK && socket != -1
        }
        return run
    }

    /// One transfer on the handle: returns curl's result, what the callbacks saw, curl's detail,
    /// the connections it opened and the request bytes it took.
    private func attempt(_ path: String, frame: [UInt8], headers: UnsafeMutablePointer<curl_slist>?, options: GRPCCallOptions,
                         deliver: @escaping ([UInt8]) throws(GRPCStatus) -> Void, priorKnowledge: Bool, fresh: Bool)
        -> (result: CURLcode, collector: GRPCCallCollector, detail: String, connects: Int, uploaded: Int?) {
        let collector = GRPCCallCollector(maxMessageBytes: configuration.maxMessageBytes, maxHeaderBytes: configuration.maxHeaderBytes,
                                          isCancelled: options.isCancelled, deliver: deliver)
        var errorBuffer = [CChar](repeating: 0, count: Int(ccurl_error_size()) + 1)
        let result: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
            withExtendedLifetime(collector) {
                ccurl_easy_reset(handle)   // options only: the connection cache survives a reset
                var set = configure(url: target.origin + path, headers: headers, body: frame, timeout: options.timeout,
                                    errorBuffer: errorPointer.baseAddress, context: Unmanaged.passUnretained(collector).toOpaque())
                let version = target.isTLS ? Int(CURL_HTTP_VERSION_2TLS) : priorKnowledge ? Int(CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE) : Int(CURL_HTTP_VERSION_2_0)
                if set == CURLE_OK { set = ccurl_set_long(handle, CURLOPT_HTTP_VERSION, version) }
                if set == CURLE_OK && fresh { set = ccurl_set_long(handle, CURLOPT_FRESH_CONNECT, 1) }
                guard set == CURLE_OK else { return set }
                return ccurl_easy_perform(handle)
            }
        }
        var connects = 0
        if ccurl_get_long(handle, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK { countConnections(connects) }
        let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (result, collector, detail, connects, uploadedBytes())
    }

    /// Sets every option of one call on the freshly reset handle; the first failure wins.
    private func configure(url: String, headers: UnsafeMutablePointer<curl_slist>?, body: [UInt8], timeout: Double?,
                           errorBuffer: UnsafeMutablePointer<CChar>?, context: UnsafeMutableRawPointer) -> CURLcode {
        var set = CURLE_OK
        func apply(_ code: CURLcode) { if set == CURLE_OK { set = code } }
        apply(ccurl_set_string(handle, CURLOPT_URL, url))
        apply(ccurl_set_string(handle, CURLOPT_PROTOCOLS_STR, target.isTLS ? "https" : "http"))
        apply(ccurl_set_long(handle, CURLOPT_SSL_VERIFYPEER, 1))
        apply(ccurl_set_long(handle, CURLOPT_SSL_VERIFYHOST, 2))
        if let ca = configuration.caBundlePath { apply(ccurl_set_string(handle, CURLOPT_CAINFO, ca)) }
        apply(ccurl_set_long(handle, CURLOPT_NOSIGNAL, 1))   // threads: no SIGALRM for timeouts
        apply(ccurl_set_long(handle, CURLOPT_FOLLOWLOCATION, 0))
        apply(ccurl_set_long(handle, CURLOPT_TCP_KEEPALIVE, 1))
        let connect = min(configuration.connectTimeout, timeout ?? configuration.connectTimeout)
        apply(ccurl_set_long(handle, CURLOPT_CONNECTTIMEOUT_MS, GRPCTimeout.milliseconds(connect)))
        apply(ccurl_set_long(handle, CURLOPT_TIMEOUT_MS, timeout.map(GRPCTimeout.milliseconds) ?? 0))
        apply(ccurl_set_string(handle, CURLOPT_USERAGENT, configuration.userAgent))
        apply(ccurl_set_list(handle, CURLOPT_HTTPHEADER, headers))
        apply(ccurl_set_pointer(handle, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer)))
        apply(ccurl_set_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)))
        apply(body.withUnsafeBufferPointer { ccurl_set_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress)) })
        apply(ccurl_set_callback(handle, CURLOPT_WRITEFUNCTION, { data, size, count, context in
            guard let context else { return 0 }
            let collector = Unmanaged<GRPCCallCollector>.fromOpaque(context).takeUnretainedValue()
            return collector.body(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
        }))
        apply(ccurl_set_pointer(handle, CURLOPT_WRITEDATA, context))
        apply(ccurl_set_callback(handle, CURLOPT_HEADERFUNCTION, { data, size, count, context in
            guard let context else { return 0 }
            let collector = Unmanaged<GRPCCallCollector>.fromOpaque(context).takeUnretainedValue()
            return collector.header(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
        }))
        apply(ccurl_set_pointer(handle, CURLOPT_HEADERDATA, context))
        apply(ccurl_set_long(handle, CURLOPT_NOPROGRESS, 0))
        apply(ccurl_set_xferinfo(handle, { context, _, _, _, _ in
            guard let context else { return 1 }
            return Unmanaged<GRPCCallCollector>.fromOpaque(context).takeUnretainedValue().shouldAbort() ? 1 : 0
        }))
        apply(ccurl_set_pointer(handle, CURLOPT_XFERINFODATA, context))
        return set
    }
}
