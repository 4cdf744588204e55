extension Migration {
    /// The provider budget shared by several nodes (``SendBudget``).
    ///
    /// - `gateway_days`: admissions per gateway per local day (`day`: the day's first instant in
    ///   the gateway's time zone, ms), counted in the commit that admits a message; the daily cap
    ///   is checked against it. One small row a gateway a day.
    /// - `recipient_sends`: one row per admitted send and recipient key (the key's 64-bit FNV-1a
    ///   hash, never the number), read by the provider's frequency windows, swept by time once
    ///   older than every window, and taken back by message when the provider did not count the send.
    static let version11 = """
        CREATE TABLE gateway_days (
            gateway TEXT NOT NULL,
            day INTEGER NOT NULL,
            admitted INTEGER NOT NULL CHECK (admitted >= 0),
            PRIMARY KEY (gateway, day)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE recipient_sends (
            gateway TEXT NOT NULL,
            key INTEGER NOT NULL,
            at INTEGER NOT NULL,
            message_id INTEGER NOT NULL
        ) STRICT;

        CREATE INDEX recipient_sends_key ON recipient_sends (gateway, key, at);
        CREATE INDEX recipient_sends_message ON recipient_sends (message_id);
        CREATE INDEX recipient_sends_at ON recipient_sends (at);
        """
}
