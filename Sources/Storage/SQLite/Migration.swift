/// The schema history, keyed by `PRAGMA user_version`.
///
/// Version N is reached by applying `Migration.all[N - 1]`, each in its own IMMEDIATE
/// transaction. To change the schema, append a step; never edit one that has shipped.
struct Migration {
    let sql: String
    /// The step rebuilds a table that others reference, so foreign keys are switched off around
    /// its transaction (SQLite ignores the pragma inside one) and checked before it commits.
    var rebuildsTables = false

    static let all: [Migration] = [
        Migration(sql: version1),
        Migration(sql: version2),
        Migration(sql: version3, rebuildsTables: true),
        Migration(sql: version4),
        Migration(sql: version5),
        Migration(sql: version6, rebuildsTables: true),
        Migration(sql: version7),
        Migration(sql: version8, rebuildsTables: true),
        Migration(sql: version9),
        Migration(sql: version10),
        Migration(sql: version11),
        Migration(sql: version12),
        Migration(sql: version13),
    ]

    static var latestVersion: Int { all.count }

    /// Brings the database to `latestVersion`, or fails if it is newer than this code.
    ///
    /// Returns the resulting schema version.
    static func migrate(_ connection: SQLiteConnection, readOnly: Bool) throws -> Int {
        var version = try currentVersion(connection)
        try checkNotTooNew(version, path: connection.path)
        if readOnly {
            guard version == latestVersion else {
                throw StorageError(
                    code: .schemaOutdated,
                    message:
                        "\(connection.path) has schema version \(version), this PolicyPush needs \(latestVersion); open it read-write once to migrate"
                )
            }
            return version
        }
        while version < latestVersion {
            let rebuilds = all[version].rebuildsTables
            if rebuilds { try connection.execute("PRAGMA foreign_keys = OFF") }
            defer { if rebuilds { _ = try? connection.execute("PRAGMA foreign_keys = ON") } }
            version = try connection.immediateTransaction {
                // Another process may have migrated between our read and taking the write lock.
                let locked = try currentVersion(connection)
                try checkNotTooNew(locked, path: connection.path)
                guard locked < latestVersion else { return locked }
                try connection.execute(all[locked].sql)
                if all[locked].rebuildsTables, try connection.scalarText("PRAGMA foreign_key_check") != nil {
                    throw StorageError(
                        code: .corrupt, message: "\(connection.path): foreign keys broken by migration \(locked + 1)")
                }
                try connection.execute("PRAGMA user_version = \(locked + 1)")
                return locked + 1
            }
        }
        return version
    }

    private static func currentVersion(_ connection: SQLiteConnection) throws -> Int {
        Int(try connection.scalarInt("PRAGMA user_version") ?? 0)
    }

    private static func checkNotTooNew(_ version: Int, path: String) throws {
        guard version <= latestVersion else {
            throw StorageError(
                code: .schemaTooNew,
                message:
                    "\(path) has schema version \(version), newer than \(latestVersion) known to this PolicyPush; upgrade it",
                sql: "PRAGMA user_version")
        }
    }
}

extension Migration {
    /// Enterprises and the import runs that wrote them.
    ///
    /// `enterprises` is WITHOUT ROWID: the credit code is the only key, so rows live in one
    /// B-tree in credit-code order and listing needs no sort.
    static let version1 = """
        CREATE TABLE import_runs (
            id INTEGER PRIMARY KEY,
            file TEXT NOT NULL,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            inserted INTEGER NOT NULL DEFAULT 0,
            updated INTEGER NOT NULL DEFAULT 0,
            unchanged INTEGER NOT NULL DEFAULT 0,
            rejected INTEGER NOT NULL DEFAULT 0,
            removed INTEGER NOT NULL DEFAULT 0
        ) STRICT;

        CREATE TABLE enterprises (
            credit_code TEXT NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            taxpayer_type TEXT,
            industry_code TEXT,
            region TEXT,
            registered_on INTEGER,
            employees INTEGER,
            annual_sales REAL,
            taxable_income REAL,
            total_assets REAL,
            credit_rating TEXT,
            high_tech INTEGER CHECK (high_tech IN (0, 1)),
            mobile TEXT,
            wechat_openid TEXT,
            sms_opt_out INTEGER NOT NULL CHECK (sms_opt_out IN (0, 1)),
            wechat_opt_out INTEGER NOT NULL CHECK (wechat_opt_out IN (0, 1)),
            custom TEXT,
            content_hash INTEGER NOT NULL,
            import_run INTEGER NOT NULL REFERENCES import_runs (id),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) STRICT, WITHOUT ROWID;
        """
}

extension Migration {
    /// The outbox: campaigns, messages and their events, receipts, suppressions, contact log.
    ///
    /// Times are INTEGER milliseconds since 1970. List columns (`policy_ids`, `channels`) hold
    /// comma-separated ids. `messages_due` serves `claimDue` per (state, running campaign) in
    /// due order without a sort, so a paused campaign's backlog is never scanned; an accepted
    /// message's `next_attempt_at` is its accept time, so `expireAccepted` uses the same index.
    /// `messages_campaign` is never updated after the insert, so state changes don't pay for it.
    /// Every index costs each transition a B-tree write, hence so few.
    static let version2 = """
        CREATE TABLE campaigns (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            policy_ids TEXT NOT NULL,
            channels TEXT NOT NULL,
            fallback INTEGER NOT NULL CHECK (fallback IN (0, 1)),
            start_at INTEGER NOT NULL,
            max_messages INTEGER,
            campaign_date TEXT NOT NULL,
            policy_versions TEXT NOT NULL,
            template_version TEXT NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('pending', 'planning', 'running', 'paused', 'completed', 'cancelled')),
            requested_state TEXT CHECK (requested_state IN ('running', 'paused', 'cancelled')),
            created_at INTEGER NOT NULL,
            planned_at INTEGER,
            finished_at INTEGER,
            updated_at INTEGER NOT NULL
        ) STRICT;

        CREATE INDEX campaigns_state ON campaigns (state);

        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            idempotency_key TEXT NOT NULL UNIQUE,
            campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
            credit_code TEXT NOT NULL,
            channel TEXT NOT NULL,
            recipient TEXT NOT NULL,
            policy_ids TEXT NOT NULL,
            payload BLOB NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('planned', 'suppressed', 'queued', 'sending', 'retry_wait',
                'accepted', 'delivered', 'failed', 'expired', 'ambiguous', 'cancelled')),
            suppression_reason TEXT,
            parent_key TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before INTEGER NOT NULL,
            next_attempt_at INTEGER,
            gateway TEXT,
            provider_id TEXT,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            first_attempt_at INTEGER,
            last_attempt_at INTEGER,
            accepted_at INTEGER,
            finished_at INTEGER,
            updated_at INTEGER NOT NULL
        ) STRICT;

        CREATE INDEX messages_due ON messages (state, campaign_id, next_attempt_at);
        CREATE INDEX messages_campaign ON messages (campaign_id);
        CREATE INDEX messages_provider ON messages (gateway, provider_id) WHERE provider_id IS NOT NULL;

        CREATE TABLE message_events (
            id INTEGER PRIMARY KEY,
            message_id INTEGER NOT NULL REFERENCES messages (id),
            at INTEGER NOT NULL,
            from_state TEXT,
            to_state TEXT NOT NULL,
            gateway TEXT,
            provider_id TEXT,
            error TEXT
        ) STRICT;

        CREATE INDEX message_events_message ON message_events (message_id);

        CREATE TABLE receipts (
            id INTEGER PRIMARY KEY,
            dedupe_key TEXT NOT NULL UNIQUE,
            gateway TEXT NOT NULL,
            message_key TEXT,
            provider_id TEXT,
            status TEXT NOT NULL CHECK (status IN ('delivered', 'failed')),
            reason_code TEXT,
            occurred_at INTEGER,
            received_at INTEGER NOT NULL,
            raw BLOB NOT NULL,
            message_id INTEGER REFERENCES messages (id),
            matched_at INTEGER
        ) STRICT;

        CREATE INDEX receipts_message ON receipts (message_id) WHERE message_id IS NOT NULL;
        CREATE INDEX receipts_unmatched_provider ON receipts (gateway, provider_id) WHERE message_id IS NULL;
        CREATE INDEX receipts_unmatched_key ON receipts (message_key) WHERE message_id IS NULL;

        CREATE TABLE suppressions (
            credit_code TEXT NOT NULL,
            channel TEXT NOT NULL,
            source TEXT NOT NULL,
            at INTEGER NOT NULL,
            PRIMARY KEY (credit_code, channel)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE contact_log (
            credit_code TEXT NOT NULL,
            at INTEGER NOT NULL,
            message_id INTEGER NOT NULL REFERENCES messages (id),
            channel TEXT NOT NULL,
            policy_ids TEXT NOT NULL,
            PRIMARY KEY (credit_code, at, message_id)
        ) STRICT, WITHOUT ROWID;
        """
}

extension Migration {
    /// Delivery truth: `unsent` and `unconfirmed` states, claims held in memory, reconciliation.
    ///
    /// SQLite cannot change a CHECK constraint, so `messages` is rebuilt (the documented
    /// twelve-step way: new table, copy, drop, rename, indexes).
    ///
    /// - `lease_until`: set by `claimDue` on a message the dispatcher holds in memory, not yet
    ///   admitted by a gateway; its `next_attempt_at` moves to the same time so claims skip it.
    ///   A restart releases every lease (the message was never sent), unlike `sending`.
    /// - `check_at`: when reconciliation should look at an `ambiguous` message (or an `accepted`
    ///   one still without a receipt) next.
    static let version3 = """
        CREATE TABLE messages_v3 (
            id INTEGER PRIMARY KEY,
            idempotency_key TEXT NOT NULL UNIQUE,
            campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
            credit_code TEXT NOT NULL,
            channel TEXT NOT NULL,
            recipient TEXT NOT NULL,
            policy_ids TEXT NOT NULL,
            payload BLOB NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('planned', 'suppressed', 'queued', 'sending', 'retry_wait',
                'accepted', 'delivered', 'failed', 'expired', 'ambiguous', 'unsent', 'unconfirmed', 'cancelled')),
            suppression_reason TEXT,
            parent_key TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            not_before INTEGER NOT NULL,
            next_attempt_at INTEGER,
            gateway TEXT,
            provider_id TEXT,
            last_error TEXT,
            created_at INTEGER NOT NULL,
            first_attempt_at INTEGER,
            last_attempt_at INTEGER,
            accepted_at INTEGER,
            finished_at INTEGER,
            updated_at INTEGER NOT NULL,
            lease_until INTEGER,
            check_at INTEGER
        ) STRICT;

        INSERT INTO messages_v3 (id, idempotency_key, campaign_id, credit_code, channel, recipient, policy_ids,
            payload, state, suppression_reason, parent_key, attempts, not_before, next_attempt_at, gateway,
            provider_id, last_error, created_at, first_attempt_at, last_attempt_at, accepted_at, finished_at,
            updated_at, check_at)
        SELECT id, idempotency_key, campaign_id, credit_code, channel, recipient, policy_ids, payload, state,
            suppression_reason, parent_key, attempts, not_before, next_attempt_at, gateway, provider_id,
            last_error, created_at, first_attempt_at, last_attempt_at, accepted_at, finished_at, updated_at,
            CASE WHEN state IN ('ambiguous', 'accepted') THEN updated_at END
        FROM messages;

        DROP TABLE messages;
        ALTER TABLE messages_v3 RENAME TO messages;

        CREATE INDEX messages_due ON messages (state, campaign_id, next_attempt_at);
        CREATE INDEX messages_campaign ON messages (campaign_id);
        CREATE INDEX messages_provider ON messages (gateway, provider_id) WHERE provider_id IS NOT NULL;
        CREATE INDEX messages_leased ON messages (lease_until) WHERE lease_until IS NOT NULL;
        CREATE INDEX messages_check ON messages (check_at) WHERE check_at IS NOT NULL;
        """
}

extension Migration {
    /// Hostile input: unguessable message ids, bounded unmatched receipts, write probes.
    ///
    /// - `campaigns.key_secret`: random bytes drawn when a campaign is created; each message id
    ///   carries a keyed hash of it, so nobody can name a message before it is sent.
    /// - `receipts_unmatched_received`: unmatched receipts by age, for pruning.
    /// - `meta`: small key/value rows (the daemon's write probe while the disk is full).
    static let version4 = """
        ALTER TABLE campaigns ADD COLUMN key_secret BLOB;
        CREATE INDEX receipts_unmatched_received ON receipts (received_at) WHERE message_id IS NULL;
        CREATE TABLE meta (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL) STRICT, WITHOUT ROWID;
        """
}

extension Migration {
    /// Closing the loop: what recipients sent back, and opt-outs by address with their evidence.
    ///
    /// - `replies`: one row per provider event (`UNIQUE (gateway, dedupe_key)` makes a re-push a
    ///   no-op), the raw body kept as evidence; attached to the enterprise and campaign whose
    ///   message to that sender came last.
    /// - `suppressions` is rebuilt: a suppression names an enterprise (`target_kind = 'enterprise'`,
    ///   the only kind before) or an address (a mobile number or an openid), why (`reason`:
    ///   `opted_out_reply`, `wechat_unsubscribe`, `operator`, …), the reply that caused it, the
    ///   operator and their note.
    /// - `messages_recipient`: an opt-out finds the messages still queued to that address; the
    ///   column is never updated, so only inserts pay for it.
    static let version5 = """
        CREATE TABLE replies (
            id INTEGER PRIMARY KEY,
            gateway TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('sms_reply', 'wechat_text', 'wechat_unsubscribe')),
            sender TEXT NOT NULL,
            text TEXT NOT NULL,
            sent_at INTEGER,
            received_at INTEGER NOT NULL,
            dedupe_key TEXT NOT NULL,
            raw TEXT NOT NULL,
            opt_out INTEGER NOT NULL CHECK (opt_out IN (0, 1)),
            credit_code TEXT,
            campaign_id INTEGER REFERENCES campaigns (id),
            message_id INTEGER REFERENCES messages (id),
            UNIQUE (gateway, dedupe_key)
        ) STRICT;

        CREATE INDEX replies_campaign ON replies (campaign_id) WHERE campaign_id IS NOT NULL;

        CREATE TABLE suppressions_v5 (
            target_kind TEXT NOT NULL CHECK (target_kind IN ('enterprise', 'address')),
            target TEXT NOT NULL,
            channel TEXT NOT NULL,
            reason TEXT NOT NULL,
            reply_id INTEGER REFERENCES replies (id),
            operator TEXT,
            note TEXT,
            at INTEGER NOT NULL,
            PRIMARY KEY (target_kind, target, channel)
        ) STRICT, WITHOUT ROWID;

        INSERT INTO suppressions_v5 (target_kind, target, channel, reason, at)
        SELECT 'enterprise', credit_code, channel, source, at FROM suppressions;
        DROP TABLE suppressions;
        ALTER TABLE suppressions_v5 RENAME TO suppressions;

        CREATE INDEX messages_recipient ON messages (recipient);
        """
}

extension Migration {
    /// Four-eyes approval and the audit trail.
    ///
    /// `campaigns` is rebuilt (SQLite cannot change a CHECK constraint; the same twelve steps as
    /// version 3, with foreign keys off around the step since `messages` refers to it) to add the
    /// states `awaiting_approval` and `rejected` and who decided:
    /// - `created_by`: the operator who started it (`NULL` for campaigns older than this);
    /// - `approved_by`, `decided_at`, `decision_note`: the operator who approved (state moved on
    ///   to `pending`) or rejected it (state `rejected`), when, and the note or reason.
    ///
    /// `audit` holds one row per operator action, each chained to the one before by SHA-256
    /// (`AuditChain`); triggers refuse UPDATE and DELETE, so only a deliberate tamperer (who drops
    /// them) can change a row, and `policypush audit verify` finds that.
    static let version6 = """
        CREATE TABLE campaigns_v6 (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            policy_ids TEXT NOT NULL,
            channels TEXT NOT NULL,
            fallback INTEGER NOT NULL CHECK (fallback IN (0, 1)),
            start_at INTEGER NOT NULL,
            max_messages INTEGER,
            campaign_date TEXT NOT NULL,
            policy_versions TEXT NOT NULL,
            template_version TEXT NOT NULL,
            state TEXT NOT NULL
                CHECK (state IN ('awaiting_approval', 'pending', 'planning', 'running', 'paused', 'completed',
                    'cancelled', 'rejected')),
            requested_state TEXT CHECK (requested_state IN ('running', 'paused', 'cancelled')),
            created_at INTEGER NOT NULL,
            planned_at INTEGER,
            finished_at INTEGER,
            updated_at INTEGER NOT NULL,
            key_secret BLOB,
            created_by TEXT,
            approved_by TEXT,
            decided_at INTEGER,
            decision_note TEXT
        ) STRICT;

        INSERT INTO campaigns_v6 (id, name, policy_ids, channels, fallback, start_at, max_messages, campaign_date,
            policy_versions, template_version, state, requested_state, created_at, planned_at, finished_at,
            updated_at, key_secret)
        SELECT id, name, policy_ids, channels, fallback, start_at, max_messages, campaign_date, policy_versions,
            template_version, state, requested_state, created_at, planned_at, finished_at, updated_at, key_secret
        FROM campaigns;

        DROP TABLE campaigns;
        ALTER TABLE campaigns_v6 RENAME TO campaigns;

        CREATE INDEX campaigns_state ON campaigns (state);

        CREATE TABLE audit (
            seq INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            operator TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            arguments TEXT NOT NULL,
            result TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        ) STRICT;

        CREATE INDEX audit_at ON audit (at);

        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
        """

    /// The package page's link token on each message (null for messages planned before it, and
    /// for suppressed ones), looked up by the landing listener.
    static let version7 = """
        ALTER TABLE messages ADD COLUMN link_token TEXT;
        CREATE INDEX messages_link_token ON messages (link_token) WHERE link_token IS NOT NULL;
        """

    /// Opens of the package page, and feedback sent from it.
    ///
    /// `package_opens` holds one row per message whose page was opened: the first open's time and
    /// client class (from the User-Agent: `wechat`, `mobile`, `desktop`; neither the address nor the
    /// User-Agent is kept), the last open's time and how many opens in all. `campaign_id` is copied
    /// from the message so that a report counts a campaign's opens from its index alone.
    ///
    /// `replies` is rebuilt (the same steps as version 6; `suppressions` refers to it) to allow the
    /// two kinds of feedback sent from the page: `page_not_useful` and `page_question`.
    static let version8 = """
        CREATE TABLE package_opens (
            message_id INTEGER PRIMARY KEY REFERENCES messages (id),
            campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
            first_open_at INTEGER NOT NULL,
            last_open_at INTEGER NOT NULL,
            opens INTEGER NOT NULL CHECK (opens >= 1),
            client_class TEXT NOT NULL CHECK (client_class IN ('wechat', 'mobile', 'desktop'))
        ) STRICT;

        CREATE INDEX package_opens_campaign ON package_opens (campaign_id);

        CREATE TABLE replies_v8 (
            id INTEGER PRIMARY KEY,
            gateway TEXT NOT NULL,
            kind TEXT NOT NULL
                CHECK (kind IN ('sms_reply', 'wechat_text', 'wechat_unsubscribe', 'page_not_useful', 'page_question')),
            sender TEXT NOT NULL,
            text TEXT NOT NULL,
            sent_at INTEGER,
            received_at INTEGER NOT NULL,
            dedupe_key TEXT NOT NULL,
            raw TEXT NOT NULL,
            opt_out INTEGER NOT NULL CHECK (opt_out IN (0, 1)),
            credit_code TEXT,
            campaign_id INTEGER REFERENCES campaigns (id),
            message_id INTEGER REFERENCES messages (id),
            UNIQUE (gateway, dedupe_key)
        ) STRICT;

        INSERT INTO replies_v8 (id, gateway, kind, sender, text, sent_at, received_at, dedupe_key, raw, opt_out,
            credit_code, campaign_id, message_id)
        SELECT id, gateway, kind, sender, text, sent_at, received_at, dedupe_key, raw, opt_out, credit_code,
            campaign_id, message_id
        FROM replies;

        DROP TABLE replies;
        ALTER TABLE replies_v8 RENAME TO replies;

        CREATE INDEX replies_campaign ON replies (campaign_id) WHERE campaign_id IS NOT NULL;
        """
}
