extension Migration {
    /// Claims read due messages in (next attempt, id) order: the id ends the index so that messages
    /// due at one instant (a whole campaign planned with one `not_before`) come in index order.
    /// SQLite's index ends in the rowid anyway; PostgreSQL's did not, and sorted every due message
    /// of the state at each claim (3.8 ms per claim at 17,000 queued).
    static let version12 = """
        DROP INDEX messages_due;
        CREATE INDEX messages_due ON messages (state, campaign_id, next_attempt_at, id);
        """
}
