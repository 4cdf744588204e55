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

    @Test(arguments: StoreBackend.all) func opensFeedbackCoverageAndPinsReadTheSameOnEitherBackend(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let t0 = OutboxFixture.t0
        let id = try f.runningCampaign()
        try f.queued(3, campaign: id)
        let sent = try f.claimAndSend(now: t0, limit: 3)
        try f.store.record([
            Transition(messageID: sent[0].id, to: .accepted, at: t0 + 1, gateway: "gw"),
            Transition(messageID: sent[1].id, to: .accepted, at: t0 + 1, gateway: "gw"),
        ])
        try f.store.record([
            Transition(messageID: sent[0].id, to: .delivered, at: t0 + 2),
            Transition(messageID: sent[1].id, to: .delivered, at: t0 + 2),
        ])
        #expect(try f.store.recordOpen(messageID: sent[0].id, campaignID: id, client: .wechat, at: t0 + 60))
        #expect(!(try f.store.recordOpen(messageID: sent[0].id, campaignID: id, client: .mobile, at: t0 + 90)))
        let report = try f.store.openReport(campaignID: id)
        #expect(report.all.delivered == 2 && report.all.opened == 1 && report.views == 2)
        #expect(report.byClientClass == [.wechat: 1])
        let feedback = PageFeedback(kind: .pageNotUseful, text: "没用", raw: "kind=not_useful")
        #expect(try f.store.recordPageFeedback(messageID: sent[0].id, feedback, at: t0 + 120))
        #expect(try f.store.replies(campaignID: id).map(\.kind) == [.pageNotUseful])

        let coverage = try f.store.coverage(campaignID: id)
        #expect(coverage.qualified == 3)
        #expect(try f.store.campaignCounts(id: id) == [.delivered: 2, .sending: 1])

        // The message still `sending` is interrupted by a restart, then resent on its gateway.
        #expect(try f.store.recoverAfterCrash(now: t0 + 300).sending == 1)
        #expect(try f.store.scheduleAmbiguousResend(gateway: "gw", at: t0 + 400) == 1)
        #expect(try f.store.scheduleAmbiguousResend(gateway: "other", at: t0 + 400) == 0)
        #expect(try f.store.pinGatewayless(channel: .sms, to: "gw", at: t0 + 400) == 0)
        #expect(try f.store.queueDepth()[.ambiguous] == 1)
    }

    @Test(arguments: StoreBackend.all) func enterprisesAreLookedUpManyAtOnce(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        _ = try f.store.importing(file: "a.csv", replace: false) { try $0(Fixtures.generated(5)) }
        let codes = Fixtures.generated(5).map(\.creditCode)
        let found = try f.store.enterprises(creditCodes: [codes[1], codes[3], "9100000000000000XX", codes[1]])
        #expect(found.keys.sorted() == [codes[1], codes[3]])
        #expect(found[codes[3]] == Fixtures.generated(5)[3])
    }
}
