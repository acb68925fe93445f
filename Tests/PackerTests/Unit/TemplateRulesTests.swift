import PluginProtocol
import Testing

@Suite("templates whose cache key would lie")
struct TemplateRulesTests {
    @Test("timestamp(), uuidv4() and Go-template {{timestamp}}/{{isotime}}/{{uuid}} are found", arguments: [
        ("locals { t = timestamp() }", ["timestamp()"]),
        ("x = uuidv4 ( )", ["uuidv4()"]),
        (#"{"name": "img-{{timestamp}}"}"#, ["{{timestamp}}"]),
        (#"{"name": "{{ isotime \"2006\" }}-{{uuid}}"}"#, ["{{isotime}}", "{{uuid}}"]),
        (#"{{- timestamp -}} and timestamp() and {{timestamp}}"#, ["{{timestamp}}", "timestamp()"]),
    ])
    func found(_ text: String, _ calls: [String]) {
        #expect(BuildTemplateRules.nondeterministicCalls(in: text) == calls)
    }

    @Test("names that only contain the words, and deterministic functions, pass", arguments: [
        #"{"variables": {"build_timestamp": ""}, "x": "{{user `build_timestamp`}}"}"#,
        "a = my_timestamp()", "b = uuidv5(\"dns\", \"x\")", "# timestamp is not called here", "{{user `uuid`}}",
        "{{template_dir}}", "", "{{",
    ])
    func passes(_ text: String) {
        #expect(BuildTemplateRules.nondeterministicCalls(in: text).isEmpty)
        #expect(BuildTemplateRules.refusal(file: "/t.json", text: text) == nil)
    }

    @Test("the refusal is one sentence naming the file and the calls")
    func refusal() {
        #expect(BuildTemplateRules.refusal(file: "/t/a.pkr.hcl", text: "x = timestamp()")
                == "The template /t/a.pkr.hcl calls timestamp(), whose value changes on every run, so the image cache key could not describe what it builds; pass the value as a variable instead.")
    }
}
