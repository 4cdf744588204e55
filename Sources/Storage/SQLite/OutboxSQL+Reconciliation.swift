import Foundation

// Reconciliation: messages whose outcome is checked with the provider, and operator resends.
extension OutboxSQL {
    func messagesToCheck(now: Date, limit: Int) throws -> [OutboxMessage] {
        let select = try statement(
            "SELECT \(Self.messageColumns) FROM messages WHERE check_at <= ?1 ORDER BY check_at, id LIMIT ?2")
        defer { select.reset() }
        try select.bind(now.millis, limit)
        var result: [OutboxMessage] = []
        while try select.step() { result.append(try readMessage(select)) }
        return result
    }

    func rescheduleChecks(_ checks: [(messageID: Int64, at: Date?)]) throws {
        try connection.writeTransaction {
            let update = try statement(
                "UPDATE messages SET check_at = ?2 WHERE id = ?1 AND state IN ('ambiguous', 'accepted')")
            for check in checks {
                try update.run(check.messageID, check.at?.millis)
            }
        }
    }

    func resendUnconfirmed(campaignID: Int64, note: String, at: Date, audit: AuditContext? = nil) throws -> Int {
        try connection.writeTransaction {
            guard let record = try campaignRow(id: campaignID) else {
                throw StorageError(code: .notFound, message: "no campaign \(campaignID)")
            }
            guard record.state != .cancelled else {
                throw StorageError(
                    code: .invalidTransition, message: "campaign \(campaignID) is cancelled; nothing is resent")
            }
            let events = try statement(
                """
                INSERT INTO message_events (message_id, at, from_state, to_state, gateway, error)
                SELECT id, ?2, 'unconfirmed', 'queued', gateway, ?3 FROM messages
                WHERE campaign_id = ?1 AND state = 'unconfirmed'
                """)
            try events.run(campaignID, at.millis, note)
            let update = try statement(
                """
                UPDATE messages SET state = 'queued', next_attempt_at = ?2, finished_at = NULL, updated_at = ?2,
                    check_at = NULL, last_error = ?3
                WHERE campaign_id = ?1 AND state = 'unconfirmed'
                """)
            try update.run(campaignID, at.millis, note)
            let resent = connection.changes
            if resent > 0, record.state == .completed {
                let reopen = try statement(
                    "UPDATE campaigns SET state = 'running', finished_at = NULL, updated_at = ?2 WHERE id = ?1")
                try reopen.run(campaignID, at.millis)
            }
            if let audit {
                try appendAudit(
                    audit.entry("campaign.reconcile", target: "campaign \(campaignID)", result: "ok: resent \(resent)"),
                    at: at)
            }
            return resent
        }
    }
}
