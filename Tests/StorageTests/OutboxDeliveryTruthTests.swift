import Foundation
import Testing

@testable import Storage

/// The store's side of delivery truth: claims held in memory, `sending` only for a running
/// campaign, pinned ambiguous messages, reconciliation's schedule and verdicts, and the
/// operator's resend of unconfirmed messages.
@Suite struct OutboxDeliveryTruthTests {
    let t0 = OutboxFixture.t0

    @Test func aVersion2StoreWithMessagesInFlightMigratesKeepingEveryRow() throws {
        let db = try TemporaryDatabase()
        do {
            try FileManager.default.createDirectory(
                atPath: (db.path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let connection = try SQLiteConnection(path: db.path, readOnly: false)
            try connection.execute(Migration.version1)
            try connection.execute(Migration.version2)
            try connection.execute("PRAGMA user_version = 2")
            try connection.execute(
                """
                INSERT INTO campaigns (id, name, policy_ids, channels, fallback, start_at, campaign_date, policy_versions,
                    template_version, state, created_at, updated_at)
                VALUES (1, 'old', 'p', 'sms', 0, 0, '2026-01-01', '{}', 't', 'running', 0, 0);
                INSERT INTO messages (id, idempotency_key, campaign_id, credit_code, channel, recipient, policy_ids,
                    payload, state, not_before, next_attempt_at, gateway, created_at, updated_at)
                VALUES (1, 'k1', 1, 'c1', 'sms', '13800000001', 'p', x'7B7D', 'sending', 0, NULL, NULL, 0, 5),
                       (2, 'k2', 1, 'c2', 'sms', '13800000002', 'p', x'7B7D', 'accepted', 0, 3, 'ali', 0, 7),
                       (3, 'k3', 1, 'c3', 'sms', '13800000003', 'p', x'7B7D', 'queued', 0, 0, NULL, 0, 0);
                INSERT INTO message_events (message_id, at, from_state, to_state) VALUES (1, 5, 'queued', 'sending');
                INSERT INTO receipts (dedupe_key, gateway, provider_id, status, received_at, raw, message_id)
                VALUES ('r', 'ali', 'b', 'delivered', 9, x'', 2);
                """)
        }
        let store = try SQLiteStore(path: db.path)
        #expect(store.schemaVersion == Migration.latestVersion)
        #expect(try store.queueDepth() == [.sending: 1, .accepted: 1, .queued: 1])
        #expect(try store.connection.scalarText("PRAGMA foreign_key_check") == nil)
        #expect(try store.connection.scalarInt("SELECT count(*) FROM message_events WHERE message_id = 1") == 1)
        #expect(try store.connection.scalarInt("SELECT check_at FROM messages WHERE id = 2") == 7)
        // The new states are accepted by the rebuilt table.
        try store.record([Transition(messageID: 3, to: .unsent, at: t0, nextAttemptAt: t0)])
        #expect(try store.queueDepth()[.unsent] == 1)
        // An old message interrupted without a gateway is recovered like any other.
        #expect(try store.recoverAfterCrash(now: t0).sending == 1)
        #expect(try store.pinGatewayless(channel: .sms, to: "ali", at: t0) == 1)
    }

    @Test(arguments: StoreBackend.all) func sendingIsRecordedOnlyForARunningCampaignAndStampsTheAttempt(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let ids = try f.queued(2, campaign: id)
        let claimed = try f.store.claimDue(now: t0, limit: 2)
        #expect(claimed.count == 2)
        try f.store.applyCampaignState(id: id, .paused, at: t0)
        // Paused while the messages waited for their gateway: they are not sent.
        #expect(try f.store.record([Transition(messageID: ids[0], to: .sending, at: t0 + 1, gateway: "g")]).isEmpty)
        // Put back (a reschedule of its own state), due when the campaign resumes.
        let back = Transition(messageID: ids[0], to: .queued, at: t0 + 1, nextAttemptAt: t0 + 1, countsAsAttempt: false)
        #expect(try f.store.record([back]).count == 1)
        try f.store.applyCampaignState(id: id, .running, at: t0 + 2)
        let sent = Transition(messageID: ids[0], to: .sending, at: t0 + 3, gateway: "g", countsAsAttempt: false)
        #expect(try f.store.record([sent]).count == 1)
        let row = "FROM messages WHERE id = \(ids[0])"
        #expect(try f.scalarInt("SELECT first_attempt_at \(row)") == (t0 + 3).millis)
        #expect(try f.scalarInt("SELECT last_attempt_at \(row)") == (t0 + 3).millis)
        #expect(try f.scalarInt("SELECT lease_until \(row)") == nil)
        #expect(try f.scalarText("SELECT gateway \(row)") == "g")
        // A cancel wins over a message still held.
        try f.store.applyCampaignState(id: id, .cancelled, at: t0 + 4)
        #expect(try f.state(ids[1]) == .cancelled)
        #expect(try f.store.record([Transition(messageID: ids[1], to: .sending, at: t0 + 5, gateway: "g")]).isEmpty)
    }

    @Test(arguments: StoreBackend.all) func reconciliationSeesAmbiguousAndAcceptedMessagesWhenTheirCheckIsDue(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let ids = try f.queued(4, campaign: id)
        try f.claimAndSend(limit: 4, gateway: "ali")
        try f.store.record([
            Transition(
                messageID: ids[0], to: .ambiguous, at: t0 + 1, gateway: "ali", error: "timeout", checkAt: t0 + 10),
            Transition(
                messageID: ids[1], to: .accepted, at: t0 + 1, gateway: "ali", providerID: "b1", checkAt: t0 + 20),
            Transition(messageID: ids[2], to: .accepted, at: t0 + 1, gateway: "ali", providerID: "b2"),
            Transition(messageID: ids[3], to: .failed, at: t0 + 1, gateway: "ali", error: "x", checkAt: t0),
        ])
        #expect(try f.store.messagesToCheck(now: t0 + 5, limit: 10).isEmpty)
        #expect(try f.store.messagesToCheck(now: t0 + 30, limit: 10).map(\.id) == [ids[0], ids[1]])
        let ambiguous = try #require(try f.store.messagesToCheck(now: t0 + 10, limit: 10).first)
        #expect(ambiguous.lastAttemptAt == t0 && ambiguous.gateway == "ali" && ambiguous.state == .ambiguous)
        // A receipt settles the accepted one and ends its checks.
        try f.store.recordReceipts([
            StoredReceipt(
                gateway: "ali", messageKey: nil, providerID: "b1", status: "delivered", reasonCode: nil,
                occurredAt: nil,
                receivedAt: t0 + 11, dedupeKey: "d", raw: [])
        ])
        try f.store.rescheduleChecks([(ids[0], t0 + 100)])
        #expect(try f.store.messagesToCheck(now: t0 + 30, limit: 10).isEmpty)
        // Verdict: never reached the provider. It may go again, through any gateway.
        let unsent = Transition(
            messageID: ids[0], to: .unsent, at: t0 + 100, gateway: "ali", error: "absent", nextAttemptAt: t0 + 100,
            countsAsAttempt: false)
        #expect(try f.store.record([unsent]).count == 1)
        let again = try f.store.claimDue(now: t0 + 100, limit: 10)
        #expect(again.map(\.id) == [ids[0]] && again[0].claimedFrom == .unsent)
        #expect(try f.store.messagesToCheck(now: t0 + 1000, limit: 10).isEmpty)
    }

    @Test(arguments: StoreBackend.all) func anUnsentVerdictInACancelledCampaignCancelsTheMessage(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let ids = try f.queued(1, campaign: id)
        try f.claimAndSend(limit: 1, gateway: "ali")
        try f.store.record([Transition(messageID: ids[0], to: .ambiguous, at: t0, gateway: "ali", checkAt: t0)])
        try f.store.applyCampaignState(id: id, .cancelled, at: t0 + 1)
        #expect(try f.state(ids[0]) == .ambiguous)
        try f.store.record([Transition(messageID: ids[0], to: .unsent, at: t0 + 2, nextAttemptAt: t0 + 2)])
        #expect(try f.state(ids[0]) == .cancelled)
    }

    /// Reconciliation gave up on knowing; the provider's receipt, arriving later, knows: the
    /// message is settled by it (delivered and logged as a contact, or failed).
    @Test(arguments: StoreBackend.all) func aLateReceiptSettlesAnUnconfirmedMessage(_ backend: StoreBackend) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let ids = try f.queued(2, campaign: id)
        try f.claimAndSend(limit: 2, gateway: "ali")
        try f.store.record(
            ids.map { Transition(messageID: $0, to: .ambiguous, at: t0, gateway: "ali", error: "timeout") })
        try f.store.record(ids.map { Transition(messageID: $0, to: .unconfirmed, at: t0 + 1, error: "deadline") })
        let keys = ["c\(id)-0-sms", "c\(id)-1-sms"]
        try f.store.recordReceipts(
            zip(keys, ["delivered", "failed"]).map { key, status in
                StoredReceipt(
                    gateway: "ali", messageKey: key, providerID: nil, status: status, reasonCode: "E1",
                    occurredAt: nil, receivedAt: t0 + 2, dedupeKey: key, raw: [])
            })
        #expect(try f.state(ids[0]) == .delivered)
        #expect(try f.state(ids[1]) == .failed)
        #expect(try f.scalarInt("SELECT count(*) FROM contact_log") == 1)
    }

    @Test(arguments: StoreBackend.all) func unconfirmedIsFinalUntilAnOperatorResendsItWithANote(
        _ backend: StoreBackend
    ) throws {
        let f = try OutboxFixture(backend)
        let id = try f.runningCampaign()
        let ids = try f.queued(2, campaign: id)
        try f.claimAndSend(limit: 2, gateway: "ali")
        try f.store.record([
            Transition(messageID: ids[0], to: .ambiguous, at: t0, gateway: "ali"),
            Transition(messageID: ids[1], to: .accepted, at: t0, gateway: "ali", providerID: "p"),
        ])
        try f.store.record([Transition(messageID: ids[0], to: .unconfirmed, at: t0 + 1, error: "deadline")])
        #expect(try f.store.record([Transition(messageID: ids[0], to: .queued, at: t0 + 2)]).isEmpty)
        #expect(try f.store.claimDue(now: t0 + 5, limit: 10).isEmpty)
        try f.store.recordReceipts([
            StoredReceipt(
                gateway: "ali", messageKey: nil, providerID: "p", status: "delivered", reasonCode: nil, occurredAt: nil,
                receivedAt: t0 + 2, dedupeKey: "d", raw: [])
        ])
        try f.store.applyCampaignState(id: id, .completed, at: t0 + 3)

        #expect(try f.store.resendUnconfirmed(campaignID: id, note: "checked by phone: not received", at: t0 + 4) == 1)
        #expect(try f.store.campaign(id: id)?.state == .running)
        let resent = try f.store.claimDue(now: t0 + 4, limit: 10)
        #expect(resent.map(\.id) == [ids[0]])
        var history: [MessageEvent] = []
        try f.store.forEachMessage(campaignID: id) { message, events in
            if message.id == ids[0] { history = events ?? [] }
        }
        #expect(history.last?.from == .unconfirmed && history.last?.to == .queued)
        #expect(history.last?.error == "checked by phone: not received")
        try f.store.applyCampaignState(id: id, .cancelled, at: t0 + 5)
        #expect(throws: StorageError.self) { try f.store.resendUnconfirmed(campaignID: id, note: "n", at: t0 + 6) }
    }
}
