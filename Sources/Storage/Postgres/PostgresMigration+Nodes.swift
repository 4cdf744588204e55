extension PostgresMigration {
    /// Nodes sharing one store (``Migration/version10``).
    static let version10 = """
        CREATE TABLE nodes (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            host TEXT NOT NULL,
            pid BIGINT NOT NULL,
            started_at BIGINT NOT NULL,
            heartbeat_at BIGINT NOT NULL,
            lease_until BIGINT NOT NULL
        );

        ALTER TABLE messages ADD COLUMN node TEXT;
        """
}
