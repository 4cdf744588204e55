extension PostgresMigration {
    /// The provider budget shared by several nodes (``Migration/version11``).
    static let version11 = """
        CREATE TABLE gateway_days (
            gateway TEXT NOT NULL,
            day BIGINT NOT NULL,
            admitted BIGINT NOT NULL CHECK (admitted >= 0),
            PRIMARY KEY (gateway, day)
        );

        CREATE TABLE recipient_sends (
            gateway TEXT NOT NULL,
            key BIGINT NOT NULL,
            at BIGINT NOT NULL,
            message_id BIGINT NOT NULL
        );

        CREATE INDEX recipient_sends_key ON recipient_sends (gateway, key, at);
        CREATE INDEX recipient_sends_message ON recipient_sends (message_id);
        CREATE INDEX recipient_sends_at ON recipient_sends (at);
        """
}
