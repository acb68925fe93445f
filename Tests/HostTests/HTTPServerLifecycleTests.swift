import Foundation
import Glibc
import Synchronization
import Testing
@testable import Basics
@testable import HTTPServer
@testable import YAMLSubset
@testable import PluginProtocol
@testable import Core
@testable import Config
@testable import Store
@testable import Backends
@testable import Lifecycle
@testable import Webhooks
@testable import API
@testable import CLI

@Suite("HTTPServer shutdown and unix sockets")
struct HTTPServerLifecycleTests {
    @Test func gracefulShutdownFinishesABlockedHandler() throws {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        var configuration = HTTPServerConfiguration()
        configuration.listen = .tcp(host: "127.0.0.1", port: 0)
        let server = HTTPServer(configuration: configuration) { request in
            if request.path == "/block" {
                entered.signal()
                release.wait()
                return HTTPResponse(status: 200, body: Data("finished".utf8))
            }
            return echoHandler(request)
        }
        let address = try server.start()
        let idle = try RawHTTPClient(address)
        #expect(try idle.request("GET / HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
        let busy = try RawHTTPClient(address)
        try busy.send("GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
        entered.wait()

        server.shutdown()
        server.shutdown()  // idempotent
        #expect(try idle.readsEOF())  // idle connections are closed at once
        release.signal()
        let response = try #require(try busy.readResponse())
        #expect(response.status == 200)
        #expect(response.text == "finished")
        #expect(response.headers["Connection"] == "close")
        #expect(try busy.readsEOF())
        server.wait()
        #expect(server.openConnections == 0)
        #expect(throws: HTTPTestError.self) { _ = try RawHTTPClient(address) }  // no longer listening
    }

    @Test func unixSocketServesAndIsRemovedOnShutdown() throws {
        let directory = try temporaryDirectory()
        defer { rmdir(directory) }
        let path = directory + "/api.sock"
        try withServer({ $0.listen = .unix(path: path) }) { _, address in
            #expect(address == .unix(path: path))
            var info = stat()
            #expect(lstat(path, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFSOCK)
            #expect(info.st_mode & 0o777 == 0o660)
            let client = try RawHTTPClient(address)
            #expect(try client.request("GET /u HTTP/1.1\r\nHost: x\r\n\r\n").text == "GET /u  0")
            if FileManager.default.isExecutableFile(atPath: "/usr/bin/curl") {
                #expect(try runCurl(["-sS", "--unix-socket", path, "http://localhost/curl?k=v"]) == "GET /curl k=v 0")
            }
        }
        #expect(access(path, F_OK) != 0)
    }

    @Test func staleUnixSocketIsReplacedButOtherFilesAreNot() throws {
        let directory = try temporaryDirectory()
        defer { rmdir(directory) }
        let path = directory + "/stale.sock"
        // A socket file nobody listens on: what a crashed server leaves behind.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var sun = sockaddr_un()
        sun.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &sun.sun_path) { $0.copyBytes(from: path.utf8) }
        let bound = withUnsafePointer(to: &sun) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(fd)
        #expect(bound == 0)
        try withServer({ $0.listen = .unix(path: path) }) { _, address in
            let response = try RawHTTPClient(address).request("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(response.status == 200)
            // A live socket is not stolen by a second server.
            var configuration = HTTPServerConfiguration()
            configuration.listen = address
            #expect(throws: HTTPServerError.self) { _ = try HTTPServer(configuration: configuration, handler: echoHandler).start() }
        }

        let file = directory + "/not-a-socket"
        #expect(FileManager.default.createFile(atPath: file, contents: Data("keep".utf8)))
        defer { unlink(file) }
        var configuration = HTTPServerConfiguration()
        configuration.listen = .unix(path: file)
        #expect(throws: HTTPServerError.self) { _ = try HTTPServer(configuration: configuration, handler: echoHandler).start() }
        #expect(FileManager.default.contents(atPath: file) == Data("keep".utf8))
    }

    @Test func listenAddressesParse() throws {
        #expect(try ListenAddress.parse("127.0.0.1:8080") == .tcp(host: "127.0.0.1", port: 8080))
        #expect(try ListenAddress.parse("[::1]:8080") == .tcp(host: "::1", port: 8080))
        #expect(try ListenAddress.parse("localhost:0") == .tcp(host: "localhost", port: 0))
        #expect(try ListenAddress.parse("unix:/run/sandboxer.sock") == .unix(path: "/run/sandboxer.sock"))
        #expect(try ListenAddress.parse("[::1]:8080").description == "[::1]:8080")
        #expect(try ListenAddress.parse("unix:/a").description == "unix:/a")
        for bad in ["", "8080", "host", "host:", ":80", "host:65536", "host:-1", "host:8x", "::1:80", "[::1]80", "unix:relative"] {
            #expect(throws: HTTPServerError.self, "\(bad)") { _ = try ListenAddress.parse(bad) }
        }
        #expect(try ListenAddress.parse("127.0.0.2:1").isLoopback)
        #expect(try ListenAddress.parse("[::1]:1").isLoopback)
        #expect(try ListenAddress.parse("localhost:1").isLoopback)
        #expect(try ListenAddress.parse("unix:/s").isLoopback)
        #expect(try !ListenAddress.parse("0.0.0.0:1").isLoopback)
        #expect(try !ListenAddress.parse("10.0.0.1:1").isLoopback)
    }

    @Test func localhostResolvesAndPortZeroBecomesARealPort() throws {
        try withServer({ $0.listen = .tcp(host: "localhost", port: 0) }) { _, address in
            guard case .tcp(let host, let port) = address else { Issue.record("not tcp"); return }
            #expect(port > 0)
            #expect(host == "127.0.0.1" || host == "::1")
        }
    }
}

@Suite("ShutdownSignals")
struct HTTPShutdownSignalsTests {
    @Test func aSignalReachesTheCallbackOnTheWaitingThread() throws {
        let received = DispatchSemaphore(value: 0)
        let number = Mutex<Int32>(0)
        ShutdownSignals.install { signal in
            number.withLock { $0 = signal }
            received.signal()
        }
        let waiter = try #require(ShutdownSignals.waiterThread)
        // Directed at the sigwait thread only: a process-wide SIGINT could land on a test thread.
        #expect(pthread_kill(waiter, SIGINT) == 0)
        #expect(received.wait(timeout: .now() + 10) == .success)
        #expect(number.withLock { $0 } == SIGINT)
    }
}

@Suite("HTTPServer timeouts and large responses")
struct HTTPServerTimeoutTests {
    @Test func shutdownGivesUpOnAHandlerAfterTheShutdownTimeout() throws {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        defer { release.signal() }  // let the stuck worker finish once the test is over
        var configuration = HTTPServerConfiguration()
        configuration.listen = .tcp(host: "127.0.0.1", port: 0)
        configuration.shutdownTimeout = 0.2
        let server = HTTPServer(configuration: configuration) { _ in
            entered.signal()
            release.wait()
            return HTTPResponse(status: 200)
        }
        let address = try server.start()
        let client = try RawHTTPClient(address)
        try client.send("GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
        entered.wait()
        server.shutdown()
        server.wait()  // returns after the shutdown timeout although the handler is still blocked
        // The stuck request is answered 503 at the deadline rather than closed without a word.
        let response = try #require(try client.readResponse())
        #expect(response.status == 503)
        #expect(response.headers["Retry-After"] == "1")
        #expect(response.headers["Connection"] == "close")
        #expect(response.headers["Content-Type"] == "application/json")
        #expect(response.text.contains(#""code":"shutting_down""#))
        release.signal()  // the worker's late response is discarded: nothing follows the 503
        #expect(try client.readsEOF())
    }

    @Test func idleKeepAliveConnectionIsClosedAfterTheIdleTimeout() throws {
        try withServer({ $0.idleTimeout = 0.2 }) { _, address in
            let client = try RawHTTPClient(address)
            #expect(try client.request("GET / HTTP/1.1\r\nHost: x\r\n\r\n").status == 200)
            #expect(try client.readsEOF())  // closed silently: no bytes, then EOF
        }
    }

    @Test func aLargeResponseIsWrittenCompletely() throws {
        let big = Data((0..<(8 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try withServer(handler: { _ in HTTPResponse(status: 200, body: big) }) { _, address in
            let client = try RawHTTPClient(address)
            let response = try client.request("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(response.body == big)
            #expect(try client.request("GET /again HTTP/1.1\r\nHost: x\r\n\r\n").body.count == big.count)
        }
    }
}
