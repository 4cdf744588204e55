import Foundation
import Registry
import Testing

@testable import Storage

@Suite struct CoverageTests {
    /// One message of an enterprise, as the fold sees it.
    struct M: Equatable {
        var state: MessageState
        var channel: Channel? = .sms
        var reason: String? = nil
        var error: String? = nil
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var messages: [M]
        var reason: ReachReason
        var detail: String? = nil
        var testDescription: String { "\(messages.map { "\($0.state.rawValue)/\($0.reason ?? "-")" }) → \(reason)" }
    }

    static let table: [Case] = [
        Case(messages: [M(state: .delivered)], reason: .delivered),
        // A WeChat message failed, its SMS fallback arrived: reached.
        Case(
            messages: [M(state: .failed, channel: .wechat, error: "43004"), M(state: .delivered)], reason: .delivered),
        Case(messages: [M(state: .failed, channel: .wechat, error: "43004"), M(state: .queued)], reason: .pending),
        Case(messages: [M(state: .accepted)], reason: .awaitingReceipt),
        Case(messages: [M(state: .failed, channel: .wechat), M(state: .accepted)], reason: .awaitingReceipt),
        Case(messages: [M(state: .ambiguous)], reason: .pending),
        Case(messages: [M(state: .unsent)], reason: .pending),
        Case(messages: [M(state: .retryWait)], reason: .pending),
        Case(messages: [M(state: .sending)], reason: .pending),
        Case(messages: [M(state: .unconfirmed)], reason: .unconfirmed),
        Case(messages: [M(state: .failed, channel: .wechat), M(state: .unconfirmed)], reason: .unconfirmed),
        Case(messages: [M(state: .expired)], reason: .expired),
        Case(messages: [M(state: .failed, channel: .wechat), M(state: .expired)], reason: .expired),
        Case(
            messages: [M(state: .failed, error: "isv.MOBILE_NUMBER_ILLEGAL")], reason: .failed,
            detail: "isv.MOBILE_NUMBER_ILLEGAL"),
        // Both channels failed: the later (the fallback's) error explains it.
        Case(
            messages: [M(state: .failed, channel: .wechat, error: "43004"), M(state: .failed, error: "E1")],
            reason: .failed, detail: "E1"),
        // The fallback SMS was suppressed (the number opted out): the WeChat failure is what happened.
        Case(
            messages: [
                M(state: .failed, channel: .wechat, error: "43004"), M(state: .suppressed, reason: "opted_out_reply"),
            ],
            reason: .failed, detail: "43004"),
        Case(messages: [M(state: .cancelled)], reason: .cancelled),
        Case(
            messages: [M(state: .suppressed, channel: nil, reason: "duplicate")], reason: .toldBefore,
            detail: "duplicate"),
        Case(
            messages: [M(state: .suppressed, channel: nil, reason: "no_contact")], reason: .noContact,
            detail: "no_contact"),
        Case(
            messages: [M(state: .suppressed, channel: nil, reason: "opted_out")], reason: .optedOut, detail: "opted_out"
        ),
        Case(
            messages: [M(state: .suppressed, reason: "opted_out_reply")], reason: .optedOut, detail: "opted_out_reply"),
        Case(
            messages: [M(state: .suppressed, channel: .wechat, reason: "wechat_unsubscribe")], reason: .optedOut,
            detail: "wechat_unsubscribe"),
        Case(messages: [M(state: .suppressed, reason: "operator")], reason: .optedOut, detail: "operator"),
        Case(
            messages: [M(state: .suppressed, channel: nil, reason: "frequency_cap")], reason: .frequencyCap,
            detail: "frequency_cap"),
        Case(
            messages: [M(state: .suppressed, channel: nil, reason: "no_policy_for_channel")],
            reason: .noPolicyForChannel, detail: "no_policy_for_channel"),
        Case(messages: [M(state: .suppressed, reason: "campaign_max")], reason: .campaignMax, detail: "campaign_max"),
        Case(
            messages: [M(state: .suppressed, reason: "something_new")], reason: .otherSuppression,
            detail: "something_new"),
    ]

    @Test(arguments: table) func anEnterprisesReasonIsItsMostAdvancedMessage(_ c: Case) {
        for order in [c.messages, c.messages.reversed()] {
            var reach = EnterpriseReach()
            for m in order {
                reach.add(
                    state: m.state, channel: m.channel, recipient: m.channel == nil ? "" : "13800000000",
                    policyIDs: ["p"], lastError: m.error, suppressionReason: m.reason)
            }
            #expect(reach.reason == c.reason)
            // The detail is the later message's where two share an outcome, so only id order fixes it.
            if order == c.messages { #expect(reach.detail == c.detail) }
        }
    }

    @Test func countsAddUpAndSeparateMissesFromTheRest() {
        var coverage = Coverage()
        let states: [(String, MessageState, String?)] = [
            ("A", .delivered, nil), ("B", .accepted, nil), ("C", .queued, nil), ("D", .suppressed, "duplicate"),
            ("E", .failed, nil), ("F", .suppressed, "no_contact"), ("G", .suppressed, "opted_out"), ("A", .failed, nil),
        ]
        for (code, state, reason) in states {
            coverage.add(
                creditCode: code, state: state, channel: .sms, recipient: "13800000000", policyIDs: ["p"],
                lastError: nil,
                suppressionReason: reason)
        }
        let counts = coverage.counts
        #expect(counts.qualified == 7 && counts.delivered == 1 && counts.toldBefore == 1 && counts.inFlight == 2)
        #expect(counts.notReached == [.failed: 1, .noContact: 1, .optedOut: 1] && counts.notReachedTotal == 3)
        #expect(counts.qualified == counts.delivered + counts.toldBefore + counts.inFlight + counts.notReachedTotal)
    }

    @Test func howAnEnterpriseOptedOut() {
        let t = Date(timeIntervalSince1970: 1_780_000_000)
        let e = Enterprise(
            creditCode: "C1", name: "n", mobile: "13812345678", wechatOpenID: "oABCDEFGHIJ", smsOptOut: true,
            wechatOptOut: true)
        // Nothing in the store: the registry flags.
        #expect(
            OptOut.resolve(channels: [.wechat, .sms], enterprise: e, suppressions: SuppressionIndex([]))
                == [OptOut(channel: .wechat, how: "registry_flag"), OptOut(channel: .sms, how: "registry_flag")])
        // A reply from its number, an operator's suppression of the enterprise on WeChat.
        let index = SuppressionIndex([
            SuppressionRecord(target: .address("13812345678"), channel: .sms, reason: "opted_out_reply", at: t),
            SuppressionRecord(
                target: .enterprise("C1"), channel: .wechat, reason: "operator", operatorName: "li",
                note: "asked by phone",
                at: t),
        ])
        let resolved = OptOut.resolve(channels: [.wechat, .sms], enterprise: e, suppressions: index)
        #expect(
            resolved == [
                OptOut(channel: .wechat, how: "operator", note: "asked by phone", at: t),
                OptOut(channel: .sms, how: "opted_out_reply", at: t),
            ])
        #expect(resolved.map(\.summary) == ["wechat operator (asked by phone)", "sms opted_out_reply"])
        // A channel it has no flag and no suppression on says nothing.
        var clear = e
        clear.smsOptOut = false
        #expect(OptOut.resolve(channels: [.sms], enterprise: clear, suppressions: SuppressionIndex([])).isEmpty)
    }

    @Test func followUpOrderIsReasonThenRegionThenCode() {
        func entry(_ code: String, _ reason: ReachReason, _ region: String?) -> UnreachedEntry {
            UnreachedEntry(
                creditCode: code, name: nil, region: region, reason: reason, detail: nil, policyIDs: [],
                maskedMobile: nil, maskedOpenID: nil)
        }
        let entries = [
            entry("9", .toldBefore, "a"), entry("8", .pending, "a"), entry("7", .noContact, nil),
            entry("6", .noContact, "b"), entry("5", .noContact, "a"), entry("4", .noContact, "a"),
            entry("3", .optedOut, "a"), entry("2", .expired, "z"), entry("1", .failed, "z"),
        ]
        #expect(
            entries.sorted(by: UnreachedEntry.followUpOrder).map(\.creditCode) == [
                "1", "2", "4", "5", "6", "7", "3", "8", "9",
            ])
    }
}

@Suite struct UnreachedStoreTests {
    let t0 = OutboxFixture.t0

    /// Six enterprises in the registry, one campaign: each left somewhere else.
    @Test(arguments: StoreBackend.all) func unreachedListsEveryMissWithItsDetailsAgainstTheRegistry(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        var registry = Fixtures.generated(7)
        let regions = ["南山", "福田", "南山", "宝安", "福田", "南山", "福田"]
        for i in registry.indices {
            registry[i].region = regions[i]
            registry[i].mobile = "1381234\(String(format: "%04d", i))"
        }
        registry[3].mobile = nil  // no contact
        registry[4].smsOptOut = true  // opted out by the registry flag
        _ = try f.store.importing(file: "r.csv", replace: false) { try $0(registry) }
        let id = try f.runningCampaign()
        func suppressed(_ n: Int, _ reason: String) -> NewMessage {
            var m = OutboxFixture.message(campaign: id, n, state: .suppressed, reason: reason)
            m.channel = nil
            m.recipient = ""
            m.idempotencyKey = "c\(id)-\(n)-none"
            m.policyIDs = ["vat-small", "rd-plus"]
            return m
        }
        // 0 delivered, 1 failed, 2 opted out by a reply, 3 no contact, 4 registry flag, 5 told before, 6 pending.
        try f.store.insertMessages([
            OutboxFixture.message(campaign: id, 0), OutboxFixture.message(campaign: id, 1),
            suppressed(2, "opted_out"), suppressed(3, "no_contact"), suppressed(4, "opted_out"),
            suppressed(5, "duplicate"), OutboxFixture.message(campaign: id, 6, notBefore: t0 + 3600),
        ])
        _ = try f.store.addSuppression(
            SuppressionRecord(target: .address(registry[2].mobile!), channel: .sms, reason: "opted_out_reply", at: t0))
        let sent = Dictionary(uniqueKeysWithValues: try f.claimAndSend(limit: 2).map { ($0.creditCode, $0.id) })
        try f.store.record([
            Transition(
                messageID: try #require(sent[registry[0].creditCode]), to: .delivered, at: t0 + 1, gateway: "gw"),
            Transition(
                messageID: try #require(sent[registry[1].creditCode]), to: .failed, at: t0 + 1, gateway: "gw",
                error: "isv.BUSINESS_LIMIT_CONTROL"),
        ])

        let (coverage, entries) = try f.store.unreached(campaignID: id, channels: [.sms])
        let counts = coverage.counts
        #expect(counts.qualified == 7 && counts.delivered == 1 && counts.toldBefore == 1 && counts.inFlight == 1)
        #expect(counts.notReached == [.failed: 1, .optedOut: 2, .noContact: 1])

        let code = { (n: Int) in registry[n].creditCode }
        #expect(entries.map(\.creditCode) == [code(1), code(3), code(2), code(4), code(6), code(5)])
        #expect(entries.map(\.reason) == [.failed, .noContact, .optedOut, .optedOut, .pending, .toldBefore])
        #expect(entries[0].detail == "sms: isv.BUSINESS_LIMIT_CONTROL" && entries[0].policyIDs == ["vat-small"])
        #expect(entries[0].name == "企业1" && entries[0].region == "福田" && entries[0].maskedMobile == "138****0001")
        #expect(entries[1].maskedMobile == nil && entries[1].detail == nil)
        #expect(entries[2].optOuts.map(\.how) == ["opted_out_reply"] && entries[2].detail == "sms opted_out_reply")
        #expect(entries[2].policyIDs == ["vat-small", "rd-plus"])
        #expect(entries[3].optOuts.map(\.how) == ["registry_flag"] && entries[3].region == "福田")
        #expect(!entries.contains { $0.creditCode == code(0) }, "delivered")
    }

    @Test(arguments: StoreBackend.all) func anEnterpriseGoneFromTheRegistryIsStillListedWithTheAddressItsMessageUsed(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        try f.store.insertMessages([OutboxFixture.message(campaign: id, 9)])
        let sent = try f.claimAndSend(limit: 1)
        try f.store.record([Transition(messageID: sent[0].id, to: .failed, at: t0 + 1, gateway: "gw", error: "E")])
        let (_, entries) = try f.store.unreached(campaignID: id, channels: [.sms])
        #expect(entries.count == 1 && entries[0].name == nil && entries[0].region == nil)
        #expect(entries[0].maskedMobile == "138****0009")
    }
}
