extension PostgresMigration {
    /// The claims' order index ends in the id (``Migration/version12``).
    static let version12 = """
        DROP INDEX messages_due;
        CREATE INDEX messages_due ON messages (state, campaign_id, next_attempt_at, id);
        """
}
