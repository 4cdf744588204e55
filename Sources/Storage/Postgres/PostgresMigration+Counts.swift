extension PostgresMigration {
    /// Message counts kept by triggers (``Migration/version13``).
    ///
    /// A connection adds to the rows of its slot (its backend pid modulo 64): at `READ COMMITTED`
    /// an update of a row another transaction updated waits for that one to commit, so two nodes'
    /// group commits adding to one (campaign, state) row would take turns, and could deadlock
    /// over two rows taken in opposite orders. Two connections share a slot rarely; when they do,
    /// they wait for each other, and a deadlock is the conflict every transaction here re-runs.
    static let version13 = """
        CREATE TABLE message_counts (
            campaign_id BIGINT NOT NULL,
            state TEXT NOT NULL,
            channel TEXT NOT NULL,
            gateway TEXT NOT NULL,
            slot BIGINT NOT NULL,
            n BIGINT NOT NULL,
            PRIMARY KEY (campaign_id, state, channel, gateway, slot)
        );

        INSERT INTO message_counts (campaign_id, state, channel, gateway, slot, n)
        SELECT campaign_id, state, channel, coalesce(gateway, ''), 0, count(*)
        FROM messages GROUP BY campaign_id, state, channel, coalesce(gateway, '');

        CREATE FUNCTION message_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            my_slot BIGINT := pg_backend_pid() % 64;
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                INSERT INTO message_counts AS c (campaign_id, state, channel, gateway, slot, n)
                VALUES (OLD.campaign_id, OLD.state, OLD.channel, coalesce(OLD.gateway, ''), my_slot, -1)
                ON CONFLICT (campaign_id, state, channel, gateway, slot) DO UPDATE SET n = c.n - 1;
            END IF;
            IF TG_OP <> 'DELETE' THEN
                INSERT INTO message_counts AS c (campaign_id, state, channel, gateway, slot, n)
                VALUES (NEW.campaign_id, NEW.state, NEW.channel, coalesce(NEW.gateway, ''), my_slot, 1)
                ON CONFLICT (campaign_id, state, channel, gateway, slot) DO UPDATE SET n = c.n + 1;
            END IF;
            RETURN NULL;
        END
        $$;

        CREATE TRIGGER message_counts_update AFTER UPDATE OF campaign_id, state, channel, gateway ON messages
            FOR EACH ROW
            WHEN (OLD.campaign_id IS DISTINCT FROM NEW.campaign_id OR OLD.state IS DISTINCT FROM NEW.state
                OR OLD.channel IS DISTINCT FROM NEW.channel OR OLD.gateway IS DISTINCT FROM NEW.gateway)
            EXECUTE FUNCTION message_counts_track();
        CREATE TRIGGER message_counts_delete AFTER DELETE ON messages
            FOR EACH ROW EXECUTE FUNCTION message_counts_track();
        """
}
