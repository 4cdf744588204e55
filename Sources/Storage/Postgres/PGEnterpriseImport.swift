import Registry

/// An enterprise import on PostgreSQL: the rows stream into a temporary table through
/// `COPY … FROM STDIN`, then one `INSERT … SELECT … ON CONFLICT DO UPDATE` upserts them, in the
/// import's transaction — two statements and a stream instead of a round trip per row.
///
/// The results are the row-by-row upsert's (``EnterpriseWriter`` on SQLite): a credit code counts
/// once, by its first occurrence compared with the row stored before the import (inserted,
/// unchanged or updated); its last occurrence's attributes are stored; `updated_at` moves when any
/// occurrence differed from the stored row, and `created_at` is kept.
struct PGEnterpriseImport {
    /// The staging table: `seq` (the row's place in the import, for first and last occurrences)
    /// and the staged columns, typed as `enterprises` types them. Dropped at commit or rollback.
    static let createStaging = """
        CREATE TEMPORARY TABLE import_rows ON COMMIT DROP AS
        SELECT CAST(0 AS BIGINT) AS seq, \(EnterpriseRow.stagedColumns.joined(separator: ", "))
        FROM enterprises WITH NO DATA
        """

    /// Inserted, unchanged and updated, from each code's first occurrence against the rows as
    /// stored before the upsert.
    static let countSQL = """
        SELECT
            count(*) FILTER (WHERE e.credit_code IS NULL),
            count(*) FILTER (WHERE e.content_hash = f.content_hash),
            count(*) FILTER (WHERE e.content_hash <> f.content_hash)
        FROM (SELECT DISTINCT ON (credit_code) credit_code, content_hash FROM import_rows ORDER BY credit_code, seq) f
        LEFT JOIN enterprises e ON e.credit_code = f.credit_code
        """

    /// Each code's last occurrence, upserted; `updated_at` stays only when every occurrence hashes
    /// as the stored row does ($1 the run, $2 the import's timestamp).
    static let upsertSQL = """
        INSERT INTO enterprises (\(EnterpriseRow.stagedColumns.joined(separator: ", ")), import_run, updated_at, created_at)
        SELECT \(EnterpriseRow.stagedColumns.map { "l.\($0)" }.joined(separator: ", ")), $1,
            CASE WHEN g.low = g.high AND g.high = e.content_hash THEN e.updated_at ELSE $2 END, $2
        FROM (SELECT DISTINCT ON (credit_code) * FROM import_rows ORDER BY credit_code, seq DESC) l
        JOIN (
            SELECT credit_code, min(content_hash) AS low, max(content_hash) AS high FROM import_rows GROUP BY credit_code
        ) g ON g.credit_code = l.credit_code
        LEFT JOIN enterprises e ON e.credit_code = l.credit_code
        ON CONFLICT (credit_code) DO UPDATE SET
            \(EnterpriseRow.stagedColumns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")),
            import_run = excluded.import_run, updated_at = excluded.updated_at
        """

    let connection: PGConnection
    let run: Int64
    let timestamp: String
    private let copy: PGCopyIn
    private var sequence: Int64 = 0

    /// Creates the staging table and starts the COPY into it; call inside the import's transaction.
    init(connection: PGConnection, run: Int64, timestamp: String) throws {
        self.connection = connection
        self.run = run
        self.timestamp = timestamp
        try connection.execute(Self.createStaging)
        copy = try connection.beginCopy(into: "import_rows", columns: ["seq"] + EnterpriseRow.stagedColumns)
    }

    /// Streams `batch` into the COPY; the server parses it while the caller reads the next one.
    mutating func write(_ batch: [Enterprise]) throws {
        for enterprise in batch {
            let custom = CustomAttributes.encode(enterprise.custom)
            let hash = ContentHash.of(enterprise, customJSON: custom)
            sequence += 1
            try copy.append(.integer(sequence))
            try EnterpriseRow.forEachStagedValue(enterprise, custom: custom, hash: hash) { try copy.append($0) }
            try copy.endRow()
        }
    }

    /// Ends the COPY without keeping a row of it, when the import fails before ``upsert()``.
    func abort(_ reason: any Error) {
        copy.abort(reason)
    }

    /// Ends the COPY and upserts the staged rows; returns the counts (`removed` is the caller's).
    func upsert() throws -> ImportCounts {
        _ = try copy.finish()
        // A temporary table has no statistics until analyzed; the planner needs its size to join.
        try connection.execute("ANALYZE import_rows")
        let counted = try connection.query(Self.countSQL)
        let counts = ImportCounts(
            inserted: Int(try counted.int64(0, 0)), updated: Int(try counted.int64(0, 2)),
            unchanged: Int(try counted.int64(0, 1)))
        try connection.query(Self.upsertSQL, run, timestamp)
        return counts
    }
}
