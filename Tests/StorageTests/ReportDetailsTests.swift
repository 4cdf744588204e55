import Foundation
import Testing

@testable import Storage

@Suite struct ReportDetailsTests {
    @Test func latencyBucketsTakeTheirLowerBoundAndKeepEmptyOnes() {
        let buckets = LatencyBucket.histogram([0, 4.9, 5, 59.9, 60, 3600, 90_000])
        #expect(buckets.count == LatencyBucket.bounds.count)
        #expect(buckets.map(\.count) == [2, 1, 0, 1, 1, 0, 0, 0, 0, 2])
        #expect(buckets.last?.toSeconds == nil && buckets.first?.toSeconds == 5)
        #expect(LatencyBucket.histogram([]).isEmpty)
    }

    @Test func timelineWidthIsTheSmallestThatFitsAndAligned() {
        let minute: Int64 = 60_000
        #expect(ActivityTimeline.width(first: 0, last: 0) == 60)
        #expect(ActivityTimeline.width(first: 0, last: 47 * minute) == 60)
        #expect(ActivityTimeline.width(first: 0, last: 48 * minute) == 300)
        // 30 s before a minute boundary to 47 minutes after it spans 49 aligned minutes.
        #expect(ActivityTimeline.width(first: -minute / 2, last: 47 * minute) == 300)
        #expect(ActivityTimeline.width(first: 0, last: 40 * 86_400_000) == 86_400)
        #expect(Int64(-1).floorDiv(60) == -1 && Int64(-60).floorDiv(60) == -1 && Int64(59).floorDiv(60) == 0)
    }

    @Test func funnelAddsUp() {
        let funnel = CoverageFunnel(byReason: [
            .delivered: 50, .failed: 5, .awaitingReceipt: 3, .pending: 2, .cancelled: 1, .toldBefore: 10,
            .noContact: 7, .optedOut: 2,
        ])
        #expect(funnel.qualified == 80 && funnel.planned == 61 && funnel.sent == 58 && funnel.delivered == 50)
        #expect(funnel.suppressed == [.toldBefore: 10, .noContact: 7, .optedOut: 2])
        #expect(funnel.notSent == [.pending: 2, .cancelled: 1])
        #expect(funnel.undelivered == [.failed: 5, .awaitingReceipt: 3])
    }

    /// The control group is held out at planning: it is never counted as sent and not delivered.
    @Test func theControlGroupLeavesTheFunnelAtPlanning() {
        let funnel = CoverageFunnel(byReason: [.delivered: 40, .failed: 2, .controlGroup: 10, .noContact: 3])
        #expect(funnel.qualified == 55 && funnel.planned == 42 && funnel.sent == 42)
        #expect(funnel.suppressed == [.controlGroup: 10, .noContact: 3] && funnel.undelivered == [.failed: 2])
    }

    /// Per policy, an enterprise's reason folds only the messages carrying that policy.
    @Test(arguments: StoreBackend.all) func breakdownFoldsEachPolicyOnItsOwnMessages(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        try f.store.insertMessages([
            OutboxFixture.message(campaign: id, 0, channel: .sms, policies: ["a"]),
            OutboxFixture.message(
                campaign: id, 0, channel: .wechat, policies: ["a", "b"], state: .suppressed, reason: "no_contact"),
        ])
        let claimed = try f.store.claimDue(now: Date(), limit: 10)
        try f.store.record(
            claimed.map { Transition(messageID: $0.id, to: .delivered, at: Date(), gateway: "g", providerID: "x") })
        let breakdown = try f.store.coverageBreakdown(campaignID: id)
        #expect(breakdown.byPolicy["a"]?.delivered == 1)
        #expect(breakdown.byPolicy["b"]?.delivered == 0 && breakdown.byPolicy["b"]?.notReached == [.noContact: 1])
        #expect(breakdown.byRegion[""]?.qualified == 1 && breakdown.byRegion[""]?.delivered == 1)
    }
}
