import Foundation
import Testing

@testable import Storage

@Suite struct OutboxStoreTests {
    let t0 = OutboxFixture.t0

    @Test(arguments: StoreBackend.all) func createsAndReadsCampaigns(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let id = try f.store.createCampaign(OutboxFixture.spec())
        let record = try #require(try f.store.campaign(id: id))
        #expect(record.spec == OutboxFixture.spec())
        #expect(record.state == .pending)
        #expect(record.requestedState == nil)
        #expect(record.counts.isEmpty)
        #expect(try f.store.campaigns().map(\.id) == [id])
        #expect(try f.store.campaign(id: id + 1) == nil)
        #expect(f.schemaVersion == Migration.latestVersion)
    }

    @Test(arguments: StoreBackend.all) func requestsAreValidatedAndAppliedByTheDaemon(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        #expect(try f.store.campaign(id: id)?.plannedAt == t0)

        try f.store.requestCampaign(id: id, .paused)
        #expect(try f.store.campaign(id: id)?.requestedState == .paused)
        try f.store.applyCampaignState(id: id, .paused, at: t0)
        var record = try #require(try f.store.campaign(id: id))
        #expect(record.state == .paused && record.requestedState == nil)

        try f.store.requestCampaign(id: id, .running)
        try f.store.applyCampaignState(id: id, .running, at: t0)
        try f.store.applyCampaignState(id: id, .completed, at: t0 + 5)
        record = try #require(try f.store.campaign(id: id))
        #expect(record.state == .completed && record.finishedAt == t0 + 5)

        #expect(throws: StorageError.self) { try f.store.requestCampaign(id: id, .running) }
        do {
            try f.store.requestCampaign(id: id, .cancelled)
            Issue.record("cancelling a completed campaign was accepted")
        } catch let error as StorageError {
            #expect(error.code == .invalidTransition)
        }
        do {
            try f.store.requestCampaign(id: 99, .paused)
            Issue.record("an unknown campaign was accepted")
        } catch let error as StorageError {
            #expect(error.code == .notFound)
        }
        #expect(throws: StorageError.self) { try f.store.applyCampaignState(id: id, .running, at: t0) }
    }

    @Test(arguments: StoreBackend.all) func cancellingMarksUnsentMessagesCancelledInTheSameTransaction(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let ids = try f.queued(5, campaign: id)
        let claimed = try f.claimAndSend(limit: 2)
        try f.store.record([
            Transition(messageID: claimed[0].id, to: .accepted, at: t0, gateway: "sms", providerID: "p0")
        ])
        try f.store.requestCampaign(id: id, .cancelled)
        let cancelled = try f.store.applyCampaignState(id: id, .cancelled, at: t0 + 1)
        #expect(cancelled == 3)
        let record = try #require(try f.store.campaign(id: id))
        #expect(record.state == .cancelled && record.requestedState == nil)
        #expect(record.counts == [.cancelled: 3, .accepted: 1, .sending: 1])
        #expect(try f.state(ids[4]) == .cancelled)
        let events = "SELECT count(*) FROM message_events WHERE to_state = 'cancelled'"
        #expect(try f.scalarInt(events) == 3)
    }

    @Test(arguments: StoreBackend.all) func insertingTheSamePlanTwiceIsIdempotent(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let batch = (0..<10).map { OutboxFixture.message(campaign: id, $0) }
        #expect(try f.store.insertMessages(batch) == 10)
        #expect(try f.store.insertMessages(batch + [OutboxFixture.message(campaign: id, 10)]) == 1)
        #expect(try f.store.campaignCounts(id: id) == [.queued: 11])
        #expect(throws: StorageError.self) {
            try f.store.insertMessages([OutboxFixture.message(campaign: id, 20, policies: ["a,b"])])
        }
    }

    @Test(arguments: StoreBackend.all) func claimsOnlyDueMessagesOfRunningCampaignsIntoMemory(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let running = try f.runningCampaign()
        let pending = try f.store.createCampaign(OutboxFixture.spec(name: "not started"))
        try f.store.insertMessages([
            OutboxFixture.message(campaign: running, 1, notBefore: t0),
            OutboxFixture.message(campaign: running, 2, notBefore: t0 + 60),
            OutboxFixture.message(campaign: running, 3, notBefore: t0 - 60),
            OutboxFixture.message(campaign: running, 4, state: .suppressed, reason: "opt-out"),
            OutboxFixture.message(campaign: pending, 5, notBefore: t0 - 60),
        ])
        let claimed = try f.store.claimDue(now: t0, limit: 10)
        #expect(claimed.map(\.idempotencyKey) == ["c\(running)-3-sms", "c\(running)-1-sms"])
        // Held in memory: the store still says queued, nothing was attempted.
        #expect(claimed.allSatisfy { $0.state == .queued && $0.claimedFrom == .queued && $0.firstAttemptAt == nil })
        #expect(try f.state(claimed[0].id) == .queued)
        #expect(claimed[0].payload == Array("{\"n\":3}".utf8) && claimed[0].policyIDs == ["vat-small"])
        #expect(try f.store.claimDue(now: t0, limit: 10).isEmpty)
        #expect(try f.store.claimDue(now: t0 + 60, limit: 10).map(\.idempotencyKey) == ["c\(running)-2-sms"])
        // No event for a claim: nothing happened to the message yet.
        #expect(try f.scalarInt("SELECT count(*) FROM message_events") == 0)

        try f.store.record([
            Transition(messageID: claimed[0].id, to: .sending, at: t0, gateway: "gw", countsAsAttempt: false)
        ])
        try f.store.applyCampaignState(id: running, .paused, at: t0)
        try f.store.record([Transition(messageID: claimed[0].id, to: .retryWait, at: t0, nextAttemptAt: t0 + 5)])
        #expect(try f.store.claimDue(now: t0 + 10, limit: 10).isEmpty)
        try f.store.applyCampaignState(id: running, .running, at: t0)
        let retried = try f.store.claimDue(now: t0 + 10, limit: 10)
        #expect(retried.map(\.id) == [claimed[0].id])
        #expect(retried[0].attempts == 1 && retried[0].firstAttemptAt == t0)
    }

    @Test(arguments: StoreBackend.all) func transitionsNeverMoveBackwardsAndAreRecordedAsEvents(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let message = try f.queued(1, campaign: id)[0]
        try f.claimAndSend(limit: 1)
        let applied = try f.store.record([
            Transition(messageID: message, to: .accepted, at: t0 + 1, gateway: "aliyun", providerID: "biz-1"),
            Transition(messageID: message, to: .sending, at: t0 + 2),
            Transition(messageID: message, to: .accepted, at: t0 + 3),
            Transition(messageID: message, to: .retryWait, at: t0 + 3),
            Transition(messageID: 4242, to: .failed, at: t0 + 3),
        ])
        #expect(applied.map(\.to) == [.accepted])
        #expect(try f.state(message) == .accepted)
        try f.store.recordReceipts([receipt(key: nil, provider: "biz-1", status: "delivered", dedupe: "r1")])
        #expect(try f.store.record([Transition(messageID: message, to: .accepted, at: t0 + 9)]).isEmpty)
        #expect(try f.store.record([Transition(messageID: message, to: .failed, at: t0 + 9)]).isEmpty)
        #expect(try f.state(message) == .delivered)

        var events: [MessageEvent] = []
        var stored: OutboxMessage?
        try f.store.forEachMessage(campaignID: id) { row, history in
            stored = row
            events = history ?? []
        }
        #expect(events.map(\.to) == [.sending, .accepted, .delivered])
        #expect(events.map(\.from) == [.queued, .sending, .accepted])
        #expect(events[1].at == t0 + 1 && events[1].gateway == "aliyun" && events[1].providerID == "biz-1")
        #expect(stored?.providerID == "biz-1" && stored?.gateway == "aliyun" && stored?.attempts == 1)

        let contacts = try f.store.contacts(creditCodes: [stored?.creditCode ?? "", "nobody"], since: t0)
        let contact = ContactEntry(channel: .sms, policyIDs: ["vat-small"], at: t0 + 1)
        #expect(contacts == [stored?.creditCode ?? "": [contact]])
        #expect(try f.store.contacts(creditCodes: [stored?.creditCode ?? ""], since: t0 + 2).isEmpty)
    }

    @Test(arguments: StoreBackend.all)
    func recoveryMarksSendingAmbiguousReleasesClaimsAndOnlyAScheduledResendIsClaimedAgain(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        try f.queued(4, campaign: id)
        let claimed = try f.claimAndSend(limit: 2, gateway: "ali")
        // Claimed, but no gateway admitted it before the crash: it was never sent.
        let held = try #require(try f.store.claimDue(now: t0, limit: 1).first)
        #expect(try f.store.recoverAfterCrash(now: t0 + 1) == CrashRecovery(sending: 2, released: 1))
        #expect(try f.store.campaignCounts(id: id) == [.ambiguous: 2, .queued: 2])
        // Pinned to the gateway that admitted them, due for reconciliation now.
        let pinned =
            "SELECT count(*) FROM messages WHERE state = 'ambiguous' AND gateway = 'ali' AND check_at = \((t0 + 1).millis)"
        #expect(try f.scalarInt(pinned) == 2)
        let again = try f.store.claimDue(now: t0 + 1, limit: 10)
        #expect(again.count == 2 && again.contains { $0.id == held.id })
        try f.store.record([Transition(messageID: claimed[0].id, to: .ambiguous, at: t0 + 2, nextAttemptAt: t0 + 3)])
        let resent = try f.store.claimDue(now: t0 + 100, limit: 10)
        #expect(resent.map(\.id) == [claimed[0].id])
        #expect(resent[0].idempotencyKey == claimed[0].idempotencyKey)
        let events = try f.scalarInt(
            "SELECT count(*) FROM message_events WHERE from_state = 'sending' AND to_state = 'ambiguous'")
        #expect(events == 2)
    }

    @Test(arguments: StoreBackend.all) func suppressionsKeepTheFirstOptOut(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        try f.store.addSuppression(creditCode: "A", channel: .sms, source: "reply TD", at: t0)
        try f.store.addSuppression(creditCode: "A", channel: .sms, source: "operator", at: t0 + 1)
        try f.store.addSuppression(creditCode: "A", channel: .wechat, source: "unsubscribed", at: t0)
        #expect(try f.store.suppressions(creditCodes: ["A", "B"]) == ["A": [.sms, .wechat]])
        let source = "SELECT reason FROM suppressions WHERE channel = 'sms'"
        #expect(try f.scalarText(source) == "reply TD")
    }

    func receipt(
        key: String?, provider: String?, status: String, dedupe: String, gateway: String = "aliyun", at: Double = 30
    ) -> StoredReceipt {
        StoredReceipt(
            gateway: gateway, messageKey: key, providerID: provider, status: status,
            reasonCode: status == "failed" ? "MOBILE_NOT_ON_SERVICE" : nil, occurredAt: t0 + at - 1,
            receivedAt: t0 + at, dedupeKey: dedupe, raw: Array("{\"raw\":true}".utf8))
    }

    @Test(arguments: StoreBackend.all) func receiptsMatchByKeyOrProviderIDAndDuplicatesAreCountedOnce(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let ids = try f.queued(3, campaign: id)
        let claimed = try f.store.claimDue(now: t0, limit: 3)
        try f.store.record(
            claimed.map {
                Transition(messageID: $0.id, to: .accepted, at: t0, gateway: "aliyun", providerID: "p\($0.id)")
            })
        let outcome = try f.store.recordReceipts([
            receipt(key: "c\(id)-0-sms", provider: nil, status: "delivered", dedupe: "a"),
            receipt(key: nil, provider: "p\(ids[1])", status: "failed", dedupe: "b"),
            receipt(key: nil, provider: "p\(ids[1])", status: "failed", dedupe: "b"),
            receipt(key: nil, provider: "p\(ids[1])", status: "delivered", dedupe: "b2"),
            receipt(key: nil, provider: "p\(ids[2])", status: "delivered", dedupe: "c", gateway: "tencent"),
            receipt(key: "unknown", provider: "nope", status: "delivered", dedupe: "d"),
        ])
        #expect(outcome == ReceiptOutcome(matched: 3, unmatched: 2, duplicates: 1))
        #expect(try f.state(ids[0]) == .delivered)
        #expect(try f.state(ids[1]) == .failed)
        #expect(try f.state(ids[2]) == .accepted)
        let again = try f.store.recordReceipts([receipt(key: nil, provider: nil, status: "delivered", dedupe: "a")])
        #expect(again.duplicates == 1)
        #expect(try f.scalarInt("SELECT count(*) FROM receipts") == 5)
        let lastError = "SELECT last_error FROM messages WHERE id = \(ids[1])"
        #expect(try f.scalarText(lastError) == "MOBILE_NOT_ON_SERVICE")
    }

    @Test(arguments: StoreBackend.all) func aReceiptBeforeTheAcknowledgementIsMatchedWhenItIsRecorded(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let ids = try f.queued(2, campaign: id)
        try f.claimAndSend(limit: 2)
        let early = try f.store.recordReceipts([
            receipt(key: nil, provider: "early-0", status: "delivered", dedupe: "x", at: 1),
            receipt(key: "c\(id)-1-sms", provider: nil, status: "failed", dedupe: "y", at: 1),
        ])
        #expect(early == ReceiptOutcome(matched: 0, unmatched: 2, duplicates: 0))
        #expect(try f.state(ids[0]) == .sending)
        try f.store.record([
            Transition(messageID: ids[0], to: .accepted, at: t0 + 2, gateway: "aliyun", providerID: "early-0"),
            Transition(messageID: ids[1], to: .accepted, at: t0 + 2, gateway: "aliyun", providerID: "p1"),
        ])
        #expect(try f.state(ids[0]) == .delivered)
        #expect(try f.state(ids[1]) == .failed)
        #expect(try f.scalarInt("SELECT count(*) FROM receipts WHERE message_id IS NULL") == 0)
        #expect(try f.store.matchPendingReceipts(receivedAfter: nil) == 0)
    }

    @Test(arguments: StoreBackend.all) func matchPendingReceiptsPicksUpReceiptsForLaterAcceptedMessages(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let ids = try f.queued(1, campaign: id)
        _ = try f.store.claimDue(now: t0, limit: 1)
        try f.store.recordReceipts([receipt(key: nil, provider: "late", status: "delivered", dedupe: "z")])
        // Written behind the store's back, as another writer would.
        try f.execute(
            """
            UPDATE messages SET state = 'accepted', gateway = 'aliyun', provider_id = 'late', next_attempt_at = 0
            WHERE id = \(ids[0])
            """)
        #expect(try f.store.matchPendingReceipts(receivedAfter: nil) == 1)
        #expect(try f.state(ids[0]) == .delivered)
    }

    @Test(arguments: StoreBackend.all) func acceptedMessagesWithoutReceiptExpire(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let ids = try f.queued(3, campaign: id)
        _ = try f.store.claimDue(now: t0, limit: 3)
        try f.store.record([
            Transition(messageID: ids[0], to: .accepted, at: t0, gateway: "g", providerID: "a"),
            Transition(messageID: ids[1], to: .accepted, at: t0 + 100, gateway: "g", providerID: "b"),
            Transition(messageID: ids[2], to: .accepted, at: t0, gateway: "g", providerID: "c"),
        ])
        try f.store.recordReceipts([receipt(key: nil, provider: "c", status: "delivered", dedupe: "c", gateway: "g")])
        #expect(try f.store.expireAccepted(olderThan: t0 + 50, now: t0 + 200) == 1)
        #expect(try f.store.campaignCounts(id: id) == [.expired: 1, .accepted: 1, .delivered: 1])
        #expect(try f.store.queueDepth() == [.expired: 1, .accepted: 1, .delivered: 1])
    }

    @Test(arguments: StoreBackend.all) func reportsAHandBuiltCampaign(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        try f.store.insertMessages([
            OutboxFixture.message(campaign: id, 0, channel: .wechat, policies: ["vat-small", "rd-plus"]),
            OutboxFixture.message(campaign: id, 1, channel: .sms, policies: ["vat-small"]),
            OutboxFixture.message(campaign: id, 2, channel: .sms, policies: ["rd-plus"]),
            OutboxFixture.message(campaign: id, 3, channel: .sms, policies: ["rd-plus"]),
            OutboxFixture.message(campaign: id, 4, channel: .sms, policies: ["vat-small"]),
            OutboxFixture.message(campaign: id, 5, channel: .sms, state: .suppressed, reason: "opt-out"),
            OutboxFixture.message(campaign: id, 6, channel: .wechat, state: .suppressed, reason: "no contact"),
        ])
        let claimed = try f.store.claimDue(now: t0, limit: 10)
        #expect(claimed.count == 5)
        let byKey = Dictionary(uniqueKeysWithValues: claimed.map { ($0.idempotencyKey, $0.id) })
        func m(_ n: Int, _ channel: String = "sms") -> Int64 { byKey["c\(id)-\(n)-\(channel)"] ?? -1 }
        try f.store.record([
            Transition(messageID: m(0, "wechat"), to: .accepted, at: t0, gateway: "wx", providerID: "w0"),
            Transition(messageID: m(1), to: .accepted, at: t0, gateway: "aliyun", providerID: "a1"),
            Transition(messageID: m(2), to: .accepted, at: t0, gateway: "aliyun", providerID: "a2"),
            Transition(messageID: m(3), to: .failed, at: t0, gateway: "aliyun", error: "isv.MOBILE_NUMBER_ILLEGAL"),
            Transition(messageID: m(4), to: .failed, at: t0, gateway: "tencent", error: "isv.MOBILE_NUMBER_ILLEGAL"),
        ])
        try f.store.recordReceipts([
            receipt(key: nil, provider: "w0", status: "delivered", dedupe: "1", gateway: "wx", at: 2),
            receipt(key: nil, provider: "a1", status: "delivered", dedupe: "2", at: 10),
        ])
        let report = try f.store.report(campaignID: id)
        #expect(report.total == 7)
        #expect(report.byState == [.delivered: 2, .accepted: 1, .failed: 2, .suppressed: 2])
        #expect(report.byPolicy["vat-small"] == [.delivered: 2, .failed: 1, .suppressed: 2])
        #expect(report.byPolicy["rd-plus"] == [.delivered: 1, .accepted: 1, .failed: 1])
        #expect(report.byChannel[.wechat] == [.delivered: 1, .suppressed: 1])
        #expect(report.byChannel[.sms] == [.delivered: 1, .accepted: 1, .failed: 2, .suppressed: 1])
        #expect(
            report.byGateway == [
                "wx": [.delivered: 1], "aliyun": [.delivered: 1, .accepted: 1, .failed: 1], "tencent": [.failed: 1],
            ])
        #expect(report.failureReasons == ["isv.MOBILE_NUMBER_ILLEGAL": 2])
        #expect(report.suppressedByReason == ["opt-out": 1, "no contact": 1])
        #expect(report.receiptLatency == LatencyPercentiles(p50: 2, p90: 10, p99: 10, count: 2))
    }

    @Test(arguments: StoreBackend.all) func dataVersionChangesWhenAnotherConnectionWrites(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let cli = try f.db.open()
        let before = try f.store.dataVersion()
        _ = try cli.createCampaign(OutboxFixture.spec())
        #expect(try f.store.dataVersion() != before)
        #expect(try f.store.campaigns().count == 1)
    }
}
