import Foundation
import Testing
@testable import HTTPClient

/// libcurl is loaded on the first HTTP call (dlopen), not linked: a missing or wrong library must
/// surface as an error value with a code and one full sentence, never as a crash or a start failure.
@Suite struct CurlLazyLoadTests {
    @Test func aMissingLibraryIsAnErrorWithACodeAndASentence() throws {
        let missing = "/nonexistent-\(getpid())/libcurl.so.4"
        let error = try #require(HTTPClient.checkLibrary(missing))
        #expect(error.code == .libraryMissing)
        #expect(error.code.rawValue == "library_missing")
        #expect(error.message.hasPrefix("libcurl could not be loaded from \(missing) ("))
        #expect(error.message.contains("apt-get install libcurl4"))
        #expect(error.message.hasSuffix("."))
        #expect(!error.message.contains("\n"))
    }

    @Test func aLibraryWithoutCurlsFunctionsIsRefusedByName() throws {
        // libsqlite3 is always there (the store links it) and has none of curl's functions.
        let error = try #require(HTTPClient.checkLibrary("libsqlite3.so.0"))
        #expect(error.code == .libraryMissing)
        #expect(error.message == "libcurl at libsqlite3.so.0 lacks the function curl_global_init; install a libcurl 7.x or 8.x (Debian: apt-get install libcurl4).")
    }

    @Test func theSystemLibraryLoads() {
        #expect(HTTPClient.checkLibrary("libcurl.so.4") == nil)
        #expect(HTTPClient.loadLibrary() == nil)
    }
}
