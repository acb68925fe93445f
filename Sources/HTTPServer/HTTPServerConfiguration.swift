/// Limits and sizes for `HTTPServer`; the defaults suit a local control API.
public struct HTTPServerConfiguration: Sendable {
    /// Where to listen.
    public var listen: ListenAddress = .tcp(host: "127.0.0.1", port: 8080)
    /// Request line plus headers (with the blank line ending them) above this get a 431.
    public var maxHeaderBytes = 16 * 1024
    /// A Content-Length above this gets a 413 before any of the body is read.
    public var maxBodyBytes = 1 << 20
    /// Seconds from a request's first byte to the end of its headers before a 408 and close;
    /// also the longest pause allowed while a body is arriving.
    public var headerReadTimeout: Double = 10
    /// Seconds an idle keep-alive connection stays open before it is closed silently; also the
    /// longest a client may leave a response unread.
    public var idleTimeout: Double = 60
    /// Connections beyond this are accepted, answered 503 and closed, unless the newcomer's address
    /// holds fewer connections than the heaviest one: then a waiting connection of that address
    /// makes room (so one client's idle connections never lock the others out).
    public var maxConnections = 1024
    /// Threads that run handlers (handlers may block; socket I/O never waits on them).
    public var workerThreads = 8
    /// Threads reserved for requests the server's `isPriority` picks (health checks, metrics): they
    /// never queue behind handlers that block on the main workers.
    public var priorityThreads = 1
    /// Seconds `shutdown()` waits for in-flight handlers before closing everything anyway.
    public var shutdownTimeout: Double = 30

    public init() {}
}
