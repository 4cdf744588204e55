import Foundation

extension OutboxSQL {
    /// Counts an admission of `messageID` at `at` against `budget`, or says why it has no room;
    /// the caller owns the (write) transaction, so the check and the count are one.
    ///
    /// The recipient windows are read first and the day's counter written last, so a refusal
    /// leaves nothing to undo. The counter's conditional upsert refuses by itself on a full day.
    /// Rows older than every window stay until ``pruneRecipientSends(before:)`` sweeps them.
    func spend(_ budget: SendBudget, messageID: Int64, at: Date) throws -> BudgetRefusal? {
        let now = at.millis
        var earliest: Int64?
        // Two nodes admitting to one recipient at once would both count the window below its
        // limit at `READ COMMITTED`: on PostgreSQL, the window's key is locked until the commit.
        if connection.dialect == .postgres {
            let lock = try statement("SELECT pg_advisory_xact_lock(CAST(?1 AS BIGINT))")
            for key in Set(budget.windows.map(\.keyHash)).sorted() {
                try lock.bind(key)
                _ = try lock.step()
                lock.reset()
            }
        }
        for window in budget.windows {
            let period = Int64((window.period * 1000).rounded(.up))
            if let freeing = try windowFull(
                gateway: budget.gateway, key: window.keyHash, since: now - period, limit: window.limit)
            {
                earliest = max(earliest ?? freeing + period, freeing + period)
            }
        }
        if let earliest { return .recipientLimit(until: Date(millis: earliest)) }
        if let cap = budget.dailyCap {
            guard cap > 0, try countDay(gateway: budget.gateway, day: budget.dayStart.millis, cap: cap) else {
                return .dailyCap(until: budget.dayEnd)
            }
        }
        let insert = try statement(
            "INSERT INTO recipient_sends (gateway, key, at, message_id) VALUES (?1, ?2, ?3, ?4)")
        for key in Set(budget.windows.map(\.keyHash)) {
            try insert.run(budget.gateway, key, now, messageID)
        }
        return nil
    }

    /// Deletes the recipient sends counted before `cutoff` (older than every window); returns how many.
    func pruneRecipientSends(before cutoff: Date) throws -> Int {
        try connection.writeTransaction {
            let delete = try statement("DELETE FROM recipient_sends WHERE at < ?1")
            try delete.run(cutoff.millis)
            return connection.changes
        }
    }

    /// The time of the send that keeps a window full (the `limit`-th newest after `since`), or nil
    /// when the window has room.
    private func windowFull(gateway: String, key: Int64, since: Int64, limit: Int) throws -> Int64? {
        let select = try statement(
            """
            SELECT at FROM recipient_sends WHERE gateway = ?1 AND key = ?2 AND at > ?3
            ORDER BY at DESC LIMIT 1 OFFSET CAST(?4 AS BIGINT)
            """)
        defer { select.reset() }
        try select.bind(gateway, key, since, limit - 1)
        return try select.step() ? try select.int64(0) : nil
    }

    /// Adds one to the gateway's count for `day` if it is below `cap`; false when the day is full.
    private func countDay(gateway: String, day: Int64, cap: Int) throws -> Bool {
        let upsert = try statement(
            """
            INSERT INTO gateway_days (gateway, day, admitted) VALUES (?1, ?2, 1)
            ON CONFLICT (gateway, day) DO UPDATE SET admitted = gateway_days.admitted + 1
            WHERE gateway_days.admitted < ?3
            RETURNING admitted
            """)
        defer { upsert.reset() }
        try upsert.bind(gateway, day, cap)
        return try upsert.step()
    }

    /// Takes back the recipient windows a send counted in, when the provider did not count it
    /// (it answered anything but accepted, or the answer was lost).
    func forgetRecipientSends(messageID: Int64) throws {
        let delete = try statement("DELETE FROM recipient_sends WHERE message_id = ?1")
        try delete.run(messageID)
    }
}
