import Testing
@testable import BYOK

@Suite struct PlacementTests {
    func host(_ name: String, live: Int?, capacity: Int = 2, labels: [String: String] = [:]) -> Placement.Candidate {
        Placement.Candidate(name: name, labels: labels, capacity: capacity, live: live, error: live == nil ? "down" : nil)
    }

    @Test func leastLoadedFirstThenByName() {
        let plan = Placement.plan([host("h1", live: 1), host("h2", live: 0), host("h3", live: 0, capacity: 4)])
        #expect(plan.order == ["h2", "h3", "h1"])
    }

    @Test func loadIsRelativeToCapacity() {
        let plan = Placement.plan([host("small", live: 1, capacity: 2), host("big", live: 2, capacity: 8)])
        #expect(plan.order == ["big", "small"])
    }

    @Test func fullAndDownHostsAreSkippedAndNamed() {
        let plan = Placement.plan([host("h1", live: 2), host("h2", live: nil), host("h3", live: 1)])
        #expect(plan.order == ["h3"])
        #expect(plan.full == ["h1"])
        #expect(plan.down == ["h2"])
        #expect(plan.skippedText == ["h1 full (2/2)", "h2 unreachable (down)"])
    }

    @Test func labelsMustAllMatch() {
        #expect(Placement.matches(["zone": "a", "disk": "ssd"], required: ["zone": "a"]))
        #expect(!Placement.matches(["zone": "b"], required: ["zone": "a"]))
        #expect(!Placement.matches([:], required: ["zone": "a"]))
        #expect(Placement.matches([:], required: [:]))
    }

    @Test func noHostLeftIsQuotaUnlessOneWasDown() {
        #expect(Placement.failure(["h1 full (2/2)"], anyUnavailable: false).code == .quota)
        let down = Placement.failure(["h1 full (2/2)", "h2 unreachable (down)"], anyUnavailable: true)
        #expect(down.code == .unavailable)
        #expect(down.message == "No byok host could take the sandbox: h1 full (2/2); h2 unreachable (down).")
    }
}
