import Foundation
import Registry
import Testing

@testable import Storage

/// Four-eyes approval in the store: a campaign awaiting approval is decided by someone other
/// than its creator, and each decision is in the audit trail.
@Suite struct CampaignApprovalTests {
    let alice = AuditContext(operatorName: "alice", arguments: "name=audited")
    let bob = AuditContext(operatorName: "bob", arguments: "note=checked")

    @Test(arguments: StoreBackend.all) func theCreatorCannotApproveAndAnotherOperatorCan(_ backend: StoreBackend) throws
    {
        let db = try TestDatabase(backend)
        let store = try db.open()
        let id = try store.createCampaign(AuditTrailTests.spec, awaitingApproval: true, audit: alice)
        #expect(try store.campaign(id: id)?.state == .awaitingApproval)
        #expect(try store.campaign(id: id)?.createdBy == "alice")

        let refused = #expect(throws: StorageError.self) {
            try store.decideCampaign(id: id, approve: true, note: nil, audit: AuditContext(operatorName: "alice"))
        }
        #expect(refused?.code == .notPermitted)
        #expect(refused?.message.contains("four-eyes") == true)
        #expect(try store.campaign(id: id)?.state == .awaitingApproval)

        try store.decideCampaign(id: id, approve: true, note: "checked", audit: bob)
        let record = try #require(try store.campaign(id: id))
        #expect(record.state == .pending)
        #expect(record.approvedBy == "bob")
        #expect(record.decisionNote == "checked")
        #expect(record.decidedAt != nil)

        let again = #expect(throws: StorageError.self) {
            try store.decideCampaign(id: id, approve: true, note: nil, audit: AuditContext(operatorName: "carol"))
        }
        #expect(again?.code == .invalidTransition)

        let entries = try AuditTrailTests.read(store)
        #expect(entries.map(\.action) == ["campaign.start", "campaign.approve"])
        #expect(entries.map(\.result) == ["ok: awaiting_approval", "ok: pending"])
        #expect(entries[1].operatorName == "bob")
        #expect(entries[1].arguments == "note=checked")
        #expect(try store.verifyAudit().isIntact)
    }

    @Test(arguments: StoreBackend.all) func aRejectedCampaignIsFinalAndTheCreatorCannotRejectEither(
        _ backend: StoreBackend
    ) throws {
        let db = try TestDatabase(backend)
        let store = try db.open()
        let id = try store.createCampaign(AuditTrailTests.spec, awaitingApproval: true, audit: alice)
        let refused = #expect(throws: StorageError.self) {
            try store.decideCampaign(id: id, approve: false, note: "mine", audit: alice)
        }
        #expect(refused?.code == .notPermitted)
        try store.decideCampaign(id: id, approve: false, note: "wrong policy", audit: bob)
        let record = try #require(try store.campaign(id: id))
        #expect(record.state == .rejected)
        #expect(record.state.isFinal)
        #expect(record.approvedBy == "bob")
        #expect(record.decisionNote == "wrong policy")
        #expect(record.finishedAt != nil)
        for request in [CampaignState.paused, .running, .cancelled] {
            #expect(throws: StorageError.self) { try store.requestCampaign(id: id, request, audit: bob) }
        }
        #expect(try AuditTrailTests.read(store).map(\.action) == ["campaign.start", "campaign.reject"])
    }

    @Test(arguments: StoreBackend.all) func waitingForApprovalItCanBeCancelledAtOnceButNotPaused(
        _ backend: StoreBackend
    ) throws {
        let db = try TestDatabase(backend)
        let store = try db.open()
        let id = try store.createCampaign(AuditTrailTests.spec, awaitingApproval: true, audit: alice)
        #expect(throws: StorageError.self) { try store.requestCampaign(id: id, .paused, audit: alice) }
        #expect(throws: StorageError.self) { try store.requestCampaign(id: id, .running, audit: alice) }
        try store.requestCampaign(id: id, .cancelled, audit: alice)
        let record = try #require(try store.campaign(id: id))
        #expect(record.state == .cancelled)
        #expect(record.requestedState == nil)
        #expect(throws: StorageError.self) { try store.decideCampaign(id: id, approve: true, note: nil, audit: bob) }
        #expect(try AuditTrailTests.read(store).map(\.result) == ["ok: awaiting_approval", "ok: cancelled"])
    }

    @Test(arguments: StoreBackend.all) func withoutApprovalACampaignStartsPendingAndNeedsNoDecision(
        _ backend: StoreBackend
    ) throws {
        let db = try TestDatabase(backend)
        let store = try db.open()
        let id = try store.createCampaign(AuditTrailTests.spec, awaitingApproval: false, audit: alice)
        #expect(try store.campaign(id: id)?.state == .pending)
        #expect(throws: StorageError.self) { try store.decideCampaign(id: id, approve: true, note: nil, audit: bob) }
        #expect(!CampaignState.awaitingApproval.canMove(to: .planning), "the daemon never plans it")
        #expect(!CampaignState.awaitingApproval.canMove(to: .running))
    }

    @Test func aVersion4StoreMigratesKeepingCampaignsAndMessages() throws {
        let db = try TemporaryDatabase()
        do {
            try FileManager.default.createDirectory(
                atPath: (db.path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let connection = try SQLiteConnection(path: db.path, readOnly: false)
            for step in Migration.all.prefix(4) { try connection.execute(step.sql) }
            try connection.execute("PRAGMA user_version = 4")
            try connection.execute(
                """
                INSERT INTO campaigns (id, name, policy_ids, channels, fallback, start_at, campaign_date, policy_versions,
                    template_version, state, created_at, updated_at, key_secret)
                VALUES (7, 'old', 'p', 'sms', 0, 0, '2026-01-01', '{}', 't', 'running', 0, 0, x'01');
                INSERT INTO messages (id, idempotency_key, campaign_id, credit_code, channel, recipient, policy_ids,
                    payload, state, not_before, next_attempt_at, created_at, updated_at)
                VALUES (1, 'k1', 7, 'c1', 'sms', '13800000001', 'p', x'7B7D', 'queued', 0, 0, 0, 0);
                """)
        }
        let store = try SQLiteStore(path: db.path)
        #expect(store.schemaVersion == Migration.latestVersion)
        let record = try #require(try store.campaign(id: 7))
        #expect(record.state == .running)
        #expect(record.keySecret == [1])
        #expect(record.createdBy == nil)
        #expect(record.counts == [.queued: 1])
        #expect(try TestSQL.scalarText(store, "PRAGMA foreign_key_check") == nil)
        // The rebuilt table takes the new states, and messages still refer to it.
        let id = try store.createCampaign(AuditTrailTests.spec, awaitingApproval: true, audit: alice)
        #expect(id == 8)
        #expect(throws: StorageError.self) {
            try TestSQL.execute(store, "DELETE FROM campaigns WHERE id = 7")
        }
    }
}
