import Foundation
import Registry

// Planning: inserting a campaign's messages, and the contact log and suppressions the planner reads.
extension OutboxSQL {
    func insertMessages(_ batch: [NewMessage], at: Date, inTransaction: Bool = false) throws -> Int {
        func run<T>(_ body: () throws -> T) throws -> T {
            inTransaction ? try body() : try connection.writeTransaction(body)
        }
        return try run {
            let insert = try statement(
                """
                INSERT INTO messages (idempotency_key, campaign_id, credit_code, channel, recipient, policy_ids,
                    payload, state, suppression_reason, parent_key, not_before, next_attempt_at, created_at,
                    finished_at, updated_at, link_token)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?13, ?15)
                ON CONFLICT (idempotency_key) DO NOTHING
                """)
            let now = at.millis
            var inserted = 0
            var counts: [CountKey: Int64] = [:]
            for message in batch {
                guard message.state == .queued || message.state == .suppressed else {
                    throw StorageError(
                        code: .invalidValue,
                        message: "a new message is queued or suppressed, not \(message.state.rawValue)")
                }
                let notBefore = message.notBefore.millis
                try insert.run(
                    message.idempotencyKey, message.campaignID, message.creditCode,
                    message.channel?.rawValue ?? Self.noChannel, message.recipient,
                    try IDList.encode(message.policyIDs), message.payload, message.state.rawValue,
                    message.suppressionReason, message.parentKey, notBefore, message.state == .queued ? notBefore : nil,
                    now, message.state.isFinal ? now : nil, message.linkToken)
                let changes = connection.changes
                inserted += changes
                if changes > 0 {
                    let key = CountKey(
                        campaignID: message.campaignID, state: message.state.rawValue,
                        channel: message.channel?.rawValue ?? Self.noChannel)
                    counts[key, default: 0] += 1
                }
            }
            try addCounts(counts)
            return inserted
        }
    }

    /// A (campaign, state, channel) of new messages, which have no gateway yet.
    struct CountKey: Hashable {
        let campaignID: Int64
        let state: String
        let channel: String
    }

    /// Adds new messages to `message_counts` (migration 13), one upsert per key for a whole batch,
    /// in the inserting transaction; on PostgreSQL in the connection's slot, as its triggers do.
    func addCounts(_ counts: [CountKey: Int64]) throws {
        guard !counts.isEmpty else { return }
        let slot = connection.dialect == .postgres ? "pg_backend_pid() % 64" : "0"
        let upsert = try statement(
            """
            INSERT INTO message_counts AS c (campaign_id, state, channel, gateway, slot, n)
            VALUES (?1, ?2, ?3, '', \(slot), ?4)
            ON CONFLICT (campaign_id, state, channel, gateway, slot) DO UPDATE SET n = c.n + excluded.n
            """)
        for (key, n) in counts { try upsert.run(key.campaignID, key.state, key.channel, n) }
    }

    /// A planner's batch of messages and group assignments in one write transaction.
    func insertPlanned(_ batch: [NewMessage], groups: [GroupAssignment], at: Date) throws -> Int {
        try connection.writeTransaction {
            let inserted = try insertMessages(batch, at: at, inTransaction: true)
            try insertGroupAssignments(groups, inTransaction: true)
            return inserted
        }
    }

    /// The message whose link carries `token`: the first planned, should two share it.
    func linkTarget(token: String) throws -> LinkTarget? {
        try readTransaction {
            let select = try statement(
                """
                SELECT m.campaign_id, m.credit_code, m.policy_ids, m.id, c.campaign_date, c.start_at
                FROM messages m JOIN campaigns c ON c.id = m.campaign_id
                WHERE m.link_token = ?1 ORDER BY m.id LIMIT 1
                """)
            try select.bind(token)
            defer { select.reset() }
            guard try select.step() else { return nil }
            return LinkTarget(
                campaignID: try select.int64(0), creditCode: select.text(1) ?? "",
                policyIDs: IDList.decode(select.text(2)), messageID: try select.int64(3),
                campaignDate: select.text(4) ?? "", campaignStartAt: Date(millis: try select.int64(5)))
        }
    }

    func contacts(creditCodes: [String], since: Date) throws -> [String: [ContactEntry]] {
        try readTransaction {
            let select = try statement(
                "SELECT channel, policy_ids, at FROM contact_log WHERE credit_code = ?1 AND at >= ?2 ORDER BY at")
            var result: [String: [ContactEntry]] = [:]
            for code in creditCodes where result[code] == nil {
                try select.bind(code, since.millis)
                var entries: [ContactEntry] = []
                while try select.step() {
                    entries.append(
                        ContactEntry(
                            channel: try channel(select.text(0)), policyIDs: IDList.decode(select.text(1)),
                            at: Date(millis: try select.int64(2))))
                }
                select.reset()
                if !entries.isEmpty { result[code] = entries }
            }
            return result
        }
    }

    func addSuppression(creditCode: String, channel: Channel, source: String, at: Date) throws {
        try connection.writeTransaction {
            _ = try insertSuppression(
                SuppressionRecord(target: .enterprise(creditCode), channel: channel, reason: source, at: at))
        }
    }

    func suppressions(creditCodes: [String]) throws -> [String: [Channel]] {
        try readTransaction {
            let select = try statement(
                "SELECT channel FROM suppressions WHERE target_kind = 'enterprise' AND target = ?1 ORDER BY channel")
            var result: [String: [Channel]] = [:]
            for code in creditCodes where result[code] == nil {
                try select.bind(code)
                var channels: [Channel] = []
                while try select.step() { channels.append(try channel(select.text(0))) }
                select.reset()
                if !channels.isEmpty { result[code] = channels }
            }
            return result
        }
    }
}
