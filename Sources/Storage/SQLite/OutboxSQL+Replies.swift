import Foundation
import Registry

// Replies and suppressions: what recipients sent back, and who must not be sent to.
extension OutboxSQL {
    /// Stores new replies, attaches each to the message to its sender that went out last, and
    /// applies opt-outs: a suppression with the reply as evidence, and every message to that
    /// address still waiting to go becomes `suppressed` — all in one transaction.
    func recordReplies(_ replies: [NewReply], at: Date) throws -> ReplyOutcome {
        try connection.writeTransaction {
            let insert = try statement(
                """
                INSERT INTO replies (gateway, kind, sender, text, sent_at, received_at, dedupe_key, raw, opt_out,
                    credit_code, campaign_id, message_id)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                ON CONFLICT (gateway, dedupe_key) DO NOTHING
                RETURNING id
                """)
            var outcome = ReplyOutcome()
            for reply in replies {
                guard let channel = reply.kind.channel else {
                    throw StorageError(
                        code: .invalidValue, message: "\(reply.kind.rawValue) is recorded by recordPageFeedback")
                }
                let last = try lastMessage(to: reply.sender, on: channel)
                try insert.bind(
                    reply.gateway, reply.kind.rawValue, reply.sender, reply.text, reply.sentAt?.millis, at.millis,
                    reply.dedupeKey, reply.raw, reply.optOut, last?.creditCode, last?.campaignID, last?.id)
                // A row only when the reply is new; a duplicate inserts nothing.
                let inserted = try insert.step() ? try insert.int64(0) : nil
                insert.reset()
                guard let replyID = inserted else {
                    outcome.duplicates += 1
                    continue
                }
                outcome.stored += 1
                guard reply.optOut else { continue }
                let reason =
                    reply.kind == .wechatUnsubscribe
                    ? SuppressionRecord.wechatUnsubscribe : SuppressionRecord.optedOutReply
                let record = SuppressionRecord(
                    target: .address(reply.sender), channel: channel, reason: reason,
                    replyID: replyID, at: at)
                if try insertSuppression(record) { outcome.optOuts += 1 }
                outcome.messagesSuppressed += try suppressWaiting(
                    to: reply.sender, on: channel, reason, at: at)
            }
            return outcome
        }
    }

    /// The message to `address` on `channel` whose attempt came last (else the newest planned one).
    private func lastMessage(
        to address: String, on channel: Channel
    ) throws -> (id: Int64, campaignID: Int64, creditCode: String)? {
        let select = try statement(
            """
            SELECT id, campaign_id, credit_code FROM messages WHERE recipient = ?1 AND channel = ?2
            ORDER BY last_attempt_at IS NULL, last_attempt_at DESC, id DESC LIMIT 1
            """)
        defer { select.reset() }
        try select.bind(address, channel.rawValue)
        guard try select.step() else { return nil }
        return (try select.int64(0), try select.int64(1), select.text(2) ?? "")
    }

    /// Moves every message to `address` on `channel` that has not gone out to `suppressed`.
    ///
    /// A message the dispatcher holds (leased, not yet admitted) is moved too: its `sending`
    /// transition is then refused, as after a cancel, and it never leaves.
    func suppressWaiting(to address: String, on channel: Channel, _ reason: String, at: Date) throws -> Int {
        let select = try statement(
            """
            SELECT id, state FROM messages
            WHERE recipient = ?1 AND channel = ?2 AND state IN ('queued', 'retry_wait', 'unsent')
            """)
        var waiting: [(Int64, MessageState)] = []
        try select.bind(address, channel.rawValue)
        while try select.step() { waiting.append((try select.int64(0), try messageState(select.text(1)))) }
        select.reset()
        let update = try statement(
            """
            UPDATE messages SET state = 'suppressed', suppression_reason = ?2, next_attempt_at = NULL,
                lease_until = NULL, finished_at = ?3, updated_at = ?3
            WHERE id = ?1
            """)
        for (id, state) in waiting {
            try update.run(id, reason, at.millis)
            try insertEvent(
                messageID: id, at: at.millis, from: state, to: .suppressed, gateway: nil, providerID: nil, error: reason
            )
        }
        return waiting.count
    }

    /// Whether `address` is suppressed on `channel` (by address; enterprise suppressions are the planner's).
    func isSuppressed(address: String, on channel: Channel) throws -> String? {
        let select = try statement(
            "SELECT reason FROM suppressions WHERE target_kind = 'address' AND target = ?1 AND channel = ?2")
        defer { select.reset() }
        try select.bind(address, channel.rawValue)
        return try select.step() ? select.text(0) : nil
    }

    /// Adds a suppression unless one exists for the same target and channel; returns whether it was added.
    func insertSuppression(_ record: SuppressionRecord) throws -> Bool {
        let insert = try statement(
            """
            INSERT INTO suppressions (target_kind, target, channel, reason, reply_id, operator, note, at)
            VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
            ON CONFLICT (target_kind, target, channel) DO NOTHING
            """)
        let (kind, target) = Self.columns(record.target)
        try insert.run(
            kind, target, record.channel.rawValue, record.reason, record.replyID, record.operatorName, record.note,
            record.at.millis)
        return connection.changes > 0
    }

    /// Adds a suppression by hand; an address suppression also silences what is waiting to go to it.
    func addSuppression(
        _ record: SuppressionRecord, audit: AuditEntry.New?
    ) throws -> (added: Bool, messagesSuppressed: Int) {
        try connection.writeTransaction {
            guard try insertSuppression(record) else { return (false, 0) }
            if let audit { _ = try appendAudit(audit, at: record.at) }
            guard case .address(let address) = record.target else { return (true, 0) }
            return (true, try suppressWaiting(to: address, on: record.channel, record.reason, at: record.at))
        }
    }

    /// Removes a suppression; returns the removed record, or nil when there was none.
    func removeSuppression(
        _ target: SuppressionTarget, channel: Channel, audit: AuditEntry.New?, at: Date
    ) throws -> SuppressionRecord? {
        try connection.writeTransaction {
            let existing = try suppressionList().first { $0.target == target && $0.channel == channel }
            guard let existing else { return nil }
            if let audit { _ = try appendAudit(audit, at: at) }
            let (kind, value) = Self.columns(target)
            let delete = try statement(
                "DELETE FROM suppressions WHERE target_kind = ?1 AND target = ?2 AND channel = ?3")
            try delete.run(kind, value, channel.rawValue)
            return existing
        }
    }

    /// Every suppression, newest first.
    func suppressionList() throws -> [SuppressionRecord] {
        let select = try statement(
            """
            SELECT target_kind, target, channel, reason, reply_id, operator, note, at FROM suppressions
            ORDER BY at DESC, target
            """)
        defer { select.reset() }
        var result: [SuppressionRecord] = []
        while try select.step() {
            let target = select.text(1) ?? ""
            result.append(
                SuppressionRecord(
                    target: select.text(0) == "address" ? .address(target) : .enterprise(target),
                    channel: try channel(select.text(2)), reason: select.text(3) ?? "",
                    replyID: try select.optionalInt64(4), operatorName: select.text(5), note: select.text(6),
                    at: Date(millis: try select.int64(7))))
        }
        return result
    }

    /// Suppressed addresses by channel, for planning.
    func suppressedAddresses() throws -> [Channel: Set<String>] {
        try readTransaction {
            let select = try statement("SELECT channel, target FROM suppressions WHERE target_kind = 'address'")
            defer { select.reset() }
            var result: [Channel: Set<String>] = [:]
            while try select.step() { result[try channel(select.text(0)), default: []].insert(select.text(1) ?? "") }
            return result
        }
    }

    /// A campaign's replies (or every reply), oldest first.
    func replies(campaignID: Int64?) throws -> [ReplyRecord] {
        try readTransaction {
            let select = try statement(
                """
                SELECT id, gateway, kind, sender, text, sent_at, received_at, opt_out, credit_code, campaign_id,
                    message_id, (SELECT channel FROM messages WHERE id = replies.message_id)
                FROM replies WHERE campaign_id = ?1 OR ?1 IS NULL ORDER BY id
                """)
            defer { select.reset() }
            try select.bind(campaignID)
            var result: [ReplyRecord] = []
            while try select.step() {
                guard let kind = ReplyKind(rawValue: select.text(2) ?? "") else {
                    throw StorageError(code: .corrupt, message: "unknown reply kind \(select.text(2) ?? "NULL")")
                }
                result.append(
                    ReplyRecord(
                        id: try select.int64(0), gateway: select.text(1) ?? "", kind: kind,
                        sender: select.text(3) ?? "",
                        text: select.text(4) ?? "", sentAt: try select.optionalInt64(5).map(Date.init(millis:)),
                        receivedAt: Date(millis: try select.int64(6)), optOut: try select.int64(7) == 1,
                        creditCode: select.text(8), campaignID: try select.optionalInt64(9),
                        messageID: try select.optionalInt64(10),
                        channel: try kind.channel ?? select.text(11).flatMap { try optionalChannel($0) }))
            }
            return result
        }
    }

    static func columns(_ target: SuppressionTarget) -> (kind: String, value: String) {
        switch target {
        case .enterprise(let code): ("enterprise", code)
        case .address(let address): ("address", address)
        }
    }
}
