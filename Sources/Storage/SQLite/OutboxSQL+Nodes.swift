import Foundation

// Nodes sharing one store: membership, leases, and recovery of a node that died.
extension OutboxSQL {
    func registerNode(_ registration: NodeRegistration, now: Date, lease: TimeInterval) throws {
        try connection.rowLockingTransaction {
            let insert = try statement(
                """
                INSERT INTO nodes (id, name, host, pid, started_at, heartbeat_at, lease_until)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                """)
            try insert.run(
                registration.id, registration.name, registration.host, Int64(registration.pid),
                registration.startedAt.millis, now.millis, now.addingTimeInterval(lease).millis)
        }
    }

    /// Extends the lease only while it still runs: once it has lapsed, another node may already
    /// have recovered this one's messages, and nothing may bring it back.
    func heartbeat(node id: String, now: Date, lease: TimeInterval) throws -> NodeHeartbeat {
        try connection.rowLockingTransaction {
            let extend = try statement(
                "UPDATE nodes SET heartbeat_at = ?2, lease_until = ?3 WHERE id = ?1 AND lease_until > ?2")
            try extend.run(id, now.millis, now.addingTimeInterval(lease).millis)
            let held = connection.changes == 1
            let live = try statement("SELECT count(*) FROM nodes WHERE lease_until > ?1")
            defer { live.reset() }
            try live.bind(now.millis)
            _ = try live.step()
            return NodeHeartbeat(leaseHeld: held, liveNodes: Int(try live.int64(0)))
        }
    }

    func deregisterNode(id: String, now: Date) throws -> NodeRecovery {
        try connection.rowLockingTransaction {
            try retire(node: id, lapsedBy: nil, now: now) ?? NodeRecovery()
        }
    }

    func recoverLapsedNodes(now: Date) throws -> NodeRecovery {
        try connection.rowLockingTransaction { try recoverLapsed(now: now) }
    }

    /// Recovers every node whose lease ended at or before `now`; the caller owns the transaction.
    func recoverLapsed(now: Date) throws -> NodeRecovery {
        let lapsed = try statement("SELECT id FROM nodes WHERE lease_until <= ?1 ORDER BY id")
        try lapsed.bind(now.millis)
        var found: [String] = []
        while try lapsed.step() { found.append(lapsed.text(0) ?? "") }
        lapsed.reset()
        var total = NodeRecovery()
        for id in found {
            if let recovered = try retire(node: id, lapsedBy: now, now: now) { total.add(recovered) }
        }
        return total
    }

    /// Does to one node's messages what `recoverAfterCrash` does to a restarted daemon's: `sending`
    /// becomes `ambiguous` (pinned to its gateway, checked now, the event saying why) and claims are
    /// due again now. `nil` when the node is gone, or (with `lapsedBy`) renewed its lease meanwhile.
    /// The caller owns the transaction.
    ///
    /// The node's row goes first: deleting it waits for the node's transactions that hold it (a
    /// claim, a `sending` batch: ``nodeHoldsLease(at:)`` locks it), so the statements after it see
    /// everything they committed; and a transaction of the node that comes later finds no lease.
    private func retire(node id: String, lapsedBy: Date?, now: Date) throws -> NodeRecovery? {
        let remove = try statement(
            "DELETE FROM nodes WHERE id = ?1 AND (CAST(?2 AS BIGINT) IS NULL OR lease_until <= ?2) RETURNING name")
        try remove.bind(id, lapsedBy?.millis)
        guard try remove.step() else {
            remove.reset()
            return nil
        }
        let name = remove.text(0) ?? id
        // PostgreSQL's cursor has the one row; SQLite's must be stepped to its end before the next write.
        while try remove.step() {}
        remove.reset()
        let reason = "interrupted: node \(name) \(lapsedBy == nil ? "stopped" : "lost")"
        let events = try statement(
            """
            INSERT INTO message_events (message_id, at, from_state, to_state, gateway, error)
            SELECT id, ?1, 'sending', 'ambiguous', gateway, ?3 FROM messages WHERE state = 'sending' AND node = ?2
            """)
        try events.run(now.millis, id, reason)
        let update = try statement(
            """
            UPDATE messages SET state = 'ambiguous', next_attempt_at = NULL, updated_at = ?1, last_error = ?3,
                lease_until = NULL, check_at = ?1
            WHERE state = 'sending' AND node = ?2
            """)
        try update.run(now.millis, id, reason)
        let sending = connection.changes
        let release = try statement(
            "UPDATE messages SET lease_until = NULL, next_attempt_at = ?1 WHERE lease_until IS NOT NULL AND node = ?2")
        try release.run(now.millis, id)
        return NodeRecovery(nodes: [name], sending: sending, released: connection.changes)
    }

    /// Whether ``node`` holds a lease that runs past `at`; true without a node.
    ///
    /// On PostgreSQL the row is read `FOR KEY SHARE` (which a heartbeat's update does not wait for), held to the end of the caller's transaction (a
    /// claim, a `sending` batch): a recovery deleting the row waits for that transaction and then
    /// sees what it committed, or, if the recovery came first, this finds no row (at `SERIALIZABLE`
    /// the batch is re-run, and then finds none). So either an admission commits before the
    /// recovery and is recovered with the rest, or it is refused: a node declared dead never sends.
    /// Call it before the transaction changes any message, so that it never holds a message's row
    /// while it waits (the recovery takes the node's row first, then its messages').
    func nodeHoldsLease(at: Date) throws -> Bool {
        guard let node else { return true }
        let select = try statement(
            .nodeLease,
            "SELECT 1 FROM nodes WHERE id = ?1 AND lease_until > ?2"
                + (connection.dialect == .postgres ? " FOR KEY SHARE" : ""))
        defer { select.reset() }
        try select.bind(node, at.millis)
        return try select.step()
    }
}
