import Foundation
import Testing

@testable import Storage

/// Receipts are evidence only from the gateway that took the message, and only for a while.
@Suite struct OutboxReceiptBindingTests {
    let t0 = OutboxFixture.t0

    func receipt(key: String?, provider: String?, gateway: String, dedupe: String, at: Double = 5) -> StoredReceipt {
        StoredReceipt(
            gateway: gateway, messageKey: key, providerID: provider, status: "failed", reasonCode: "FORGED",
            occurredAt: nil, receivedAt: t0 + at, dedupeKey: dedupe, raw: [])
    }

    @Test(arguments: StoreBackend.all) func aReceiptPushedToAnotherGatewaysEndpointSettlesNothing(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let ids = try f.queued(2, campaign: id)
        try f.claimAndSend(limit: 2, gateway: "tencent")
        try f.store.record([
            Transition(messageID: ids[0], to: .accepted, at: t0, gateway: "tencent", providerID: "sn-1"),
            Transition(messageID: ids[1], to: .ambiguous, at: t0, gateway: "tencent"),
        ])
        // Pushed to aliyun's endpoint, naming tencent's messages by our key and by provider id.
        let outcome = try f.store.recordReceipts([
            receipt(key: "c\(id)-0-sms", provider: nil, gateway: "aliyun", dedupe: "a"),
            receipt(key: nil, provider: "sn-1", gateway: "aliyun", dedupe: "b"),
            receipt(key: "c\(id)-1-sms", provider: nil, gateway: "aliyun", dedupe: "c"),
        ])
        #expect(outcome.matched == 0 && outcome.unmatched == 3)
        #expect(try f.state(ids[0]) == .accepted && f.state(ids[1]) == .ambiguous)
        // The same receipt from the right endpoint counts.
        #expect(
            try f.store.recordReceipts([receipt(key: "c\(id)-0-sms", provider: nil, gateway: "tencent", dedupe: "d")])
                .matched == 1)
        #expect(try f.state(ids[0]) == .failed)
    }

    @Test(arguments: StoreBackend.all) func aReceiptPlantedBeforeTheSendDoesNotMatchAMessageOfAnotherGatewayAndIsPruned(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let ids = try f.queued(1, campaign: id)
        // Planted in advance at one endpoint; the message later goes through another gateway.
        try f.store.recordReceipts([
            receipt(key: "c\(id)-0-sms", provider: nil, gateway: "aliyun", dedupe: "p", at: -100)
        ])
        try f.claimAndSend(limit: 1, gateway: "tencent")
        try f.store.record([
            Transition(messageID: ids[0], to: .accepted, at: t0 + 10, gateway: "tencent", providerID: "x")
        ])
        #expect(try f.state(ids[0]) == .accepted)
        // Unmatched receipts expire.
        #expect(try f.store.pruneReceipts(unmatchedBefore: t0, keep: 1000) == 1)
        #expect(try f.scalarInt("SELECT count(*) FROM receipts") == 0)
    }

    @Test(arguments: StoreBackend.all) func unmatchedReceiptsAreCappedKeepingTheNewest(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        try f.store.recordReceipts(
            (0..<50).map { receipt(key: "k\($0)", provider: nil, gateway: "g", dedupe: "d\($0)", at: Double($0)) })
        #expect(try f.store.pruneReceipts(unmatchedBefore: t0 - 1000, keep: 10) == 40)
        let oldest = try f.scalarText("SELECT min(message_key) FROM receipts WHERE dedupe_key = 'd40'")
        #expect(oldest == "k40")
        #expect(try f.scalarInt("SELECT count(*) FROM receipts") == 10)
    }

    @Test(arguments: StoreBackend.all) func campaignsDrawARandomKeySecret(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let a = try f.store.createCampaign(OutboxFixture.spec())
        let b = try f.store.createCampaign(OutboxFixture.spec())
        let first = try #require(try f.store.campaign(id: a)?.keySecret)
        let second = try #require(try f.store.campaign(id: b)?.keySecret)
        #expect(first.count == 16 && second.count == 16 && first != second)
    }
}
