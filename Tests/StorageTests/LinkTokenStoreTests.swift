import Foundation
import Storage
import Testing

/// Schema version 7: the package link token on each message, and its lookup.
@Suite struct LinkTokenStoreTests {
    @Test(arguments: StoreBackend.all) func aStoredTokenNamesItsMessage(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let store = f.store
        #expect(try #require(f.schemaVersion) >= 7)
        let id = try store.createCampaign(
            CampaignSpec(
                name: "t", policyIDs: ["a", "b"], channels: [.sms], fallback: false, startAt: Date(),
                campaignDate: "2026-12-03", policyVersions: [:], templateVersion: "t"))
        try store.insertMessages([
            NewMessage(
                campaignID: id, creditCode: "91110105MA01ABCD0X", channel: .sms, recipient: "13800138000",
                policyIDs: ["a", "b"], payload: [], idempotencyKey: "k1", notBefore: Date(), linkToken: "AbCdEfGhIj0"),
            NewMessage(
                campaignID: id, creditCode: "91110105MA01ABCD1X", channel: .sms, recipient: "13800138001",
                policyIDs: ["a"], payload: [], idempotencyKey: "k2", notBefore: Date()),
        ])
        let target = try #require(try store.linkTarget(token: "AbCdEfGhIj0"))
        #expect(target.campaignID == id && target.creditCode == "91110105MA01ABCD0X" && target.policyIDs == ["a", "b"])
        #expect(target.campaignDate == "2026-12-03" && target.messageID > 0)
        #expect(try store.linkTarget(token: "abcdefghij0") == nil)  // case matters
        #expect(try store.linkTarget(token: "") == nil)
    }
}
