extension Migration {
    /// 跟踪问效: control groups and uptake.
    ///
    /// - `campaigns.control_percent`, `campaigns.control_seed`: the share held out and the seed of
    ///   the assignment, so the assignment can be recomputed from the store alone.
    /// - `campaign_groups`: every enterprise a campaign found eligible, the policies it qualified
    ///   for, whether it was held out, and what planning decided or would have decided for it
    ///   (`frequency_cap`, `duplicate`, `opted_out`, … or `NULL` for a message planned): the
    ///   control assignment comes before caps and de-duplication, so both facts are kept.
    /// - `uptake`: who claimed which relief and when (the tax system's export), one row per
    ///   (credit code, policy, day); `amount_fen` in fen (0.01 yuan) so sums are exact.
    static let version9 = """
        ALTER TABLE campaigns ADD COLUMN control_percent REAL NOT NULL DEFAULT 0
            CHECK (control_percent >= 0 AND control_percent <= 50);
        ALTER TABLE campaigns ADD COLUMN control_seed TEXT;

        CREATE TABLE campaign_groups (
            campaign_id INTEGER NOT NULL REFERENCES campaigns (id),
            credit_code TEXT NOT NULL,
            policy_ids TEXT NOT NULL,
            control INTEGER NOT NULL CHECK (control IN (0, 1)),
            planned_reason TEXT,
            PRIMARY KEY (campaign_id, credit_code)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE uptake (
            credit_code TEXT NOT NULL,
            policy_id TEXT NOT NULL,
            claimed_on TEXT NOT NULL,
            amount_fen INTEGER CHECK (amount_fen >= 0),
            source TEXT NOT NULL,
            imported_at INTEGER NOT NULL,
            PRIMARY KEY (credit_code, policy_id, claimed_on)
        ) STRICT, WITHOUT ROWID;

        CREATE INDEX uptake_policy ON uptake (policy_id, claimed_on);
        """
}
