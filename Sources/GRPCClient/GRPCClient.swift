import CCurl
import FoundationEssentials
import Glibc
import Basics

/// A gRPC client over libcurl's HTTP/2: unary and server-streaming calls on raw message bytes.
///
/// One client holds one curl easy handle, so its calls share one HTTP/2 connection (curl keeps
/// it open between calls; `connectionsOpened` counts how many it had to open). `https://` uses
/// HTTP/2 over TLS with verification always on; `http://` uses cleartext HTTP/2 with prior
/// knowledge and is allowed only to loopback hosts.
///
/// Thread safety: a client may be shared between threads, but its calls run one at a time (a
/// lock is held for each whole call, streams included). For parallel calls use several clients.
/// A stream's message handler runs inside the call: it must not call the same client.
public final class GRPCClient: @unchecked Sendable {
    // @unchecked Sendable: `handle` and `reuseH2C` are touched only while `callLock` is held,
    // the counter only under `statsLock`; everything else is immutable.
    public let configuration: GRPCClientConfiguration
    let target: GRPCTarget
    let handle: UnsafeMutableRawPointer
    let callLock = Lock()
    private let statsLock = Lock()
    private var opened = 0
    /// Whether the last cleartext call left an HTTP/2 connection to reuse (guarded by `callLock`).
    var reuseH2C = false

    /// libcurl before 8.0.0 cannot reuse an h2c connection made with prior knowledge.
    static let priorKnowledgeReuseIsBroken: Bool = {
        guard ccurl_load() == 0, let info = ccurl_version_info() else { return true }
        return info.pointee.version_num < 0x08_00_00
    }()

    /// Loads libcurl and runs its process-wide set-up on the first client (once per process, in
    /// `ccurl_load`); the status says why when libcurl is missing.
    static func loadLibrary() -> GRPCStatus? {
        guard ccurl_load() != 0 else { return nil }
        return GRPCStatus(code: .internal, message: String(cString: ccurl_load_error()))
    }

    /// A client for the server at `url` (`https://host[:port]`, or `http://` to loopback only).
    public init(url: String, configuration: GRPCClientConfiguration = GRPCClientConfiguration()) throws(GRPCStatus) {
        target = try GRPCTarget(url)
        _ = try GRPCMetadata.headerLines(configuration.metadata)
        guard configuration.maxMessageBytes >= 0, configuration.maxMessageBytes <= Int(UInt32.max),
              configuration.maxHeaderBytes > 0, configuration.connectTimeout > 0 else {
            throw GRPCStatus(code: .invalidArgument, message: "The gRPC client's limits must be positive and the message limit below 4 GiB.")
        }
        if let missing = Self.loadLibrary() { throw missing }
        guard let handle = ccurl_easy_init() else {
            throw GRPCStatus(code: .internal, message: "libcurl could not be initialised for the gRPC client of \(target.origin).")
        }
        self.configuration = configuration
        self.handle = handle
    }

    deinit { ccurl_easy_cleanup(handle) }

    /// How many connections the client's calls have opened so far (1 while one is reused).
    public var connectionsOpened: Int {
        statsLock.lock(); defer { statsLock.unlock() }
        return opened
    }

    func countConnections(_ count: Int) {
        statsLock.lock(); defer { statsLock.unlock() }
        opened += count
    }

    /// Calls a unary method (`/package.Service/Method`) with one request message and returns the
    /// one response message; any status but OK is thrown.
    public func unary(_ path: String, request: [UInt8], options: GRPCCallOptions = GRPCCallOptions()) throws(GRPCStatus) -> GRPCResponse {
        var response: [UInt8]?
        let outcome = try perform(path, request: request, options: options) { (message: [UInt8]) throws(GRPCStatus) in
            guard response == nil else {
                throw GRPCStatus(code: .unimplemented, message: "The server sent more than one message in answer to the unary call \(path).")
            }
            response = message
        }
        guard let response else {
            throw GRPCStatus(code: .unimplemented, message: "The server ended the unary call \(path) with OK but sent no message.")
        }
        return GRPCResponse(message: response, headers: outcome.headers, trailers: outcome.trailers)
    }

    /// Calls a server-streaming method, handing each message to `onMessage` as it arrives (nothing
    /// is buffered beyond the message being read). `onMessage` returns false to stop: the call
    /// then ends with CANCELLED. Any status but OK is thrown, after the messages that came before it.
    public func serverStreaming(_ path: String, request: [UInt8], options: GRPCCallOptions = GRPCCallOptions(),
                                onMessage: ([UInt8]) -> Bool) throws(GRPCStatus) -> GRPCStreamSummary {
        try withoutActuallyEscaping(onMessage) { (handler: @escaping ([UInt8]) -> Bool) throws(GRPCStatus) -> GRPCStreamSummary in
            let outcome = try perform(path, request: request, options: options) { (message: [UInt8]) throws(GRPCStatus) in
                guard handler(message) else {
                    throw GRPCStatus(code: .cancelled, message: "The streaming call \(path) was stopped by its message handler.")
                }
            }
            return GRPCStreamSummary(messageCount: outcome.messageCount, headers: outcome.headers, trailers: outcome.trailers)
        }
    }
}
