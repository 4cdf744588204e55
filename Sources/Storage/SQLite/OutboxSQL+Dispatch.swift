import Foundation
import Registry

// Dispatch: claims and their leases, recovery after a crash, resends of ambiguous messages.
extension OutboxSQL {
    /// Claims due messages into the dispatcher's memory: each gets a lease (its due time moves to
    /// the lease's end, so the next claim skips it) but keeps its state. Nothing is sent yet: the
    /// message becomes `sending` only when its gateway admits it (`applyTransitions`), so a crash
    /// before then leaves it as it was (`recoverAfterCrash` releases the lease).
    ///
    /// An ambiguous message is due only once a resend was scheduled (its next attempt time is
    /// NULL otherwise).
    ///
    /// Each claimed message is stamped with ``node``. On PostgreSQL the candidates are read
    /// `FOR UPDATE SKIP LOCKED` at `READ COMMITTED` (``SQLDatabase/rowLockingTransaction(_:)``): nodes
    /// claiming at once never wait for each other or get the same message. A node that no longer
    /// holds its lease claims nothing.
    func claimDue(now: Date, limit: Int, lease: TimeInterval) throws -> [OutboxMessage] {
        guard limit > 0 else { return [] }
        return try connection.rowLockingTransaction {
            if node != nil, try !nodeHoldsLease(at: now) { return [] }
            let running = try statement(.runningCampaigns, "SELECT id FROM campaigns WHERE state = 'running'")
            var campaigns: [Int64] = []
            while try running.step() { campaigns.append(try running.int64(0)) }
            running.reset()

            // One ordered index range per (state, running campaign): no sort, and a paused
            // campaign's backlog is never read.
            let select = try statement(
                .claim,
                """
                SELECT \(Self.messageColumns) FROM messages
                WHERE state = ?1 AND campaign_id = ?2 AND next_attempt_at <= ?3 AND not_before <= ?3
                ORDER BY next_attempt_at, id LIMIT ?4\(connection.dialect == .postgres ? " FOR UPDATE SKIP LOCKED" : "")
                """)
            let nowMillis = now.millis
            var candidates: [OutboxMessage] = []
            for campaign in campaigns {
                for state in MessageState.claimable {
                    try select.bind(state.rawValue, campaign, nowMillis, limit)
                    while try select.step() { candidates.append(try readMessage(select)) }
                    select.reset()
                }
            }
            // Resends of ambiguous messages first (a deduplicating provider forgets an id after a
            // while, WeChat after 10 minutes), then unsent ones, then the rest by due time.
            if campaigns.count > 1 || candidates.count > limit {
                func priority(_ state: MessageState) -> Int { state == .ambiguous ? 0 : state == .unsent ? 1 : 2 }
                candidates.sort {
                    (priority($0.state), $0.nextAttemptAt ?? now, $0.id) < (
                        priority($1.state), $1.nextAttemptAt ?? now, $1.id
                    )
                }
            }
            let claimed = candidates.prefix(limit)

            let leaseEnd = now.addingTimeInterval(lease).millis
            let mark = try statement(
                .claimMark, "UPDATE messages SET lease_until = ?2, next_attempt_at = ?2, node = ?3 WHERE id = ?1")
            var result: [OutboxMessage] = []
            result.reserveCapacity(claimed.count)
            for var message in claimed {
                try mark.run(message.id, leaseEnd, node)
                message.claimedFrom = message.state
                result.append(message)
            }
            return result
        }
    }

    /// Undoes claims of messages the dispatcher still held when a claim returned them again: each
    /// is due again at the time the claim found, unless something was recorded since (a
    /// transition clears the lease).
    func releaseClaims(_ releases: [ClaimRelease]) throws {
        let release = try statement(
            "UPDATE messages SET lease_until = NULL, next_attempt_at = ?2 WHERE id = ?1 AND lease_until IS NOT NULL")
        for claim in releases { try release.run(claim.messageID, claim.due.millis) }
    }

    /// See ``OutboxStore/recoverAfterCrash(now:node:)``: lapsed nodes first (their rows go), then the
    /// messages of `node`, of no node, and of nodes no longer registered.
    ///
    /// On PostgreSQL at `READ COMMITTED` (``SQLDatabase/rowLockingTransaction(_:)``): at
    /// `SERIALIZABLE` its reads of every `sending` message would collide with live nodes' batches
    /// and be aborted again and again; the rows it changes are no live node's (a node registers
    /// before it claims, and a lapsed one is fenced by its row, see ``nodeHoldsLease(at:)``).
    func recoverAfterCrash(now: Date, node: String?) throws -> CrashRecovery {
        try connection.rowLockingTransaction {
            let lapsed = try recoverLapsed(now: now)
            // Owned by nobody alive: no node, this one, or one no longer registered (SQLite's
            // messages always are).
            let orphaned =
                "(node IS NULL OR node = ?2 OR NOT EXISTS (SELECT 1 FROM nodes WHERE nodes.id = messages.node))"
            let events = try statement(
                """
                INSERT INTO message_events (message_id, at, from_state, to_state, gateway, error)
                SELECT id, ?1, 'sending', 'ambiguous', gateway, 'interrupted by a restart'
                FROM messages WHERE state = 'sending' AND \(orphaned)
                """)
            try events.run(now.millis, node)
            // Pinned to the gateway that admitted it; reconciliation looks at it at once.
            let update = try statement(
                """
                UPDATE messages SET state = 'ambiguous', next_attempt_at = NULL, updated_at = ?1,
                    last_error = 'interrupted by a restart', lease_until = NULL, check_at = ?1
                WHERE state = 'sending' AND \(orphaned)
                """)
            try update.run(now.millis, node)
            let sending = connection.changes
            // Claimed but never admitted: never sent, due again now.
            let release = try statement(
                "UPDATE messages SET lease_until = NULL, next_attempt_at = ?1 WHERE lease_until IS NOT NULL AND \(orphaned)"
            )
            try release.run(now.millis, node)
            return CrashRecovery(sending: sending + lapsed.sending, released: connection.changes + lapsed.released)
        }
    }

    func scheduleAmbiguousResend(gateway: String, at: Date) throws -> Int {
        try connection.writeTransaction {
            let update = try statement(
                """
                UPDATE messages SET next_attempt_at = ?1, updated_at = ?1
                WHERE state = 'ambiguous' AND next_attempt_at IS NULL AND gateway = ?2
                """)
            try update.run(at.millis, gateway)
            return connection.changes
        }
    }

    func pinGatewayless(channel: Channel, to gateway: String, at: Date) throws -> Int {
        try connection.writeTransaction {
            let update = try statement(
                """
                UPDATE messages SET gateway = ?2, updated_at = ?3
                WHERE state = 'ambiguous' AND gateway IS NULL AND channel = ?1
                """)
            try update.run(channel, gateway, at.millis)
            return connection.changes
        }
    }
}
