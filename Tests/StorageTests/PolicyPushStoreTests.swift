import Foundation
import Registry
import Storage
import Testing

/// The store as the daemon and the CLI see it: opened through `Store.open`, used only through
/// `PolicyPushStore`. `exercise` names no backend, so a second one can be held to the same story.
@Suite struct PolicyPushStoreTests {
    static let t0 = Date(timeIntervalSince1970: 1_780_000_000)
    static let codeA = "91440300MA5FXXXX1A"
    static let codeB = "92440300MA5FYYYY2B"

    @Test(arguments: StoreBackend.all) func aStoreOpenedThroughTheOpenerKeepsTheWholeStory(
        _ backend: StoreBackend
    ) throws {
        let db = try TestDatabase(backend)
        let store: any PolicyPushStore = try Store.open(url: db.location)
        try Self.exercise(store)
    }

    @Test(arguments: StoreBackend.all) func aReadOnlyStoreSeesWhatAnotherConnectionWrote(
        _ backend: StoreBackend
    ) throws {
        let db = try TestDatabase(backend)
        try Self.exercise(try Store.open(url: db.location))
        let reader = try Store.open(url: db.location, readOnly: true)
        #expect(try reader.enterpriseCount() == 2)
        #expect(try reader.campaigns().map(\.spec.name) == ["boundary"])
    }

    /// Enterprises in, a campaign planned, one message sent and delivered, one suppressed before
    /// a channel was chosen; then what the planner, the daemon and the reports read back.
    static func exercise(_ store: some PolicyPushStore) throws {
        let enterprises = [
            Enterprise(creditCode: codeA, name: "甲", mobile: "13812341234"), Enterprise(creditCode: codeB, name: "乙"),
        ]
        let imported = try store.importEnterprises(file: "boundary.csv", replace: false) { sink in
            try sink(enterprises)
            return RejectedRows()
        }
        #expect(imported == ImportCounts(inserted: 2))
        #expect(try store.enterpriseCount() == 2)
        #expect(try store.enterprise(creditCode: codeB)?.name == "乙")
        var codes: [String] = []
        try store.forEachEnterprise { codes.append($0.creditCode) }
        #expect(codes == [codeA, codeB])

        let id = try store.createCampaign(
            CampaignSpec(
                name: "boundary", policyIDs: ["p"], channels: [.sms], fallback: false, startAt: t0,
                campaignDate: "2026-06-01", policyVersions: ["p": "v1"], templateVersion: "t1"))
        #expect(try store.campaign(id: id)?.state == .pending)
        #expect(try store.campaign(id: id)?.spec.channels == [.sms])
        try store.applyCampaignState(id: id, .planning, at: t0)
        try store.applyCampaignState(id: id, .running, at: t0)
        let sms = NewMessage(
            campaignID: id, creditCode: codeA, channel: .sms, recipient: "13812341234", policyIDs: ["p"],
            payload: [1, 2, 3], idempotencyKey: "k-sms", notBefore: t0)
        let none = NewMessage(
            campaignID: id, creditCode: codeB, channel: nil, recipient: "", policyIDs: ["p"], payload: [],
            idempotencyKey: "k-none", state: .suppressed, suppressionReason: "no_contact", notBefore: t0)
        #expect(try store.insertMessages([sms, none]) == 2)
        #expect(try store.insertMessages([sms]) == 0)

        let claimed = try store.claimDue(now: t0, limit: 10)
        #expect(claimed.map(\.idempotencyKey) == ["k-sms"])
        let message = try #require(claimed.first)
        #expect(message.channel == .sms)
        #expect(message.payload == [1, 2, 3])
        let applied = try store.record([
            Transition(messageID: message.id, to: .sending, at: t0 + 1, gateway: "ali"),
            Transition(
                messageID: message.id, to: .accepted, at: t0 + 2, gateway: "ali", providerID: "biz-1",
                countsAsAttempt: false),
        ])
        #expect(applied.count == 2)
        let outcome = try store.recordReceipts([
            StoredReceipt(
                gateway: "ali", messageKey: "k-sms", providerID: "biz-1", status: "delivered", reasonCode: nil,
                occurredAt: t0 + 3, receivedAt: t0 + 4, dedupeKey: "r1", raw: [])
        ])
        #expect(outcome == ReceiptOutcome(matched: 1))

        try store.addSuppression(creditCode: codeB, channel: .wechat, source: "operator", at: t0)
        #expect(try store.suppressions(creditCodes: [codeA, codeB]) == [codeB: [.wechat]])
        #expect(try store.contacts(creditCodes: [codeA, codeB], since: t0)[codeA]?.map(\.channel) == [.sms])

        let report = try store.report(campaignID: id)
        #expect(report.total == 2)
        #expect(report.byChannel == [.sms: [.delivered: 1], nil: [.suppressed: 1]])
        #expect(report.byGateway == ["ali": [.delivered: 1]])
        #expect(try store.campaignCounts(id: id) == [.delivered: 1, .suppressed: 1])
        #expect(
            Set(try store.messageCounts()) == [
                MessageCount(state: .delivered, channel: .sms, gateway: "ali", count: 1),
                MessageCount(state: .suppressed, channel: nil, gateway: nil, count: 1),
            ])
        var history: [String: [MessageState]] = [:]
        try store.forEachMessage(campaignID: id) { message, events in
            history[message.idempotencyKey] = events?.map(\.to)
        }
        #expect(history == ["k-sms": [.sending, .accepted, .delivered], "k-none": []])
    }
}
