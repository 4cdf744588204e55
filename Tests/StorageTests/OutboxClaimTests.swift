import Foundation
import Testing

@testable import Storage

@Suite struct OutboxClaimTests {
    @Test(arguments: StoreBackend.all) func aClaimSaysWhichStateTheMessageCameFrom(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let campaign = try f.runningCampaign()
        let ids = try f.queued(2, campaign: campaign)
        let t = OutboxFixture.t0
        // The first send timed out at gateway "gen", which deduplicates: a resend is scheduled.
        try f.claimAndSend(now: t, limit: 1, gateway: "gen")
        try f.store.record([
            Transition(messageID: ids[0], to: .ambiguous, at: t, gateway: "gen", error: "timeout", nextAttemptAt: t)
        ])
        let claimed = try f.store.claimDue(now: t.addingTimeInterval(1), limit: 10)
        let resend = try #require(claimed.first { $0.id == ids[0] })
        #expect(resend.claimedFrom == .ambiguous)
        #expect(resend.gateway == "gen")
        #expect(resend.state == .ambiguous)
        #expect(claimed.first { $0.id == ids[1] }?.claimedFrom == .queued)
    }
}

@Suite struct OutboxMessageCountTests {
    @Test(arguments: StoreBackend.all) func countsByStateChannelAndGateway(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let campaign = try f.runningCampaign()
        let ids = try f.queued(3, campaign: campaign)
        let t = OutboxFixture.t0
        _ = try f.store.claimDue(now: t, limit: 1)
        try f.store.record([Transition(messageID: ids[0], to: .accepted, at: t, gateway: "ali", providerID: "p1")])
        let counts = try f.store.messageCounts()
        #expect(counts.contains(MessageCount(state: .accepted, channel: .sms, gateway: "ali", count: 1)))
        #expect(counts.contains(MessageCount(state: .queued, channel: .sms, gateway: nil, count: 2)))
    }
}
