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
        try connection.writeTransaction {
            let name = try statement("SELECT name FROM nodes WHERE id = ?1")
            defer { name.reset() }
            try name.bind(id)
            guard try name.step() else { return NodeRecovery() }
            let found = name.text(0) ?? id
            name.reset()
            return try retire(node: id, name: found, reason: "interrupted: node \(found) stopped", now: now)
        }
    }

    func recoverLapsedNodes(now: Date) throws -> NodeRecovery {
        try connection.writeTransaction { try recoverLapsed(now: now) }
    }

    /// Recovers every node whose lease ended at or before `now`; the caller owns the transaction.
    func recoverLapsed(now: Date) throws -> NodeRecovery {
        let lapsed = try statement("SELECT id, name FROM nodes WHERE lease_until <= ?1 ORDER BY id")
        try lapsed.bind(now.millis)
        var found: [(id: String, name: String)] = []
        while try lapsed.step() {
            let id = lapsed.text(0) ?? ""
            found.append((id, lapsed.text(1) ?? id))
        }
        lapsed.reset()
        var total = NodeRecovery()
        for node in found {
            total.add(
                try retire(node: node.id, name: node.name, reason: "interrupted: node \(node.name) lost", now: now))
        }
        return total
    }

    /// Does to one node's messages what `recoverAfterCrash` does to a restarted daemon's: `sending`
    /// becomes `ambiguous` (pinned to its gateway, checked now, the event saying why) and claims are
    /// due again now; then the node's row goes. The caller owns the transaction.
    private func retire(node id: String, name: String, reason: String, now: Date) throws -> NodeRecovery {
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
        let released = connection.changes
        let remove = try statement("DELETE FROM nodes WHERE id = ?1")
        try remove.run(id)
        return NodeRecovery(nodes: [name], sending: sending, released: released)
    }

    /// Whether ``node`` holds a lease that runs past `at`.
    ///
    /// Read inside the caller's transaction. In a `sending` batch (`SERIALIZABLE` on PostgreSQL) it
    /// makes the fence sound against `recoverLapsedNodes` (also `SERIALIZABLE`): the two read what
    /// the other writes (this the node's row, that the node's `sending` messages), so if they
    /// overlap one of them is aborted and runs again, and either the admission commits first and is
    /// recovered, or the recovery does and the admission finds no lease.
    func nodeHoldsLease(at: Date) throws -> Bool {
        guard let node else { return true }
        let select = try statement("SELECT 1 FROM nodes WHERE id = ?1 AND lease_until > ?2")
        defer { select.reset() }
        try select.bind(node, at.millis)
        return try select.step()
    }
}
