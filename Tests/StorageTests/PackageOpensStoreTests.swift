import Foundation
import Registry
import Testing

@testable import Storage

/// Schema version 8: package opens, and the page's feedback among the replies.
@Suite struct PackageOpensStoreTests {
    @Test func aVersion7StoreMigratesKeepingRepliesAndTheSuppressionsTheyCaused() throws {
        let db = try TemporaryDatabase()
        do {
            try FileManager.default.createDirectory(
                atPath: (db.path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let connection = try SQLiteConnection(path: db.path, readOnly: false)
            for step in Migration.all.prefix(7) { try connection.execute(step.sql) }
            try connection.execute("PRAGMA user_version = 7")
            try connection.execute(
                """
                INSERT INTO campaigns (id, name, policy_ids, channels, fallback, start_at, campaign_date, policy_versions,
                    template_version, state, created_at, updated_at)
                VALUES (3, 'old', 'p', 'sms', 0, 0, '2026-01-01', '{}', 't', 'running', 0, 0);
                INSERT INTO messages (id, idempotency_key, campaign_id, credit_code, channel, recipient, policy_ids,
                    payload, state, not_before, next_attempt_at, created_at, updated_at, link_token)
                VALUES (1, 'k1', 3, 'c1', 'sms', '13800000001', 'p', x'7B7D', 'accepted', 0, 0, 0, 0, 'AbCdEfGhIj0');
                INSERT INTO replies (id, gateway, kind, sender, text, received_at, dedupe_key, raw, opt_out, credit_code,
                    campaign_id, message_id)
                VALUES (5, 'aliyun', 'sms_reply', '13800000001', 'T', 0, 'a:1', '[]', 1, 'c1', 3, 1);
                INSERT INTO suppressions (target_kind, target, channel, reason, reply_id, at)
                VALUES ('address', '13800000001', 'sms', 'opted_out_reply', 5, 0);
                """)
        }
        let store = try SQLiteStore(path: db.path)
        #expect(store.schemaVersion == Migration.latestVersion)
        #expect(try store.connection.scalarText("PRAGMA foreign_key_check") == nil)
        #expect(try store.replies(campaignID: 3).map(\.id) == [5])
        #expect(try store.suppressionList().first?.replyID == 5)
        // The rebuilt table takes the page's kinds and still refers to messages.
        let target = try #require(try store.linkTarget(token: "AbCdEfGhIj0"))
        #expect(target.messageID == 1 && target.campaignDate == "2026-01-01")
        let feedback = PageFeedback(kind: .pageNotUseful, text: "没用", raw: "kind=not_useful&text=%E6%B2%A1%E7%94%A8")
        #expect(try store.recordPageFeedback(messageID: 1, feedback, at: Date()))
        #expect(throws: StorageError.self) { try store.recordPageFeedback(messageID: 99, feedback, at: Date()) }
        #expect(throws: StorageError.self) {
            try store.recordReplies(
                [
                    NewReply(
                        gateway: "page", kind: .pageQuestion, sender: "x", text: "x", sentAt: nil, dedupeKey: "x",
                        raw: "", optOut: false)
                ], at: Date())
        }
        #expect(try store.replies(campaignID: 3).map(\.kind) == [.smsReply, .pageNotUseful])
    }

    @Test(arguments: StoreBackend.all) func opensAreOneRowPerMessageEvenFromTwoConnections(
        _ backend: StoreBackend
    ) throws {
        let db = try TestDatabase(backend)
        let first = try db.open()
        let id = try first.createCampaign(
            CampaignSpec(
                name: "t", policyIDs: ["a"], channels: [.sms], fallback: false, startAt: Date(),
                campaignDate: "2026-12-03", policyVersions: [:], templateVersion: "t"))
        try first.insertMessages([
            NewMessage(
                campaignID: id, creditCode: "91110105MA01ABCD0X", channel: .sms, recipient: "13800138000",
                policyIDs: ["a"], payload: [], idempotencyKey: "k1", notBefore: Date(), linkToken: "AbCdEfGhIj0")
        ])
        let message = try #require(try first.linkTarget(token: "AbCdEfGhIj0")).messageID
        let second = try db.open()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(try first.recordOpen(messageID: message, campaignID: id, client: .mobile, at: start))
        #expect(!(try second.recordOpen(messageID: message, campaignID: id, client: .wechat, at: start + 60)))
        #expect(!(try first.recordOpen(messageID: message, campaignID: id, client: .desktop, at: start + 30)))
        let row = try #require(
            try TestSQL.scalarText(
                first,
                "SELECT first_open_at || ',' || last_open_at || ',' || opens || ',' || client_class FROM package_opens")
        )
        #expect(row == "\(start.millis),\(start.millis + 60_000),3,mobile", "the last open never moves back")
        #expect(try second.openedCount(campaignID: id) == 1)
        #expect(try second.openedCount(campaignID: id + 1) == 0)
        #expect(try second.openedEnterprises(campaignID: id) == ["91110105MA01ABCD0X"])
        #expect(try second.openedEnterprises(campaignID: id + 1).isEmpty)
    }
}
