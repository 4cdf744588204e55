import Foundation
import Planning
import Registry
import Storage
import Testing

/// `campaign effect`'s figures against a small example worked by hand, with a 0 % cell (policy A,
/// not delivered: 0 of 2) and 100 % cells (A delivered: 2 of 2; B control: 1 of 1).
@Suite struct CampaignEffectTests {
    static let zone = TimeZone(identifier: "Asia/Shanghai")!
    static let start = ISO8601DateFormatter().date(from: "2026-06-01T09:00:00+08:00")!

    static func day(_ text: String) -> LocalDate { LocalDate(iso: text)! }

    static func at(_ text: String) -> Date { ISO8601DateFormatter().date(from: text + "T10:00:00+08:00")! }

    static let record = CampaignRecord(
        id: 5,
        spec: CampaignSpec(
            name: "六月", policyIDs: ["A", "B"], channels: [.sms], fallback: false, startAt: start,
            campaignDate: "2026-06-01", policyVersions: [:], templateVersion: "t", controlPercent: 40, controlSeed: "s"),
        state: .running, requestedState: nil, createdAt: start, plannedAt: start, finishedAt: nil, counts: [:])

    static func assign(_ code: String, _ policies: [String], control: Bool, _ reason: String? = nil) -> GroupAssignment
    {
        GroupAssignment(campaignID: 5, creditCode: code, policyIDs: policies, control: control, plannedReason: reason)
    }

    static let assignments = [
        assign("P1", ["A", "B"], control: false), assign("P2", ["A", "B"], control: false),
        assign("P3", ["A", "B"], control: false, "frequency_cap"), assign("P4", ["A", "B"], control: false),
        assign("C1", ["A"], control: true, "frequency_cap"), assign("C2", ["A"], control: true),
        assign("C3", ["A", "B"], control: true),
    ]

    static let deliveries: [String: [String: Date]] = [
        "P1": ["A": at("2026-06-02"), "B": at("2026-06-02")], "P2": ["A": at("2026-06-03")],
    ]

    static func claim(_ code: String, _ policy: String, _ on: String, _ fen: Int64? = nil) -> UptakeClaim {
        UptakeClaim(creditCode: code, policyID: policy, claimedOn: day(on), amountFen: fen)
    }

    static let claims = [
        claim("P1", "A", "2026-06-05", 100_000), claim("P1", "A", "2026-06-20", 50_050), claim("P1", "B", "2026-06-10"),
        claim("P2", "A", "2026-06-04", 20_000),
        claim("P3", "A", "2026-07-15", 99_999),  // after the 30-day window
        claim("P4", "B", "2026-05-30", 99_999),  // before the start
        claim("C1", "A", "2026-06-11", 30_000), claim("C3", "B", "2026-06-03"),
    ]

    private func close(_ a: Double?, _ b: Double) -> Bool { a.map { abs($0 - b) < 1e-12 } ?? false }

    @Test func handComputedExample() throws {
        let e = CampaignEffect.compute(
            campaign: Self.record, assignments: Self.assignments, deliveries: Self.deliveries, claims: Self.claims,
            opened: ["P1", "C2"], windowDays: 30, zone: Self.zone)
        #expect(e.startDay == "2026-06-01" && e.windowEnd == "2026-06-30" && e.measuresEffect)
        let a = e.policies[0]
        #expect(a.policyID == "A" && a.eligible == 7)
        #expect(a.pushed.enterprises == 4 && a.pushed.claimed == 2 && a.pushed.share == 0.5)
        #expect(a.delivered.enterprises == 2 && a.delivered.claimed == 2 && a.delivered.share == 1)
        #expect(a.delivered.interval?.upper == 1 && close(a.delivered.interval?.lower, 0.34238022750665303))
        #expect(a.notDelivered.enterprises == 2 && a.notDelivered.claimed == 0 && a.notDelivered.share == 0)
        #expect(a.notDelivered.interval?.lower == 0 && close(a.notDelivered.interval?.upper, 0.6576197724933469))
        #expect(a.control.enterprises == 3 && a.control.claimed == 1)
        // Opened: P1 opened its package; C2 is in the control group, its "open" cannot come from this push's message.
        #expect(a.pushed.opened == 1 && a.delivered.opened == 1 && a.notDelivered.opened == 0 && a.control.opened == 0)
        #expect(a.pushed.amountFen == 170_050 && a.pushed.amountYuan == "1700.50")
        #expect(a.control.amountFen == 30_000 && a.control.amountYuan == "300.00")
        #expect(a.delivered.medianDaysFromDelivery == 2, "3 days (P1) and 1 day (P2)")
        #expect(a.pushed.medianDaysFromStart == 3.5, "4 days (P1) and 3 days (P2)")
        #expect(a.control.medianDaysFromDelivery == nil && a.control.medianDaysFromStart == 10)
        #expect(a.pushed.planningSuppressed == [.init(reason: "frequency_cap", count: 1)])
        #expect(a.control.planningSuppressed == [.init(reason: "frequency_cap", count: 1)])
        let d = try #require(a.difference)
        #expect(close(d.estimate, 2.0 / 4 - 1.0 / 3))
        #expect(close(d.lower, -0.4105336413957043) && close(d.upper, 0.6098037218501158))

        let b = e.policies[1]
        #expect(b.eligible == 5 && b.pushed.claimed == 1 && b.pushed.enterprises == 4)
        #expect(b.delivered.enterprises == 1 && b.delivered.claimed == 1)
        #expect(b.notDelivered.enterprises == 3 && b.notDelivered.claimed == 0)
        #expect(b.control.enterprises == 1 && b.control.claimed == 1 && b.control.share == 1)
        #expect(b.pushed.amountYuan == "0.00")
        let db = try #require(b.difference)
        #expect(close(db.estimate, -0.75) && close(db.lower, -0.9544127391902995))
        #expect(close(db.upper, 0.16185894970273274))
    }

    @Test func withoutAControlGroupItSaysSo() {
        let e = CampaignEffect.compute(
            campaign: Self.record, assignments: Self.assignments.filter { !$0.control }, deliveries: Self.deliveries,
            claims: Self.claims, windowDays: 30, zone: Self.zone)
        #expect(!e.measuresEffect)
        #expect(e.note.contains("do not measure an effect"))
        #expect(e.policies.allSatisfy { $0.difference == nil && $0.control.enterprises == 0 })
        #expect(e.policies[0].pushed.claimed == 2)
    }

    @Test func windowCutsClaims() {
        let e = CampaignEffect.compute(
            campaign: Self.record, assignments: Self.assignments, deliveries: Self.deliveries, claims: Self.claims,
            windowDays: 4, zone: Self.zone)
        #expect(e.windowEnd == "2026-06-04")
        #expect(e.policies[0].pushed.claimed == 1, "only P2's claim on 06-04")
        #expect(e.policies[0].pushed.amountYuan == "200.00")
    }
}
