import Foundation
import Registry
import Testing

@testable import Storage

@Suite struct OutboxRepliesTests {
    let t0 = OutboxFixture.t0

    func reply(
        _ text: String, from sender: String, key: String, optOut: Bool, kind: ReplyKind = .smsReply,
        gateway: String = "ali"
    ) -> NewReply {
        NewReply(
            gateway: gateway, kind: kind, sender: sender, text: text, sentAt: t0, dedupeKey: key, raw: "[{\"raw\":1}]",
            optOut: optOut)
    }

    /// An opt-out that arrives while messages to that number wait: they never leave; one already
    /// out is untouched; another number's messages go on.
    @Test(arguments: StoreBackend.all) func anOptOutSuppressesWhatIsStillQueuedToThatNumber(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let first = try f.runningCampaign()
        let ids = try f.queued(3, campaign: first)
        let sent = try f.claimAndSend(limit: 1)  // message 0 is out
        try f.store.record([Transition(messageID: sent[0].id, to: .accepted, at: t0, gateway: "gw")])
        // A second campaign queued another message to number 0 and one to number 1.
        let second = try f.runningCampaign(name: "autumn")
        try f.store.insertMessages([
            OutboxFixture.message(campaign: second, 0), OutboxFixture.message(campaign: second, 1),
        ])

        let number0 = OutboxFixture.message(campaign: first, 0).recipient
        let outcome = try f.store.recordReplies([reply("T", from: number0, key: "aliyun:1", optOut: true)], at: t0 + 5)
        #expect(outcome.stored == 1 && outcome.optOuts == 1 && outcome.messagesSuppressed == 1)

        #expect(try f.state(ids[0]) == .accepted, "already out: untouched")
        #expect(try f.state(ids[1]) == .queued && f.state(ids[2]) == .queued, "other numbers go on")
        var secondStates: [String: (MessageState, String?)] = [:]
        try f.store.forEachMessage(campaignID: second, withEvents: false) { m, _ in
            secondStates[m.recipient] = (m.state, m.suppressionReason)
        }
        #expect(secondStates[number0]?.0 == .suppressed && secondStates[number0]?.1 == "opted_out_reply")
        #expect(secondStates[OutboxFixture.message(campaign: first, 1).recipient]?.0 == .queued)

        // The evidence: the suppression names the reply, the reply the campaign it answers.
        let suppression = try #require(try f.store.suppressionList().first)
        #expect(suppression.target == .address(number0) && suppression.channel == .sms)
        #expect(suppression.reason == "opted_out_reply" && suppression.replyID != nil)
        let stored = try f.store.replies(campaignID: nil)
        #expect(stored.count == 1 && stored[0].id == suppression.replyID)
        #expect(stored[0].campaignID == first && stored[0].messageID == ids[0], "attached to the message that went out")
        #expect(try f.store.suppressedAddresses() == [.sms: [number0]])
    }

    /// A message the dispatcher holds but no gateway has admitted yet: the opt-out wins, and the
    /// admission's `sending` is refused, so the request never leaves.
    @Test(arguments: StoreBackend.all) func anOptOutWinsOverAClaimNotYetAdmitted(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let ids = try f.queued(1, campaign: id)
        let claimed = try f.store.claimDue(now: t0, limit: 1)
        #expect(claimed.map(\.id) == ids)
        let outcome = try f.store.recordReplies(
            [reply("退订", from: claimed[0].recipient, key: "aliyun:3", optOut: true)], at: t0 + 1)
        #expect(outcome.messagesSuppressed == 1)
        let applied = try f.store.record([
            Transition(messageID: ids[0], to: .sending, at: t0 + 2, gateway: "gw", countsAsAttempt: false)
        ])
        #expect(applied.isEmpty)
        #expect(try f.state(ids[0]) == .suppressed)
    }

    @Test(arguments: StoreBackend.all) func aRepushIsStoredOnceAndOtherRepliesAreKeptForReading(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        try f.queued(2, campaign: id)
        try f.claimAndSend(limit: 2)
        let number1 = OutboxFixture.message(campaign: id, 1).recipient
        let question = reply("请问怎么申报？", from: number1, key: "aliyun:7", optOut: false)
        #expect(try f.store.recordReplies([question], at: t0).stored == 1)
        let again = try f.store.recordReplies([question, question], at: t0 + 60)
        #expect(again.stored == 0 && again.duplicates == 2)
        // The same event key on another gateway is another event.
        #expect(
            try f.store.recordReplies(
                [reply("T", from: number1, key: "aliyun:7", optOut: false, gateway: "tc")], at: t0
            ).stored == 1)
        let replies = try f.store.replies(campaignID: id)
        #expect(replies.map(\.text) == ["请问怎么申报？", "T"])
        #expect(replies.allSatisfy { $0.creditCode == OutboxFixture.message(campaign: id, 1).creditCode })
        #expect(try f.store.suppressionList().isEmpty)
        // A reply from a number no message went to is kept, unattached.
        _ = try f.store.recordReplies([reply("hi", from: "13900000000", key: "aliyun:8", optOut: false)], at: t0)
        #expect(try f.store.replies(campaignID: nil).last?.campaignID == nil)
    }

    @Test(arguments: StoreBackend.all) func aWeChatUnsubscribeSilencesOnlyWeChat(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let wechat = NewMessage(
            campaignID: id, creditCode: "C1", channel: .wechat, recipient: "oOPENID1", policyIDs: ["p"], payload: [],
            idempotencyKey: "w1", notBefore: t0)
        let sms = NewMessage(
            campaignID: id, creditCode: "C1", channel: .sms, recipient: "13800000001", policyIDs: ["p"], payload: [],
            idempotencyKey: "s1", notBefore: t0)
        try f.store.insertMessages([wechat, sms])
        let outcome = try f.store.recordReplies(
            [reply("", from: "oOPENID1", key: "wechat:u", optOut: true, kind: .wechatUnsubscribe, gateway: "wx")],
            at: t0)
        #expect(outcome.messagesSuppressed == 1)
        var states: [Channel?: MessageState] = [:]
        try f.store.forEachMessage(campaignID: id, withEvents: false) { m, _ in states[m.channel] = m.state }
        #expect(states == [.wechat: .suppressed, .sms: .queued])
        #expect(try f.store.suppressionList().first?.reason == "wechat_unsubscribe")
    }

    /// A WeChat message whose fallback SMS is created after the number opted out: the SMS is suppressed.
    @Test(arguments: StoreBackend.all) func aFallbackToAnOptedOutNumberIsSuppressed(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        _ = try f.store.recordReplies([reply("TD", from: "13800000009", key: "aliyun:9", optOut: true)], at: t0)
        let wechat = NewMessage(
            campaignID: id, creditCode: "C9", channel: .wechat, recipient: "oOPENID9", policyIDs: ["p"], payload: [],
            idempotencyKey: "w9", notBefore: t0)
        try f.store.insertMessages([wechat])
        let claimed = try f.claimAndSend(limit: 1)
        let fallback = NewMessage(
            campaignID: id, creditCode: "C9", channel: .sms, recipient: "13800000009", policyIDs: ["p"], payload: [],
            idempotencyKey: "w9-sms", notBefore: t0)
        var failed = Transition(messageID: claimed[0].id, to: .failed, at: t0, gateway: "gw", error: "user block")
        failed.followUp = fallback
        try f.store.record([failed])
        var sms: OutboxMessage?
        try f.store.forEachMessage(campaignID: id, withEvents: false) { m, _ in if m.channel == .sms { sms = m } }
        #expect(sms?.state == .suppressed && sms?.suppressionReason == "opted_out_reply")
    }

    @Test(arguments: StoreBackend.all) func operatorsAddAndRemoveSuppressions(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        try f.queued(2, campaign: id)
        let number = OutboxFixture.message(campaign: id, 0).recipient
        let record = SuppressionRecord(
            target: .address(number), channel: .sms, reason: "operator", operatorName: "li", note: "complaint", at: t0)
        let added = try f.store.addSuppression(record)
        #expect(added.added && added.messagesSuppressed == 1)
        #expect(try f.store.addSuppression(record).added == false)
        let enterprise = SuppressionRecord(target: .enterprise("C1"), channel: .wechat, reason: "operator", at: t0 + 1)
        #expect(try f.store.addSuppression(enterprise) == (true, 0))
        #expect(try f.store.suppressions(creditCodes: ["C1"]) == ["C1": [.wechat]])
        #expect(try f.store.suppressionList().map(\.target) == [.enterprise("C1"), .address(number)])
        #expect(try f.store.removeSuppression(.address(number), channel: .sms)?.note == "complaint")
        #expect(try f.store.removeSuppression(.address(number), channel: .sms) == nil)
        #expect(try f.store.suppressedAddresses().isEmpty)
    }
}
