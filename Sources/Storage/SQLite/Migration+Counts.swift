extension Migration {
    /// How many messages each (campaign, state, channel, gateway) holds, kept by triggers on
    /// `messages` in the transaction of every write, so that the daemon's metrics tick (every 2 s)
    /// and the campaign views read a few rows instead of counting the outbox (a million rows: a
    /// GROUP BY over all of them; on PostgreSQL a heap visit each).
    ///
    /// New messages are counted by the one statement that inserts them (``OutboxSQL/insertMessages(_:at:inTransaction:)``
    /// adds a batch's counts in one upsert per key): a trigger per inserted row made planning
    /// 1.6 times slower. Updates and deletes, which many statements make, are counted by triggers.
    ///
    /// `gateway` is `''` for a message without one (a key column cannot be NULL on PostgreSQL).
    /// `slot` is always 0 on SQLite (one writer); PostgreSQL's triggers spread a key over slots
    /// by connection (``PostgresMigration/version13``) so that two nodes' group commits do not
    /// take turns at one row. Readers sum the slots; a key whose messages all moved on keeps a
    /// row of 0, which readers leave out.
    static let version13 = """
        CREATE TABLE message_counts (
            campaign_id INTEGER NOT NULL,
            state TEXT NOT NULL,
            channel TEXT NOT NULL,
            gateway TEXT NOT NULL,
            slot INTEGER NOT NULL,
            n INTEGER NOT NULL,
            PRIMARY KEY (campaign_id, state, channel, gateway, slot)
        ) STRICT, WITHOUT ROWID;

        INSERT INTO message_counts (campaign_id, state, channel, gateway, slot, n)
        SELECT campaign_id, state, channel, coalesce(gateway, ''), 0, count(*)
        FROM messages GROUP BY campaign_id, state, channel, coalesce(gateway, '');

        CREATE TRIGGER message_counts_update AFTER UPDATE OF campaign_id, state, channel, gateway ON messages
        WHEN old.campaign_id IS NOT new.campaign_id OR old.state IS NOT new.state
            OR old.channel IS NOT new.channel OR old.gateway IS NOT new.gateway
        BEGIN
            INSERT INTO message_counts (campaign_id, state, channel, gateway, slot, n)
            VALUES (old.campaign_id, old.state, old.channel, coalesce(old.gateway, ''), 0, -1)
            ON CONFLICT (campaign_id, state, channel, gateway, slot) DO UPDATE SET n = n - 1;
            INSERT INTO message_counts (campaign_id, state, channel, gateway, slot, n)
            VALUES (new.campaign_id, new.state, new.channel, coalesce(new.gateway, ''), 0, 1)
            ON CONFLICT (campaign_id, state, channel, gateway, slot) DO UPDATE SET n = n + 1;
        END;

        CREATE TRIGGER message_counts_delete AFTER DELETE ON messages
        BEGIN
            INSERT INTO message_counts (campaign_id, state, channel, gateway, slot, n)
            VALUES (old.campaign_id, old.state, old.channel, coalesce(old.gateway, ''), 0, -1)
            ON CONFLICT (campaign_id, state, channel, gateway, slot) DO UPDATE SET n = n - 1;
        END;
        """
}
