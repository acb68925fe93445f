import Foundation
import Testing
@testable import Core
@testable import Config
@testable import Lifecycle
@testable import API

@Suite struct OpenAPIDocumentTests {
    /// A broken document stops the API (and so `serve`) at start, with one line that says where.
    @Test(arguments: [("paths:\n  /x: [unclosed\n", "docs/openapi.yaml:2:"), ("- just\n- a list\n", "not a mapping with 'paths'")])
    func aBrokenDocumentStopsTheAPIWithOneLine(_ document: String, _ says: String) throws {
        let f = try ServiceFixture()
        let error = #expect(throws: SandboxerError.self) {
            try SandboxAPI(service: f.service, settings: ServerSettings(), metrics: Metrics(), openAPIYAML: document)
        }
        let message = try #require(error?.message)
        #expect(message.contains(says), "\(message)")
        #expect(!message.contains("\n"), "\(message)")
        #expect(message.contains("OpenAPI document"), "\(message)")
    }
}
