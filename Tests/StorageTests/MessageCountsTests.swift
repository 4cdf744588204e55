import Foundation
import Testing

@testable import Storage

/// The message counts the triggers keep (migration 13) against the messages themselves, after a
/// workload that moves messages by every write path: planning, claims and admissions through the
/// group-commit writer, answers, receipts, a suppression, a cancel, expiry, a crash recovery, a
/// gateway pinned for reconciliation and a resend of unconfirmed messages.
@Suite struct MessageCountsTests {
    let t0 = OutboxFixture.t0

    @Test(arguments: StoreBackend.all) func theCountsMatchTheMessagesAfterAMixedWorkload(
        _ backend: StoreBackend
    ) async throws {
        let db = try TestDatabase(backend)
        let f = try OutboxFixture(db: db)
        let main = try f.runningCampaign(name: "main")
        let other = try f.runningCampaign(name: "other")
        try f.store.insertMessages(
            (0..<60).map { OutboxFixture.message(campaign: main, $0) }
                + (0..<20).map { OutboxFixture.message(campaign: other, 100 + $0, channel: .wechat) }
                + [OutboxFixture.message(campaign: main, 200, state: .suppressed, reason: "opted out")])
        try expectCountsMatch(f.store)

        // Sending through the daemon's writer: claims, admissions, the gateways' answers.
        let writer = try db.writer()
        let claimed = try await writer.claimDue(now: t0, limit: 50).filter { $0.campaignID == main }
        #expect(claimed.count >= 40)
        let sent = Array(claimed.prefix(40))
        try await writer.release(claimed.dropFirst(40).map { ClaimRelease(messageID: $0.id, due: t0) })
        for message in sent {
            #expect(
                try await writer.admit(Transition(messageID: message.id, to: .sending, at: t0, gateway: "gw"))
                    == .applied)
        }
        let at = t0.addingTimeInterval(1)
        var answers: [Transition] = []
        for (index, message) in sent.enumerated() {
            switch index % 8 {
            case 0, 1, 2, 3:
                answers.append(Transition(messageID: message.id, to: .accepted, at: at, providerID: "p\(message.id)"))
            case 4: answers.append(Transition(messageID: message.id, to: .retryWait, at: at, nextAttemptAt: at))
            case 5: answers.append(Transition(messageID: message.id, to: .failed, at: at, error: "rejected"))
            case 6: answers.append(Transition(messageID: message.id, to: .ambiguous, at: at, checkAt: at))
            default: break  // left `sending`, for the crash recovery below
            }
        }
        #expect(try await writer.submit(answers).count == answers.count)
        writer.close()
        try expectCountsMatch(f.store)

        // Receipts: delivered and failed, on accepted messages.
        let accepted = sent.enumerated().filter { $0.offset % 8 < 4 }.map(\.element)
        let receipts = accepted.prefix(12).enumerated().map { index, message in
            StoredReceipt(
                gateway: "gw", messageKey: nil, providerID: "p\(message.id)",
                status: index % 3 == 0 ? "failed" : "delivered", reasonCode: nil, occurredAt: nil,
                receivedAt: at.addingTimeInterval(1), dedupeKey: "r\(message.id)", raw: [])
        }
        #expect(try f.store.recordReceipts(receipts).matched == 12)
        // The rest of the accepted ones expire without a receipt.
        #expect(
            try f.store.expireAccepted(olderThan: at.addingTimeInterval(3600), now: at.addingTimeInterval(3600)) > 0)
        // A suppression of one waiting message's address, and a cancel of the other campaign.
        let waiting = try f.store.claimDue(now: at, limit: 100).filter { $0.campaignID == main }
        let suppressed = try #require(waiting.first)
        _ = try f.store.addSuppression(
            SuppressionRecord(target: .address(suppressed.recipient), channel: .sms, reason: "reply TD", at: at))
        try f.store.applyCampaignState(id: other, .cancelled, at: at)
        try expectCountsMatch(f.store)

        // A crash: `sending` becomes `ambiguous` without a gateway's word; one pinned, reconciled
        // as unconfirmed, then resent.
        #expect(try f.store.recoverAfterCrash(now: at.addingTimeInterval(5), node: nil).sending > 0)
        let ambiguous = try f.scalarInt("SELECT id FROM messages WHERE state = 'ambiguous' ORDER BY id LIMIT 1")
        let unconfirmed = try #require(ambiguous)
        _ = try f.store.record([Transition(messageID: unconfirmed, to: .unconfirmed, at: at.addingTimeInterval(6))])
        #expect(try f.store.resendUnconfirmed(campaignID: main, note: "checked", at: at.addingTimeInterval(7)) == 1)
        try expectCountsMatch(f.store)
        #expect(try f.scalarInt("SELECT count(DISTINCT state) FROM messages") ?? 0 >= 8)
    }

    /// The counts every reader takes from `message_counts` equal the GROUP BY over `messages`.
    private func expectCountsMatch(_ store: any PolicyPushStore) throws {
        var byKey: [MessageCount: Int] = [:]
        var byCampaign: [Int64: [MessageState: Int]] = [:]
        for campaign in try store.campaigns() {
            try store.forEachMessage(campaignID: campaign.id, withEvents: false) { message, _ in
                byKey[
                    MessageCount(state: message.state, channel: message.channel, gateway: message.gateway, count: 0),
                    default: 0] += 1
                byCampaign[campaign.id, default: [:]][message.state, default: 0] += 1
            }
            #expect(campaign.counts == byCampaign[campaign.id, default: [:]], "campaign \(campaign.id)")
            #expect(try store.campaignCounts(id: campaign.id) == byCampaign[campaign.id, default: [:]])
        }
        let expected = Set(
            byKey.map { key, n in MessageCount(state: key.state, channel: key.channel, gateway: key.gateway, count: n) }
        )
        #expect(Set(try store.messageCounts()) == expected)
        var depth: [MessageState: Int] = [:]
        for count in expected { depth[count.state, default: 0] += count.count }
        #expect(try store.queueDepth() == depth)
        // No key's count below zero, however its slots share it.
        let negative = """
            SELECT count(*) FROM (SELECT sum(n) AS total FROM message_counts
            GROUP BY campaign_id, state, channel, gateway) AS k WHERE total < 0
            """
        #expect(try TestSQL.scalarInt(store, negative) == 0)
    }
}
