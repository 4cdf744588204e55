import Foundation
import Registry
import Testing

@testable import Storage

/// The activity timeline and the 跟踪问效 tables (control groups, uptake), on each backend.
@Suite struct OutboxActivityAndEffectTests {
    @Test(arguments: StoreBackend.all) func activityBucketsSendsDeliveriesAndFailuresOnTheLocalClock(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let t0 = OutboxFixture.t0
        let id = try f.runningCampaign()
        try f.queued(4, campaign: id)
        let sent = try f.claimAndSend(now: t0, limit: 4)
        try f.store.record(sent.map { Transition(messageID: $0.id, to: .accepted, at: t0 + 1, gateway: "gw") })
        try f.store.record([
            Transition(messageID: sent[0].id, to: .delivered, at: t0 + 3600),
            Transition(messageID: sent[1].id, to: .delivered, at: t0 + 3600),
            Transition(messageID: sent[2].id, to: .failed, at: t0 + 7200),
        ])
        let timeline = try #require(try f.store.activity(campaignID: id, utcOffsetSeconds: 8 * 3600))
        #expect(timeline.buckets.reduce(0) { $0 + $1.sent } == 4)
        #expect(timeline.buckets.reduce(0) { $0 + $1.delivered } == 2)
        #expect(timeline.buckets.reduce(0) { $0 + $1.failed } == 1)
        let width = TimeInterval(timeline.bucketSeconds)
        #expect(timeline.buckets.first { $0.sent > 0 }.map { $0.start <= t0 && t0 < $0.start + width } == true)
        #expect(try f.store.activity(campaignID: id + 1, utcOffsetSeconds: 0) == nil)
    }

    @Test(arguments: StoreBackend.all) func groupAssignmentsAndUptakeRoundTrip(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let control = GroupAssignment(
            campaignID: id, creditCode: "9144B", policyIDs: ["p1", "p2"], control: true, plannedReason: nil)
        let treated = GroupAssignment(
            campaignID: id, creditCode: "9144A", policyIDs: ["p1"], control: false, plannedReason: "sms")
        try f.store.insertGroupAssignments([control, treated, treated])
        #expect(try f.store.groupAssignments(campaignID: id) == [treated, control])

        let day = LocalDate(iso: "2026-06-10")!
        let claims = [
            UptakeClaim(creditCode: "9144A", policyID: "p1", claimedOn: day, amountFen: 1200),
            UptakeClaim(creditCode: "9144B", policyID: "p2", claimedOn: day, amountFen: nil),
        ]
        var outcome = try f.store.upsertUptake(claims, source: "a.csv", at: OutboxFixture.t0)
        #expect(outcome.inserted == 2)
        var changed = claims
        changed[0].amountFen = 1500
        outcome = try f.store.upsertUptake(changed, source: "b.csv", at: OutboxFixture.t0 + 60)
        #expect(outcome.updated == 1 && outcome.unchanged == 1)
        let read = try f.store.uptake(
            policyIDs: ["p1", "p2"], from: LocalDate(iso: "2026-06-01")!, through: LocalDate(iso: "2026-06-30")!)
        #expect(read == changed)
        #expect(try f.store.uptakeCount() == 2)
    }
}
