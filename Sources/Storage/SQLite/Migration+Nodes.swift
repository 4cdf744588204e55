extension Migration {
    /// Nodes sharing one store (issue 13), and which node holds each message.
    ///
    /// - `nodes`: one row per running daemon on a shared (PostgreSQL) store. `id` is random per
    ///   start, so a restarted daemon is a new node and its previous instance's messages are
    ///   recovered as any dead node's are; `name` (the host name) is for people. The node renews
    ///   `lease_until` at each heartbeat; once it has passed, another node recovers its messages and
    ///   deletes the row. Times in milliseconds, as elsewhere. A SQLite store (one daemon, under a
    ///   file lock) leaves it empty.
    /// - `messages.node`: the node that last claimed or admitted the message (`NULL` when claimed
    ///   without one: SQLite, the CLI, tests). Only that node, while it holds its lease, may commit
    ///   the message as `sending`.
    static let version10 = """
        CREATE TABLE nodes (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            started_at INTEGER NOT NULL,
            heartbeat_at INTEGER NOT NULL,
            lease_until INTEGER NOT NULL
        ) STRICT, WITHOUT ROWID;

        ALTER TABLE messages ADD COLUMN node TEXT;
        """
}
