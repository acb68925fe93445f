import FoundationEssentials
import PluginProtocol
import Testing

/// `DescribeResponse.read` (JSONReader) must accept exactly what the Codable conformance accepts and
/// give the same value: the host reads every plugin's `describe` with it.
struct DescribeResponseReadTests {
    static let accepted = [
        #"{"name":"localvm","version":"0.1.0","capabilities":["sandboxer.lifecycle/1","sandboxer.exec/1"]}"#,
        #"{"name":"p","version":"1","capabilities":[],"boot_artifact_kinds":["rootfs-tar"],"info":{"packer_version":"1.6.6","n":2}}"#,
        #"{"capabilities":[],"version":"2","name":"x","unknown":{"deep":[1,2,{"a":null}]}}"#,
        #"{"name":"p","version":"1","capabilities":["a"],"boot_artifact_kinds":null,"info":null}"#,
        " \n{\"name\":\"\\u00e9t\\u00e9\",\"version\":\"1\",\"capabilities\":[\"\\ud83d\\ude00\"]}\n ",
    ]

    @Test(arguments: accepted)
    func readsWhatCodableReads(_ text: String) throws {
        let bytes = Data(text.utf8)
        let codable = try JSONDecoder().decode(DescribeResponse.self, from: bytes)
        #expect(try DescribeResponse.read(bytes) == codable)
    }

    static let refused: [(String, String)] = [
        (#"{"version":"1","capabilities":[]}"#, "missing key 'name'"),
        (#"{"name":"p","version":"1"}"#, "missing key 'capabilities'"),
        (#"{"name":"p","version":1,"capabilities":[]}"#, "wrong type at 'version'"),
        (#"{"name":"p","version":"1","capabilities":["a",2]}"#, "wrong type at 'capabilities.1'"),
        (#"{"name":"p","version":"1","capabilities":"a"}"#, "wrong type at 'capabilities'"),
        (#"{"name":"p","version":"1","capabilities":[],"info":[1]}"#, "wrong type at 'info'"),
        (#"["name"]"#, "wrong type at ''"),
        (#"{"name":"p""#, "malformed JSON"),
        ("", "malformed JSON"),
    ]

    @Test(arguments: refused)
    func refusesWhatCodableRefuses(_ text: String, _ detail: String) {
        let bytes = Data(text.utf8)
        #expect((try? JSONDecoder().decode(DescribeResponse.self, from: bytes)) == nil, "Codable accepts \(text)")
        #expect(throws: DescribeReadError(detail)) { try DescribeResponse.read(bytes) }
    }
}
