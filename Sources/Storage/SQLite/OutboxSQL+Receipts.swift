import Foundation

// Receipts: storing them, matching them to messages (early ones too), expiry and pruning.
extension OutboxSQL {
    func hasUnmatchedReceipts() throws -> Bool {
        let select = try statement(
            .unmatchedReceipts, "SELECT 1 FROM receipts WHERE message_id IS NULL AND message_key IS NULL LIMIT 1")
        defer { select.reset() }
        if try select.step() { return true }
        let keyed = try statement(
            .unmatchedKeyedReceipts,
            "SELECT 1 FROM receipts WHERE message_id IS NULL AND message_key IS NOT NULL LIMIT 1")
        defer { keyed.reset() }
        return try keyed.step()
    }

    /// A stored receipt not yet attached to a message.
    private struct PendingReceipt {
        var id: Int64
        var status: String
        var reasonCode: String?
        var receivedAt: Int64
    }

    /// Attaches early receipts to a message that was just accepted: only receipts that reached
    /// the endpoint of the gateway that took it.
    func matchReceipts(messageID: Int64, key: String, gateway: String?, providerID: String?) throws {
        guard let gateway else { return }
        var receipts: [PendingReceipt] = []
        let byKey = try statement(
            """
            SELECT id, status, reason_code, received_at FROM receipts
            WHERE message_id IS NULL AND message_key = ?1 AND gateway = ?2 ORDER BY id
            """)
        try byKey.bind(key, gateway)
        while try byKey.step() { receipts.append(try pendingReceipt(byKey)) }
        byKey.reset()
        if let providerID {
            let byProvider = try statement(
                """
                SELECT id, status, reason_code, received_at FROM receipts
                WHERE message_id IS NULL AND gateway = ?1 AND provider_id = ?2 ORDER BY id
                """)
            try byProvider.bind(gateway, providerID)
            while try byProvider.step() {
                let receipt = try pendingReceipt(byProvider)
                if !receipts.contains(where: { $0.id == receipt.id }) { receipts.append(receipt) }
            }
            byProvider.reset()
        }
        for receipt in receipts.sorted(by: { $0.id < $1.id }) {
            _ = try applyReceipt(
                receiptID: receipt.id, messageID: messageID, status: receipt.status, reasonCode: receipt.reasonCode,
                receivedAt: receipt.receivedAt)
        }
    }

    private func pendingReceipt(_ row: Statement) throws -> PendingReceipt {
        try PendingReceipt(
            id: row.int64(0), status: row.text(1) ?? "", reasonCode: row.text(2), receivedAt: row.int64(3))
    }

    /// Attaches a receipt to its message and moves the message if it may; returns `false` and
    /// leaves the receipt unmatched when the message has not been acknowledged yet.
    private func applyReceipt(
        receiptID: Int64, messageID: Int64, status: String, reasonCode: String?, receivedAt: Int64
    ) throws -> Bool {
        guard let current = try current(messageID: messageID) else { return false }
        if current.state.rank < MessageState.accepted.rank && current.state != .ambiguous { return false }
        let target: MessageState = status == "delivered" ? .delivered : .failed
        // A receipt is the provider's own word that the message was sent: it settles an
        // `unconfirmed` one too (reconciliation had only given up on knowing).
        if current.state.canMove(to: target) || current.state == .unconfirmed {
            let update = try statement(
                """
                UPDATE messages SET state = ?2, next_attempt_at = NULL, finished_at = ?3, updated_at = ?3,
                    last_error = CASE WHEN ?2 = 'failed' THEN coalesce(?4, last_error) ELSE last_error END,
                    lease_until = NULL, check_at = NULL
                WHERE id = ?1
                """)
            try update.run(messageID, target.rawValue, receivedAt, reasonCode)
            try insertEvent(
                messageID: messageID, at: receivedAt, from: current.state, to: target, gateway: current.gateway,
                providerID: current.providerID, error: target == .failed ? reasonCode : nil)
            if current.state == .ambiguous || current.state == .unconfirmed, target == .delivered {
                try logContact(
                    messageID: messageID, creditCode: current.creditCode, channel: current.channel,
                    policyIDs: current.policyIDs, at: receivedAt)
            }
        }
        let attach = try statement("UPDATE receipts SET message_id = ?2, matched_at = ?3 WHERE id = ?1")
        try attach.run(receiptID, messageID, receivedAt)
        return true
    }

    /// The message a receipt names, by our key or by the provider's id, among the messages sent
    /// through the gateway whose endpoint received it: a receipt pushed to one gateway's endpoint
    /// never settles a message of another.
    private func messageFor(key: String?, gateway: String, providerID: String?) throws -> Int64? {
        if let key {
            let select = try statement("SELECT id FROM messages WHERE idempotency_key = ?1 AND gateway = ?2")
            defer { select.reset() }
            try select.bind(key, gateway)
            if try select.step() { return try select.int64(0) }
        }
        if let providerID {
            let select = try statement("SELECT id FROM messages WHERE gateway = ?1 AND provider_id = ?2")
            defer { select.reset() }
            try select.bind(gateway, providerID)
            if try select.step() { return try select.int64(0) }
        }
        return nil
    }

    func recordReceipts(_ receipts: [StoredReceipt]) throws -> ReceiptOutcome {
        try connection.writeTransaction {
            let insert = try statement(
                """
                INSERT INTO receipts (dedupe_key, gateway, message_key, provider_id, status, reason_code,
                    occurred_at, received_at, raw)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                ON CONFLICT (dedupe_key) DO NOTHING
                RETURNING id
                """)
            var outcome = ReceiptOutcome()
            for receipt in receipts {
                guard receipt.status == "delivered" || receipt.status == "failed" else {
                    throw StorageError(
                        code: .invalidValue, message: "receipt status is delivered or failed, not \(receipt.status)")
                }
                try insert.bind(
                    receipt.dedupeKey, receipt.gateway, receipt.messageKey, receipt.providerID, receipt.status,
                    receipt.reasonCode, receipt.occurredAt?.millis, receipt.receivedAt.millis, receipt.raw)
                // A row only when the receipt is new; a duplicate inserts nothing.
                let inserted = try insert.step() ? try insert.int64(0) : nil
                insert.reset()
                guard let receiptID = inserted else {
                    outcome.duplicates += 1
                    continue
                }
                if let messageID = try messageFor(
                    key: receipt.messageKey, gateway: receipt.gateway, providerID: receipt.providerID),
                    try applyReceipt(
                        receiptID: receiptID, messageID: messageID, status: receipt.status,
                        reasonCode: receipt.reasonCode, receivedAt: receipt.receivedAt.millis)
                {
                    outcome.matched += 1
                } else {
                    outcome.unmatched += 1
                }
            }
            return outcome
        }
    }

    func matchPendingReceipts(receivedAfter: Date?) throws -> Int {
        try connection.writeTransaction {
            let select = try statement(
                """
                SELECT id, status, reason_code, received_at, gateway, message_key, provider_id FROM receipts
                WHERE message_id IS NULL AND received_at > ?1 ORDER BY id
                """)
            try select.bind(receivedAfter?.millis ?? Int64.min)
            var pending: [(receipt: PendingReceipt, gateway: String, key: String?, providerID: String?)] = []
            while try select.step() {
                pending.append((try pendingReceipt(select), select.text(4) ?? "", select.text(5), select.text(6)))
            }
            select.reset()
            var matched = 0
            for (receipt, gateway, key, providerID) in pending {
                guard let messageID = try messageFor(key: key, gateway: gateway, providerID: providerID) else {
                    continue
                }
                if try applyReceipt(
                    receiptID: receipt.id, messageID: messageID, status: receipt.status,
                    reasonCode: receipt.reasonCode, receivedAt: receipt.receivedAt)
                {
                    matched += 1
                }
            }
            return matched
        }
    }

    func expireAccepted(olderThan cutoff: Date, now: Date) throws -> Int {
        try connection.writeTransaction {
            let events = try statement(
                """
                INSERT INTO message_events (message_id, at, from_state, to_state, gateway, provider_id, error)
                SELECT id, ?2, 'accepted', 'expired', gateway, provider_id, 'no receipt'
                FROM messages WHERE state = 'accepted' AND next_attempt_at <= ?1
                """)
            try events.run(cutoff.millis, now.millis)
            let update = try statement(
                """
                UPDATE messages SET state = 'expired', next_attempt_at = NULL, finished_at = ?2, updated_at = ?2,
                    check_at = NULL
                WHERE state = 'accepted' AND next_attempt_at <= ?1
                """)
            try update.run(cutoff.millis, now.millis)
            return connection.changes
        }
    }

    func pruneReceipts(unmatchedBefore cutoff: Date, keep: Int) throws -> Int {
        try connection.writeTransaction {
            let old = try statement("DELETE FROM receipts WHERE message_id IS NULL AND received_at < ?1")
            try old.run(cutoff.millis)
            var pruned = connection.changes
            let excess = try statement(
                """
                DELETE FROM receipts WHERE id IN (
                    SELECT id FROM receipts WHERE message_id IS NULL ORDER BY received_at DESC LIMIT -1 OFFSET ?1)
                """)
            try excess.run(keep)
            pruned += connection.changes
            return pruned
        }
    }
}
